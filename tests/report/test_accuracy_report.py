"""The report's accuracy–speed table, Pareto front and recommendation line (report/accuracy.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zoobench.evaluate.record import AccuracyRecord
from zoobench.report.accuracy import (
    Column,
    accuracy_speed_plot,
    accuracy_speed_table,
    pareto,
    recommendation,
)


def _col(name: str, img_s: float, verdict: str | None, delta: float = -0.3, ci: tuple[float, float] = (-0.5, -0.1),
         need: int | None = None) -> Column:  # fmt: skip
    paired: dict[str, Any] = {}
    if verdict:
        paired = {
            "count": 1000, "verdict": verdict, "images_needed": need, "max_drop": "1 point",
            "top1_agreement_pct": 98.5,
            "top1": {"engine_pct": 75.0 + delta, "reference_pct": 75.0, "delta_points": delta, "ci95_points": list(ci)},
        }  # fmt: skip
    record = AccuracyRecord.from_dict({"top1": 75.0, "top5": 92.0, "count": 1000, "paired": paired})
    return Column(name, record, img_s, 8)


def test_recommends_the_fastest_engine_within_the_drop() -> None:
    cols = [
        _col("onnxruntime-fp32", 100.0, None),
        _col("openvino-int8", 400.0, "worse", -3.0, (-3.8, -2.2)),
        _col("onnxruntime-int8", 300.0, "within"),
        _col("openvino-fp32", 120.0, "within"),
    ]
    line = recommendation(cols)
    assert line.startswith("Fastest engine within 1 point of fp32: onnxruntime int8 — 3.0× fp32, Δ -0.3 ± 0.2")


def test_an_undecided_faster_engine_says_what_would_decide() -> None:
    cols = [
        _col("onnxruntime-fp32", 100.0, None),
        _col("openvino-int8", 400.0, "undecided", -0.5, (-2.0, 1.0), need=5400),
        _col("onnxruntime-int8", 300.0, "within"),
    ]
    line = recommendation(cols)
    assert line.startswith("Not decided: openvino int8 is 4.0× fp32") and "about 5,400 held-out images" in line


def test_table_has_one_row_per_column_with_speedup_and_verdict() -> None:
    cols = [_col("onnxruntime-fp32", 100.0, None), _col("openvino-int8", 250.0, "undecided", need=900)]
    t = accuracy_speed_table(cols)
    assert [r[0] for r in t.rows] == ["onnxruntime fp32", "openvino int8"]
    assert t.rows[0][-1] == "reference" and t.rows[1][5] == "2.50×"
    assert t.rows[1][2] == "-0.30 [-0.50, -0.10]" and t.rows[1][-1] == "undecided (~900 images)"


def test_pareto_front() -> None:
    pts = [(100.0, 75.0), (300.0, 74.7), (250.0, 74.0), (400.0, 72.0), (90.0, 74.0)]
    assert pareto(pts) == [0, 1, 3]


def test_plot_is_written(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    cols = [_col("onnxruntime-fp32", 100.0, None), _col("openvino-int8", 250.0, "within")]
    out = accuracy_speed_plot(cols, tmp_path / "a.png", "t")
    assert out is not None and out.read_bytes()[:4] == b"\x89PNG"


def test_recommend_is_typed_and_its_advice_decides() -> None:
    from zoobench.evaluate.paired import newcombe_paired, verdict
    from zoobench.report.accuracy import SHIP_COLUMN, SHIP_FP32, UNDECIDED, recommend

    ref = _col("onnxruntime-fp32", 100.0, None)
    rec = recommend([ref, _col("openvino-int8", 400.0, "within")])
    assert rec.kind == SHIP_COLUMN and rec.ships and rec.column is not None and rec.column.name == "openvino-int8"
    assert rec.speedup == 4.0
    rec = recommend([ref, _col("openvino-int8", 90.0, "within"), _col("onnxruntime-int8", 300.0, "worse")])
    assert rec.kind == SHIP_FP32 and rec.column is ref and "itself" in rec.text
    # four photos both engines get 3 of right: undecided at 1 point; the --max-drop it suggests decides it
    _, low, high = newcombe_paired(3, 0, 0, 1)
    ci = (round(100 * low, 4), round(100 * high, 4))
    rec = recommend([ref, _col("openvino-int8", 400.0, "undecided", 0.0, ci, need=272)])
    assert rec.kind == UNDECIDED and not rec.ships and rec.images_needed == 272
    wider = rec.max_drop_to_decide
    assert wider is not None and f"a --max-drop of {wider:g} points would accept it" in rec.text
    assert verdict(3, 0, 0, 1, wider)["verdict"] == "within"
    assert verdict(3, 0, 0, 1, wider - 0.2)["verdict"] == "undecided"


def test_no_labels_decides_nothing() -> None:
    from zoobench.report.accuracy import UNDECIDED, recommend

    unlabeled = Column("openvino-int8", AccuracyRecord.from_dict({"paired": {"verdict": None, "count": 5}}), 400.0, 8)
    rec = recommend([_col("onnxruntime-fp32", 100.0, None), unlabeled])
    assert rec.kind == UNDECIDED and "--labels would decide" in rec.text
