"""What a reader of the report sees: the guides named as a reader can find them (no internal file names, no CJK
the fonts cannot draw), an honest throughput plot (no twin axes; every guide column), precision notes, why
accuracy was not measured (in the CLI's word), and numbers right-aligned."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from zoobench.models.seed_figures import SEED_TABLES
from zoobench.report.html import table_html
from zoobench.report.seeds import seed_columns
from zoobench.report.tables import Table, perf_table

CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def _perf(prec: str, tp: dict[int, float], spread: float = 1.0) -> dict:
    lat = {"count": 3, "min_ms": 1, "max_ms": 3, "mean_ms": 2, "median_ms": 2, "p90_ms": 2.5, "p95_ms": 2.7,
           "p99_ms": 2.9, "stdev_ms": 0.5}  # fmt: skip
    return {
        "model": "mnasnet1_0",
        "runtime": {"runtime": "onnxruntime", "precision": prec, "device": "cpu", "threads": 2, "version": "1"},
        "results": [
            {"batch_size": b, "throughput_img_s": v, "latency": lat, "spread_pct": spread, "unstable": spread > 5}
            for b, v in tp.items()
        ],
    }


def test_every_quoted_column_names_its_guide_in_english() -> None:
    for model, cols in SEED_TABLES.items():
        for col in cols.values():
            said = f"{col.source} {col.note}"
            assert "seeds/" not in said and "SEED_SPEC" not in said and not CJK.search(said), (model, said)
            assert "guide" in col.source and "Ascend ModelZoo-PyTorch" in col.source, col.source
            assert "§" in col.source or "section" in col.source, col.source
        note = perf_table({"c": _perf("fp32", {1: 10.0})}, seed_columns(model), model).note
        assert not CJK.search(note) and "seeds/" not in note, note


def test_the_throughput_plot_has_a_panel_per_scale_and_every_guide_column() -> None:
    pytest.importorskip("matplotlib")
    from zoobench.report.plots import throughput_figure

    fig = throughput_figure({"onnxruntime-fp32": _perf("fp32", {1: 50.0, 16: 90.0})}, "t", seed_columns("mnasnet1_0"))
    axes = fig.axes
    positions = [tuple(round(v, 4) for v in ax.get_position().bounds) for ax in axes]
    assert len(axes) == 3 and len(set(positions)) == 3  # three panels, no twin axes drawn over another
    measured, quoted, ratio = axes
    assert measured.get_ylim()[1] < 200  # this CPU on its own scale, not squeezed under the 310P's
    labels = [ln.get_label() for ln in quoted.get_lines()]
    assert [lab.split(",")[0] for lab in labels] == ["310", "310P", "T4"]  # as the table shows them
    assert all("fp16" in lab for lab in labels)
    assert ratio.get_yscale() == "log"
    ys = dict(zip(*[list(v) for v in ratio.get_lines()[1].get_data()]))  # onnxruntime fp32 / 310P
    assert ys[16] == pytest.approx(90.0 / 9836.44)


def test_compare_and_report_say_when_the_precisions_differ(tmp_path: Path) -> None:
    from zoobench.compare import compare_runs, comparison_markdown

    note = perf_table({"c": _perf("fp32", {16: 90.0})}, seed_columns("mnasnet1_0"), "mnasnet1_0").note
    assert "Precision differs: the quoted columns ran in fp16" in note and "in fp32" in note
    assert "Precision differs" not in perf_table({"c": _perf("fp16", {16: 90.0})}, seed_columns("mnasnet1_0"),
                                                 "mnasnet1_0").note  # fmt: skip
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "perf.json").write_text(json.dumps(_perf("fp32", {16: 90.0})))
    cmp = compare_runs([tmp_path / "a", "seeds:310P", "seeds:T4"])
    (table,) = [t for t in cmp["tables"] if t["model"] == "mnasnet1_0"]
    assert table["precision"] == ["fp32", "fp16 (atc default)", "fp16 (trtexec --fp16)"]
    assert "Precision differs: A fp32, B fp16 (atc default), C fp16 (trtexec --fp16)" in comparison_markdown(cmp)
    both = compare_runs(["seeds:310P", "seeds:T4"])
    assert all(not t["precision_note"] for t in both["tables"])


def test_numbers_are_right_aligned_unstable_and_best_cells_too() -> None:
    t = Table(["batch", "img/s"], [["bs1", "412.3 ±7.2% unstable"], ["best", "447.7 (bs8; tied: bs16)"]])
    page = table_html(t)
    assert '<td class="num">412.3 ±7.2% unstable</td>' in page
    assert '<td class="num">447.7 (bs8; tied: bs16)</td>' in page and "<td>bs1</td>" in page


def test_a_run_without_labels_says_why_in_the_word_the_cli_prints(
    tmp_path: Path, photos: tuple[Path, Path], lite0_onnx: Path
) -> None:
    pytest.importorskip("matplotlib")
    from zoobench.run.chain import RunConfig, run_models

    folder, _labels = photos
    tiny = {"batch_sizes": [1], "seconds": 0.02, "min_iters": 1, "warmup": 0, "repeats": 1, "quiet": True}
    statuses = run_models([str(lite0_onnx)], tmp_path / "r", RunConfig.of(data=str(folder), infer_batch_size=2, **tiny))
    assert list(statuses.values()) == ["no-labels"]
    md = (tmp_path / "r" / "report.md").read_text()
    assert "Accuracy was not measured (no-labels): no --labels were given" in md
    assert "| no-labels |" in md  # the summary's gate column: the same word
