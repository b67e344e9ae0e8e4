"""`zoobench loadgen` end to end on a tiny engine through real LoadGen: SingleStream, MultiStream (at its minimum
query count) and Offline at test length, accuracy equal to `infer` on the same engine; a SUT that raises mid-test
gives INVALID with the error and returns; SIGINT exits 130 with one line and keeps the finished tests' logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("mlperf_loadgen")

sys.path.insert(0, str(Path(__file__).parent))
from lghelp import SRC, tiny_data

from zoobench.cli import cli

SCENARIOS = ("SingleStream", "MultiStream", "Offline")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tiny engine's uint8 twin, a prep cache of 16 images, `infer`'s predictions on them, and labels that make
    half of infer's top-1 right (so the accuracy compared is not trivially 0 or 100)."""
    from zoobench.artifact import load_engine
    from zoobench.data.cache import prep_cache
    from zoobench.engines import uint8_engine
    from zoobench.evaluate.files import read_predictions

    root = tmp_path_factory.mktemp("lg")
    onnx, images, _ = tiny_data(root)
    u8 = uint8_engine(load_engine(str(onnx)))
    prep_cache(images, u8.preprocess, root / "cache")
    res = CliRunner().invoke(cli, ["infer", u8.path, "--data", str(root / "cache"), "-o", str(root / "infer")])
    assert res.exit_code == 0, res.output
    preds = read_predictions(root / "infer" / "predictions.csv")
    top1 = np.asarray(preds.topk_ids)[:, 0]
    labels = root / "labels.txt"
    labels.write_text(
        "".join(f"{n} {(t if i % 2 else (t + 1) % 1000)}\n" for i, (n, t) in enumerate(zip(preds.names, top1)))
    )
    return {"root": root, "onnx": onnx, "u8": u8, "cache": root / "cache", "preds": preds, "labels": labels}


@pytest.fixture(scope="module")
def run(prepared: dict[str, Any]) -> dict[str, Any]:
    out = prepared["root"] / "out"
    args = ["loadgen", str(prepared["onnx"]), "--data", str(prepared["cache"]), "--labels", str(prepared["labels"]),
            "--scenarios", ",".join(SCENARIOS), "-b", "4", "-o", str(out), "--json"]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    return {"doc": json.loads(res.output[res.output.index("{") :]), "out": out}


def _row(doc: dict[str, Any], scenario: str, mode: str) -> dict[str, Any]:
    return next(r for r in doc["rows"] if r["scenario"] == scenario and r["mode"] == mode)


def test_every_scenario_writes_loadgens_files_and_is_valid(run: dict[str, Any]) -> None:
    doc, out = run["doc"], run["out"]
    assert json.loads((out / "loadgen.json").read_text()) == doc
    for scenario in SCENARIOS:
        for mode in ("performance", "accuracy"):
            folder = out / "onnxruntime-fp32" / scenario / mode
            for name in ("mlperf_log_summary.txt", "mlperf_log_detail.txt", "mlperf_log_accuracy.json"):
                assert (folder / name).stat().st_size > 0, folder / name
            row = _row(doc, scenario, mode)
            assert row["result"] == "VALID", row
            assert row["rule_compliant"] is False and row["length"] == "test"
            assert row["loadgen_version"].startswith("6.") and row["sut_errors"] == []
        perf = _row(doc, scenario, "performance")
        assert perf["value"] > 0 and perf["p50_ms"] <= perf["p90_ms"] <= perf["p99_ms"]
        assert all(v == "Yes" for v in perf["checks"].values()) and len(perf["checks"]) == 3
    assert _row(doc, "MultiStream", "performance")["query_count"] >= 662  # early stopping's minimum
    assert _row(doc, "SingleStream", "performance")["query_count"] >= 64
    assert _row(doc, "Offline", "performance")["sut"]["batch"] == 4
    assert "not rule compliant" in " ".join(doc["notes"])


def test_accuracy_equals_infer_on_the_same_engine(run: dict[str, Any], prepared: dict[str, Any]) -> None:
    from zoobench.scenarios.accuracy import decode_log

    preds = prepared["preds"]
    want = np.asarray(preds.topk_ids)
    for scenario in SCENARIOS:
        folder = run["out"] / "onnxruntime-fp32" / scenario / "accuracy"
        ids, answered = decode_log(folder / "mlperf_log_accuracy.json", len(preds.names))
        assert answered.all()
        np.testing.assert_array_equal(ids, want)  # the cache's rows in the same order as infer's
        row = _row(run["doc"], scenario, "accuracy")
        assert row["top1"] == pytest.approx(50.0) and row["count"] == len(preds.names)
        assert json.loads((folder / "accuracy.json").read_text())["top1"] == pytest.approx(50.0)
        assert (folder / "result.json").is_file()


class Raising:
    """A session that raises on its ``fail_at``-th run (after the warm-up runs), and every ``every``-th after."""

    def __init__(self, session: Any, fail_at: int, every: int = 0) -> None:
        self._s, self._n, self.fail_at, self.every = session, 0, fail_at, every

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s, name)

    def run(self, batch: np.ndarray) -> np.ndarray:
        self._n += 1
        if self._n == self.fail_at or (self.every and self._n > self.fail_at and self._n % self.every == 0):
            raise RuntimeError(f"injected failure at run {self._n}")
        return self._s.run(batch)


@pytest.mark.parametrize("scenario", ["SingleStream", "Offline"])
def test_a_sut_that_raises_mid_test_is_invalid_with_the_error_and_returns(
    prepared: dict[str, Any], tmp_path: Path, scenario: str
) -> None:
    from zoobench.runtimes import load_session
    from zoobench.scenarios.child import run_test
    from zoobench.scenarios.report import test_row
    from zoobench.scenarios.settings import Hints, parse_length, plan

    u8 = prepared["u8"]
    values = plan(scenario, "performance", parse_length("0.5"), Hints(0.001, 0.004, 2000.0), 16)
    job = {"engine": u8.path, "runtime": "onnxruntime", "precision": "fp32", "cache": str(prepared["cache"]),
           "plan": values, "batch": 4, "warm": [1], "outdir": str(tmp_path / scenario)}  # fmt: skip
    session = Raising(load_session(u8.path, "onnxruntime"), fail_at=4, every=3)
    try:
        sut = run_test(job, sessions=[session])  # returns: no hang
    finally:
        session.release()
    assert sut["error_count"] >= 1 and sut["failed_samples"] >= 1
    assert "RuntimeError: injected failure at run 4" in sut["errors"][0]
    row = test_row(scenario, tmp_path / scenario, sut)
    assert row["result"] == "INVALID" and "injected failure" in row["invalid_reason"]


def _wait_for(path: Path, timeout: float, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout
    while not (path.is_file() and path.stat().st_size > 0):
        assert proc.poll() is None, f"loadgen ended before {path} appeared: {proc.communicate()}"
        assert time.monotonic() < deadline, f"{path} did not appear in {timeout} s"
        time.sleep(0.2)


def _child_pid(detail: Path, timeout: float = 60.0) -> int:
    """The pid in the detail log's first MLLOG line, once that line is whole (the log is written as it runs: a
    non-empty file may still end mid-line)."""
    deadline = time.monotonic() + timeout
    while True:
        whole = detail.read_text().split("\n")[:-1]  # the lines that have their newline
        first = next((line for line in whole if line.startswith(":::MLLOG ")), None)
        if first is not None:
            return int(json.loads(first[len(":::MLLOG ") :])["metadata"]["pid"])
        assert time.monotonic() < deadline, f"no whole MLLOG line in {detail} after {timeout} s"
        time.sleep(0.1)


# A test that is still running when the signal comes, whatever the machine's load: 600 s of Server at a fixed
# 200 queries/s. LoadGen makes every query before it starts: a 600 s SingleStream on this 20-microsecond engine
# planned ~59M queries (2 x 600 s at the expected rate), ~18 GB; this plans 120,000, and 60 s of SingleStream was
# over before a loaded machine sent the signal.
LONG_SERVER = ["--length", "600", "--target-qps", "200", "--server-policy", "streams"]


def _long_server(prepared: dict[str, Any], cwd: Path, out: Path, mode: str) -> subprocess.Popen[str]:
    """``zoobench loadgen`` in a process of its own: the long Server test (``mode``: performance, or both)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "zoobench", "loadgen", str(prepared["onnx"]), "--data", str(prepared["cache"]),
           "--scenarios", "Server", *LONG_SERVER, "--mode", mode, "-o", str(out)]  # fmt: skip
    # Ctrl-C as a terminal sends it: a suite started in the background (`make test &`, a script's `cmd &`) runs with
    # SIGINT ignored, which children inherit, and a Python started so never installs its KeyboardInterrupt handler
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip


def test_sigint_stops_the_test_keeps_the_logs_and_exits_130(prepared: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _long_server(prepared, tmp_path, out, "both")
    try:
        col = out / "onnxruntime-fp32" / "Server"
        _wait_for(col / "accuracy" / "mlperf_log_summary.txt", 300, proc)  # the first test finished
        _wait_for(col / "performance" / "mlperf_log_detail.txt", 300, proc)  # the second one runs (600 s)
        pid = _child_pid(col / "performance" / "mlperf_log_detail.txt")
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, (stdout, stderr)
    lines = [line for line in stderr.splitlines() if line.strip()]  # the progress lines, then the one line
    assert lines[-1].startswith("interrupted:") and sum("interrupted" in line for line in lines) == 1
    assert "Traceback" not in stdout + stderr and "Aborted" not in stdout + stderr
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the child is gone (and reaped)
    assert (col / "accuracy" / "mlperf_log_summary.txt").stat().st_size > 0  # the finished test's logs kept
    assert (col / "accuracy" / "mlperf_log_accuracy.json").stat().st_size > 0
    assert (col / "performance" / "mlperf_log_detail.txt").stat().st_size > 0  # what the stopped one wrote
    assert not list(tmp_path.rglob("core*"))
    doc = json.loads((out / "loadgen.json").read_text())
    assert [r["mode"] for r in doc["rows"]] == ["accuracy"]


def test_a_killed_loadgen_takes_its_test_child_with_it(prepared: dict[str, Any], tmp_path: Path) -> None:
    """SIGKILL leaves the parent no say: the child asked the kernel (PR_SET_PDEATHSIG) to end with it, so a long
    test does not run on unwatched (one did, filling 18 GB with LoadGen's records)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    out = tmp_path / "out"
    proc = _long_server(prepared, tmp_path, out, "performance")
    pid = 0
    try:
        detail = out / "onnxruntime-fp32" / "Server" / "performance" / "mlperf_log_detail.txt"
        _wait_for(detail, 300, proc)
        pid = _child_pid(detail)
        proc.kill()
        proc.communicate()
        deadline = time.monotonic() + 60
        while _alive(pid) and time.monotonic() < deadline:  # SIGTERM arrives at once; exiting takes a moment
            time.sleep(0.1)
        assert not _alive(pid), f"the test child {pid} outlived its killed parent"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        if pid and _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def test_a_lower_precision_adds_fp32s_accuracy_run_and_is_paired_with_it(
    prepared: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["loadgen", str(prepared["onnx"]), "--data", str(prepared["cache"]), "--labels", str(prepared["labels"]),
            "--scenarios", "Offline", "--mode", "accuracy", "--precisions", "int8", "-o", str(out)]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    rows = json.loads((out / "loadgen.json").read_text())["rows"]
    assert [(r["column"], r["mode"]) for r in rows] == [
        ("onnxruntime-fp32", "accuracy"),
        ("onnxruntime-int8", "accuracy"),
    ]
    fp32, int8 = rows
    assert fp32["top1"] == pytest.approx(50.0) and "vs_fp32" not in fp32
    paired = int8["vs_fp32"]
    assert paired["count"] == 16 and paired["verdict"] in ("pass", "fail", "undecided")
    assert paired["top1"]["reference_pct"] == pytest.approx(50.0)
    assert paired["top1"]["engine_pct"] == pytest.approx(int8["top1"])
    rule = paired["mlperf_99pct"]
    assert rule["passed"] == (int8["top1"] >= 0.99 * fp32["top1"])
    assert int8["delta_vs_fp32_points"]["top1"] == pytest.approx(int8["top1"] - fp32["top1"], abs=1e-3)
    assert (out / "onnxruntime-int8" / "Offline" / "accuracy" / "result.json").is_file()
