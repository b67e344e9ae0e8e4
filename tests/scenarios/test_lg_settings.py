"""Settings per length (test / rules / SECONDS), the scenario list, the columns, FromConfig once per process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from zoobench.errors import DataError
from zoobench.scenarios.settings import (
    Hints,
    Length,
    LoadgenSettings,
    expected_seconds,
    parse_length,
    parse_scenarios,
    plan,
)

HINTS = Hints(latency_s=0.004, multi_latency_s=0.02, offline_qps=500.0)


def test_lengths_parse() -> None:
    assert parse_length("test") == Length("test", 2.0)
    assert parse_length("rules") == Length("rules", 600.0)
    assert parse_length("5") == Length("seconds", 5.0) and parse_length("2.5s").seconds == 2.5
    assert parse_length("rules").rule_compliant and not parse_length("test").rule_compliant
    for bad in ("long", "0", "-3", "nan"):
        with pytest.raises(DataError):
            parse_length(bad)


def test_test_length_is_two_seconds_and_early_stoppings_minimum() -> None:
    ss = plan("SingleStream", "performance", parse_length("test"), HINTS, 100)
    ms = plan("MultiStream", "performance", parse_length("test"), HINTS, 100)
    off = plan("Offline", "performance", parse_length("test"), HINTS, 100)
    assert (ss["min_duration_ms"], ss["min_query_count"]) == (2000, 64)
    assert (ms["min_duration_ms"], ms["min_query_count"], ms["multi_stream_samples_per_query"]) == (2000, 662, 8)
    assert (off["min_duration_ms"], off["min_query_count"], off["offline_expected_qps"]) == (2000, 1, 750.0)
    assert ss["single_stream_expected_latency_ns"] == int(0.004 / 1.5 * 1e9)  # a faster SUT still fills 2 s
    assert not ss["_rules"] and ss["mode"] == "PerformanceOnly"
    assert ss["performance_sample_count_override"] == 100  # never more than the library holds
    # MultiStream at 20 ms per 8-sample query needs 662 queries: 13.2 s, more than the 2 s
    assert ms["_expected_s"] == pytest.approx(662 * 0.02)
    assert ss["_expected_s"] == pytest.approx(3.0)  # 2 s × the hints' margin, at the hinted latency


def test_seconds_and_rules_lengths() -> None:
    five = plan("SingleStream", "performance", parse_length("5"), HINTS, 5000)
    assert (five["min_duration_ms"], five["min_query_count"], five["performance_sample_count_override"]) == (
        5000, 64, 1024,
    )  # fmt: skip
    rules = plan("Offline", "performance", parse_length("rules"), HINTS, 5000)
    assert rules["_rules"] and "min_duration_ms" not in rules  # mlperf.conf's values, through FromConfig
    assert expected_seconds("Offline", "performance", parse_length("rules"), HINTS, 5000) == pytest.approx(
        max(600 * 500 * 1.5 * 1.1, 24576) / 500
    )
    acc = plan("SingleStream", "accuracy", parse_length("test"), HINTS, 50)
    assert acc["mode"] == "AccuracyOnly" and acc["_expected_s"] == pytest.approx(50 * 0.004)


RULES_CHILD = """
import mlperf_loadgen as lg
from zoobench.errors import ZoobenchError
from zoobench.scenarios.settings import Hints, parse_length, plan, build
values = plan("Offline", "performance", parse_length("rules"), Hints(0.004, 0.02, 500.0), 5000)
s = build(values, None)
print(s.min_duration_ms, s.min_query_count, s.performance_sample_count_override, s.offline_expected_qps)
try:
    build(values, None)
except ZoobenchError as exc:
    print("second:", exc)
"""


def test_rules_apply_mlperf_conf_once_per_process() -> None:
    pytest.importorskip("mlperf_loadgen")
    out = subprocess.run([sys.executable, "-c", RULES_CHILD], capture_output=True, text=True, timeout=120, check=True)
    first, second = out.stdout.strip().splitlines()
    duration, queries, psc, qps = first.split()
    assert int(duration) == 600_000 and int(queries) >= 1 and int(psc) == 1024 and float(qps) == 750.0
    assert second.startswith("second:") and "once per process" in second


def test_scenarios_and_columns() -> None:
    assert parse_scenarios(None) == ["SingleStream", "Offline"]
    assert parse_scenarios("offline,SingleStream,Offline") == ["Offline", "SingleStream"]
    assert parse_scenarios("Server") == ["Server"]
    with pytest.raises(DataError, match="unknown scenario"):
        parse_scenarios("Batch")
    s = LoadgenSettings(runtimes=["onnxruntime", "openvino"], precisions=["int8"], mode="both")
    assert s.columns() == [
        ("onnxruntime", "fp32", ["accuracy"]), ("onnxruntime", "int8", ["accuracy", "performance"]),
        ("openvino", "fp32", ["accuracy"]), ("openvino", "int8", ["accuracy", "performance"]),
    ]  # fmt: skip
    assert LoadgenSettings(precisions=["int8"], mode="performance").columns() == [
        ("onnxruntime", "int8", ["performance"])
    ]
    assert LoadgenSettings(precisions=["int8", "fp32"], mode="accuracy").columns() == [
        ("onnxruntime", "fp32", ["accuracy"]), ("onnxruntime", "int8", ["accuracy"]),
    ]  # fmt: skip
    with pytest.raises(DataError):
        LoadgenSettings(mode="fast")
    with pytest.raises(DataError):
        LoadgenSettings(length="forever")


def test_without_the_extra_loadgen_is_one_line_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from zoobench.cli import cli

    monkeypatch.setitem(sys.modules, "mlperf_loadgen", None)  # import fails as if not installed
    res = CliRunner().invoke(cli, ["loadgen", "tiny.onnx", "--data", str(tmp_path), "-o", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1] == (
        "Error: mlperf_loadgen is not installed; this needs the loadgen extra: pip install 'zoobench[loadgen]'"
    )
