"""The report from a run's JSON: tables, plots, markdown, regeneration, and a perf-only model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from zoobench.cli import cli
from zoobench.report.tables import Table, load_model_run, perf_table


def _perf(rt: str, prec: str, tp: dict[int, float]) -> dict:
    lat = {
        "count": 3,
        "min_ms": 1,
        "max_ms": 3,
        "mean_ms": 2,
        "median_ms": 2,
        "p90_ms": 2.5,
        "p95_ms": 2.7,
        "p99_ms": 2.9,
        "stdev_ms": 0.5,
    }
    return {
        "runtime": {"runtime": rt, "precision": prec, "device": "cpu", "threads": 2, "version": "1"},
        "results": [{"batch_size": b, "throughput_img_s": v, "latency": lat} for b, v in tp.items()],
    }


def test_perf_table_has_batch_rows_best_row_and_ratio_columns() -> None:
    t = perf_table(
        {
            "onnxruntime-fp32": _perf("onnxruntime", "fp32", {1: 100.0, 4: 200.0}),
            "openvino-fp32": _perf("openvino", "fp32", {1: 150.0, 4: 300.0}),
        },
        seeds={"310P": {1: 1000.0, 4: 2000.0}, "T4": {1: 500.0, 4: 400.0}},
        model="mnasnet1_0",
    )
    assert isinstance(t, Table)
    assert [r[0] for r in t.rows] == ["bs1", "bs4", "best"]
    assert t.headers[3] == "openvino fp32 / onnxruntime fp32"
    assert t.headers[4:] == [
        "310P img/s (quoted)",
        "onnxruntime fp32 / 310P",
        "T4 img/s (quoted)",
        "onnxruntime fp32 / T4",
    ]
    assert t.rows[0][3] == "1.50" and t.rows[1][5] == "0.10"  # ratio vs first column; first column / 310P
    assert t.rows[2][1] == "200.0 (bs4)" and t.rows[2][4] == "2000.0 (bs4)" and t.rows[2][6] == "500.0 (bs1)"
    guide = "Quoted from Mnasnet1.0 ONNX model end-to-end inference guide, Ascend ModelZoo-PyTorch"
    assert guide in (t.note or "") and "§7.3 Performance comparison" in (t.note or "")
    assert "not measured here" in (t.note or "") and "seeds/" not in (t.note or "")


def test_run_report_has_every_section(small_run: Path) -> None:
    md = (small_run / "report.md").read_text()
    for heading in (
        "## efficientnet_lite0",
        "## mnasnet1_0",
        "### Model card",
        "### Accuracy",
        "### Performance (throughput, images/s)",
        "### Latency per batch",
        "### Environment",
    ):
        assert heading in md, heading
    assert "| Top-1 |" in md and "| bs2 |" in md and "| best |" in md
    assert "![throughput](efficientnet_lite0/plots/throughput.png)" in md
    assert "Accuracy was not measured" in md  # the random-weights model
    assert "onnxruntime-fp16: not measured" in md  # a column that cannot run is stated, not dropped
    # mnasnet1_0's guide columns beside ours, labelled as quotes
    assert "310P img/s (quoted)" in md and "T4 img/s (quoted)" in md and "310 img/s (quoted)" in md
    assert "Quoted from Mnasnet1.0 ONNX model end-to-end inference guide" in md and "seeds/0" not in md
    for model in ("efficientnet_lite0", "mnasnet1_0"):
        assert (small_run / model / "plots" / "throughput.png").stat().st_size > 1000
        assert (small_run / model / "report.html").is_file()
    lite = load_model_run(small_run / "efficientnet_lite0")
    assert lite.accuracy is not None and lite.card["weights"]["files"][0]["sha256"]


def test_report_command_regenerates_from_json_alone(small_run: Path, tmp_path: Path) -> None:
    small_run = Path(shutil.copytree(small_run, tmp_path / "run"))  # the shared run stays as made
    for f in ("report.md", "report.html"):
        (small_run / f).unlink()
    (small_run / "mnasnet1_0" / "plots" / "latency.png").unlink()
    res = CliRunner().invoke(cli, ["report", str(small_run)])
    assert res.exit_code == 0, res.output
    assert (small_run / "report.html").is_file() and (small_run / "mnasnet1_0" / "plots" / "latency.png").is_file()
    res = CliRunner().invoke(cli, ["report", str(small_run / "mnasnet1_0")])
    assert res.exit_code == 0 and "report.md" in res.output
    res = CliRunner().invoke(cli, ["report", str(small_run / "efficientnet_lite0" / "infer")])
    assert res.exit_code == 1 and "not a zoobench run directory" in res.output
    status = json.loads((small_run / "run.json").read_text())["models"]
    assert status["mnasnet1_0"] == "perf-only"


def test_gate_words_and_colours_for_each_outcome() -> None:
    from dataclasses import replace

    from zoobench.evaluate.metrics import AccuracyResult, accuracy_record
    from zoobench.evaluate.record import AccuracyRecord
    from zoobench.report.html import table_html
    from zoobench.report.tables import gate_text

    def acc(hits: int, n: int, random_weights: bool = False) -> AccuracyRecord:
        record = accuracy_record(AccuracyResult(n, [hits] * 5, [], [], 0), 75.1, 92.4)
        return replace(record, random_weights=random_weights)

    def old(**d: object) -> AccuracyRecord:  # an accuracy.json written before the three-way gate
        return AccuracyRecord.from_dict({"top1": 75.0, "count": 4, **d})

    few, many_ok, many_low = acc(3, 4), acc(7_500, 10_000), acc(7_000, 10_000)
    need = few.verdict.images_needed
    assert need is not None and need > 7_000
    assert gate_text(few) == f"inconclusive (n=4; ~{need:,} images needed)"
    assert gate_text(many_ok) == "PASS" and gate_text(many_low) == "FAIL"
    assert gate_text(acc(3, 4, random_weights=True)) == "random weights: not gated"
    assert gate_text(many_ok, random_weights=True) == "random weights: not gated"  # the model card says so
    assert gate_text(old(passed=True)) == "PASS" and gate_text(old(passed=False)) == "FAIL"  # files before "gate"
    assert gate_text(old(gate=None)) == "no-reference"  # the status word `zoobench run` prints
    html = table_html(Table(["gate"], [[gate_text(a)] for a in (few, many_ok, many_low)]))
    assert '<td class="undecided">inconclusive (n=4;' in html
    assert '<td class="pass">PASS</td>' in html and '<td class="fail">FAIL</td>' in html
