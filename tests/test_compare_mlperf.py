"""`compare` reads a folder of MLPerf results (a submission's results/<system>/<model>/<Scenario>/performance/
run_1/ layout) as scenario rows beside zoobench's own loadgen rows, each figure traced to file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoobench.cli import cli
from zoobench.errors import DataError
from zoobench.report.scenarios import histogram_table, scenario_rows, scenarios_table
from zoobench.scenarios.published import NOTE, is_mlperf_folder, read_folder, summary_lines

MLPERF = Path(__file__).parent / "data" / "mlperf"
RUN = MLPERF / "results" / "sleep-sut-2vcpu" / "resnet50"


def test_the_folder_gives_offline_and_server_rows_traced_to_their_lines(tmp_path: Path) -> None:
    assert is_mlperf_folder(MLPERF) and is_mlperf_folder(MLPERF / "results") and not is_mlperf_folder(tmp_path)
    rows = {r["scenario"]: r for r in read_folder(MLPERF)}
    off, srv = rows["Offline"], rows["Server"]
    assert (off["system"], off["model"], off["metric"], off["value"], off["result"]) == (
        "sleep-sut-2vcpu", "resnet50", "samples/s", 995.769, "VALID",
    )  # fmt: skip
    assert (srv["metric"], srv["value"], srv["result"], srv["latency_bound_ms"]) == (
        "QPS at the bound", 196.653, "INVALID", 15.0,
    )  # fmt: skip
    assert srv["p99_ms"] == 15.7934 and srv["settings"]["target_qps"] == "200"
    assert off["sources"]["value"].endswith("Offline/performance/run_1/mlperf_log_detail.txt:81")
    assert srv["sources"]["value"].endswith("Server/performance/run_1/mlperf_log_detail.txt:89")
    detail = (RUN / "Server" / "performance" / "run_1" / "mlperf_log_detail.txt").read_text().splitlines()
    assert '"result_scheduled_samples_per_sec", "value": 196.653' in detail[88]  # the line named is the figure's
    assert srv["sources"]["settings"].endswith("mlperf_log_summary.txt:40") and srv["note"] == NOTE


def test_without_a_detail_log_the_summary_gives_the_figures(tmp_path: Path) -> None:
    run = tmp_path / "results" / "box" / "resnet50" / "Server" / "performance" / "run_1"
    run.mkdir(parents=True)
    src = RUN / "Server" / "performance" / "run_1" / "mlperf_log_summary.txt"
    run.joinpath("mlperf_log_summary.txt").write_text(src.read_text())
    (row,) = read_folder(tmp_path)
    assert row["value"] == 196.65 and row["sources"]["value"].endswith("mlperf_log_summary.txt:25")
    assert row["result"] == "INVALID" and row["sources"]["result"].endswith("mlperf_log_summary.txt:8")
    assert summary_lines(src.read_text())["Scenario"] == ("Server", 5)
    with pytest.raises(DataError, match="no MLPerf results"):
        read_folder(tmp_path / "results" / "box" / "resnet50" / "Server" / "performance" / "run_2")


def _loadgen_json(folder: Path) -> Path:
    folder.mkdir(parents=True)
    server = {"policy": "batch", "batch_histogram": {"1": 40, "4": 10}, "shed_samples": 0}
    rows = [
        {"column": "onnxruntime-fp32", "scenario": "Server", "mode": "performance", "metric": "QPS at the bound",
         "value": 310.0, "unit": "queries/s", "result": "VALID", "length": "test", "latency_bound_ms": 15.0,
         "sut": {"server": server}},
        {"column": "onnxruntime-fp32", "scenario": "SingleStream", "mode": "performance", "metric": "p90 latency",
         "value": 4.25, "unit": "ms", "result": "INVALID", "length": "test"},
        {"column": "onnxruntime-fp32", "scenario": "SingleStream", "mode": "accuracy", "metric": "top-1",
         "value": 71.5, "top1": 71.5, "result": "VALID", "length": "test"},
    ]  # fmt: skip
    (folder / "loadgen.json").write_text(json.dumps({"model": "mnasnet1_0", "rows": rows}))
    return folder


def test_the_scenarios_table_has_a_row_per_column_and_the_histogram(tmp_path: Path) -> None:
    ours = scenario_rows(_loadgen_json(tmp_path / "lg"))
    table = scenarios_table([("A", ours), ("B", read_folder(MLPERF))])
    assert table is not None
    rows = {r[1]: r for r in table.rows}
    a = rows["mnasnet1_0 · onnxruntime-fp32"]
    assert a[2] == "4.25 INVALID [test]" and a[4] == "310.0 (≤ 15 ms) VALID [test]" and a[6] == "71.50 (SingleStream)"
    b = rows["sleep-sut-2vcpu · resnet50 (MLPerf)"]
    assert b[5] == "995.8 VALID [min 2 s]" and b[4] == "196.7 (≤ 15 ms) INVALID [min 2 s]" and b[2] == "-"
    assert "ResNet-50 v1.5" in table.note
    hist = histogram_table([("A", ours)])
    assert hist is not None and hist.rows == [["A", "mnasnet1_0 · onnxruntime-fp32", "batch", "1: 40, 4: 10", "0"]]


def test_compare_shows_an_mlperf_folder_beside_a_loadgen_run(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["compare", str(_loadgen_json(tmp_path / "lg")), str(MLPERF), "-o", str(tmp_path / "c")]
    )
    assert res.exit_code == 0, res.output
    assert "Scenarios (MLPerf LoadGen)" in res.output and "995.8 VALID" in res.output
    assert "196.7 (≤ 15 ms) INVALID" in res.output and "310.0 (≤ 15 ms) VALID" in res.output
    assert "mlperf_log_detail.txt:89" in res.output and "not these models" in res.output
    assert "Server batch histogram" in res.output
    saved = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert {r["scenario"] for _, rows in saved["scenarios"] for r in rows} == {"Offline", "Server", "SingleStream"}
