"""`zoobench compare` prints each scored column's top-1 beside its img/s."""

from __future__ import annotations

from pathlib import Path

from test_compare import _perf
from zoobench.compare import compare_runs, comparison_tables
from zoobench.io import write_json


def test_compare_prints_top1_beside_img_s(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for run, top1, n in ((a, 75.5, 4000), (b, 74.25, 800)):
        write_json(run / "mnasnet1_0" / "model.json", {"model": "mnasnet1_0"})
        write_json(run / "mnasnet1_0" / "perf" / "onnxruntime-fp32.json", _perf({8: 400.0}, "CPU"))
        write_json(run / "mnasnet1_0" / "infer" / "accuracy.json", {"top1": top1, "count": n})
    for run, tp in ((a, 900.0), (b, 800.0)):  # timed, not scored
        ov = _perf({8: tp}, "CPU")
        ov["runtime"] = {**ov["runtime"], "runtime": "openvino", "precision": "int8"}
        write_json(run / "mnasnet1_0" / "perf" / "openvino-int8.json", ov)
    cmp = compare_runs([a, b])
    tables = {t.title.split(" · ")[1]: t for t in comparison_tables(cmp) if " · " in t.title}
    fp32 = tables["onnxruntime fp32"]
    assert fp32.rows[-1] == ["top-1 %", "75.50 (n=4000)", "74.25 (n=800)", "-"]
    assert all(r[0] != "top-1 %" for r in tables["onnxruntime fp32"].rows[:-1])
    assert not any(r[0] == "top-1 %" for r in tables["openvino int8"].rows)  # a column never scored has no row
