"""The Server scenario through real LoadGen on a tiny engine: at test length (a generous bound, a low target) it
is VALID under both policies, the batcher's histogram recorded; overloaded, it ends INVALID (requests shed) once
LoadGen stops issuing at its max duration, instead of draining a backlog for ever."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("mlperf_loadgen")

sys.path.insert(0, str(Path(__file__).parent))
from lghelp import tiny_data

from zoobench.cli import cli


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from zoobench.artifact import load_engine
    from zoobench.data.cache import prep_cache
    from zoobench.engines import uint8_engine

    root = tmp_path_factory.mktemp("server")
    onnx, images, labels = tiny_data(root)
    u8 = uint8_engine(load_engine(str(onnx)))
    prep_cache(images, u8.preprocess, root / "cache")
    return {"root": root, "onnx": onnx, "u8": u8, "cache": root / "cache", "labels": labels}


@pytest.mark.parametrize("policy", ["streams", "batch"])
def test_server_at_test_length_is_valid(prepared: dict[str, Any], policy: str) -> None:
    out = prepared["root"] / f"out-{policy}"
    args = ["loadgen", str(prepared["onnx"]), "--data", str(prepared["cache"]), "--scenarios", "Server",
            "--mode", "performance", "--target-qps", "100", "--latency-ms", "1000", "--server-policy", policy,
            "--max-batch", "4", "-o", str(out), "--json"]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output[res.output.index("{") :])
    (row,) = doc["rows"]
    assert (row["scenario"], row["mode"], row["result"]) == ("Server", "performance", "VALID"), row
    assert row["target_qps"] == 100.0 and row["latency_bound_ms"] == 1000.0 and row["value"] > 0
    assert row["query_count"] >= 459 and row["length"] == "test" and row["rule_compliant"] is False
    assert row["checks"]["Performance constraints satisfied"] == "Yes" and row["sut_errors"] == []
    assert row["server_policy"]["chose"] == policy and row["target_source"] == "--target-qps"
    server = row["sut"]["server"]
    assert server["policy"] == policy and server["shed_samples"] == 0
    histogram = {int(k): v for k, v in server["batch_histogram"].items()}
    assert sum(k * v for k, v in histogram.items()) == row["query_count"]  # every request ran exactly once
    assert max(histogram) <= (4 if policy == "batch" else 1)
    summary = (out / "onnxruntime-fp32" / "Server" / "performance" / "mlperf_log_summary.txt").read_text()
    assert "Scenario : Server" in summary and "Result is : VALID" in summary


class Slow:
    """A session that takes at least ``seconds`` per run: the SUT holds ~1/seconds requests a second."""

    def __init__(self, session: Any, seconds: float) -> None:
        self._s, self.seconds = session, seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s, name)

    def run(self, batch: np.ndarray) -> np.ndarray:
        time.sleep(self.seconds)
        return self._s.run(batch)


def test_an_overloaded_server_ends_invalid(prepared: dict[str, Any], tmp_path: Path) -> None:
    from zoobench.runtimes import load_session
    from zoobench.scenarios.child import run_test
    from zoobench.scenarios.mllog import read_logs
    from zoobench.scenarios.report import test_row
    from zoobench.scenarios.settings import Hints, parse_length, plan

    hints = Hints(0.001, 0.004, 1000.0, server_qps=2000.0, latency_bound_s=0.015)  # 20x what the SUT holds
    values = plan("Server", "performance", parse_length("0.5"), hints, 16)
    job = {"engine": prepared["u8"].path, "runtime": "onnxruntime", "precision": "fp32",
           "cache": str(prepared["cache"]), "plan": values, "batch": 1, "warm": [1], "outdir": str(tmp_path),
           "server": {"policy": "streams", "max_batch": 1, "batch_wait_ms": 0, "latency_bound_s": 0.015}}  # fmt: skip
    session = Slow(load_session(prepared["u8"].path, "onnxruntime"), 0.01)
    done: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: done.update(sut=run_test(job, sessions=[session])), daemon=True)
    worker.start()
    worker.join(timeout=600)  # a safety net against a hang, not a timing check
    session.release()
    assert not worker.is_alive(), "the overloaded Server did not end"
    sut = done["sut"]
    assert sut["server"]["shed_samples"] > 0 and sut["error_count"] == 0
    row = test_row("Server", tmp_path, sut)
    assert row["result"] == "INVALID" and "overloaded" in row["invalid_reason"]
    assert row["checks"]["Performance constraints satisfied"] == "NO"
    _summary, detail = read_logs(tmp_path)
    assert detail["effective_max_duration_ms"] == values["max_duration_ms"]
    assert row["query_count"] == detail["generated_query_count"]  # every issued query completed
