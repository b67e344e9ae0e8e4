"""LoadGen's logs read back: the summary and the MLLOG detail parsers on LoadGen's own output."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("mlperf_loadgen")

sys.path.insert(0, str(Path(__file__).parent))
from lghelp import sleep_sut_logs

from zoobench.errors import DataError
from zoobench.scenarios.mllog import parse_detail, parse_summary, performance_row, read_logs


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sleep_sut_logs("SingleStream", tmp_path_factory.mktemp("ss"))


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sleep_sut_logs("Offline", tmp_path_factory.mktemp("off"))


def test_summary_parser_reads_loadgen_summary(single: Path) -> None:
    s = parse_summary((single / "mlperf_log_summary.txt").read_text())
    assert s["Scenario"] == "SingleStream" and s["Mode"] == "PerformanceOnly"
    assert s["Result is"] == "VALID"
    assert s["Min duration satisfied"] == "Yes" and s["Min queries satisfied"] == "Yes"
    assert s["Early stopping satisfied"] == "Yes"
    assert "Processed at least 64 queries" in s["early_stopping"]
    assert int(s["90.00 percentile latency (ns)"]) > 0


def test_detail_parser_reads_every_mllog_event(single: Path) -> None:
    text = (single / "mlperf_log_detail.txt").read_text()
    events = parse_detail(text)
    assert len(events) == sum(1 for line in text.splitlines() if line.startswith(":::MLLOG "))
    keys = {e["key"] for e in events}
    assert {"loadgen_version", "result_validity", "result_90.00_percentile_latency_ns"} <= keys


def test_rows_agree_with_the_summary(single: Path, offline: Path) -> None:
    summary, detail = read_logs(single)
    row = performance_row("SingleStream", summary, detail)
    assert row["result"] == "VALID" and row["unit"] == "ms"
    assert row["value"] == pytest.approx(int(summary["90.00 percentile latency (ns)"]) / 1e6)
    assert row["p50_ms"] <= row["p90_ms"] <= row["p99_ms"]
    assert row["query_count"] >= 64
    assert detail["loadgen_version"].startswith("6.")
    summary, detail = read_logs(offline)
    row = performance_row("Offline", summary, detail)
    assert row["unit"] == "samples/s" and row["value"] == pytest.approx(float(summary["Samples per second"]), rel=1e-3)


def test_a_broken_mllog_line_is_one_error_and_no_summary_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="line 2"):
        parse_detail(':::MLLOG {"key": "a", "value": 1}\n:::MLLOG {broken\n')
    (tmp_path / "mlperf_log_summary.txt").write_text("")
    with pytest.raises(DataError, match="did not finish"):
        read_logs(tmp_path)
