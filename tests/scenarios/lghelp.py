"""Helpers of the LoadGen tests: a tiny engine, its prep cache and labels, a real LoadGen test on a sleep SUT."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from datahelp import make_tiny_onnx, write_jpegs

SRC = str(Path(__file__).resolve().parents[2] / "src")

# A LoadGen test on a SUT that sleeps 1 ms per query and answers ids 0..4: LoadGen's own files, made in a child
# process (LoadGen keeps state per process).
SLEEP_SUT = """
import sys, time
import numpy as np
import mlperf_loadgen as lg
scenario, outdir = sys.argv[1], sys.argv[2]
ids = np.arange(5, dtype=np.int32)
def issue(qs):
    time.sleep(0.001)
    lg.QuerySamplesComplete([lg.QuerySampleResponse(q.id, ids.ctypes.data, ids.nbytes) for q in qs])
sut = lg.ConstructSUT(issue, lambda: None)
qsl = lg.ConstructQSL(16, 16, lambda i: None, lambda i: None)
s = lg.TestSettings()
s.scenario = getattr(lg.TestScenario, scenario)
s.mode = lg.TestMode.PerformanceOnly
s.min_duration_ms = 300
s.min_query_count = 64 if scenario == "SingleStream" else 1
s.single_stream_expected_latency_ns = 1_000_000
s.offline_expected_qps = 200
out = lg.LogOutputSettings()
out.outdir = outdir
out.copy_summary_to_stdout = False
log = lg.LogSettings()
log.log_output = out
log.enable_trace = False
lg.StartTestWithLogSettings(sut, qsl, s, log, outdir + "/audit.config")
lg.DestroyQSL(qsl)
lg.DestroySUT(sut)
"""


def sleep_sut_logs(scenario: str, outdir: Path) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", SLEEP_SUT, scenario, str(outdir)], check=True, timeout=300, cwd=outdir)
    return outdir


def tiny_data(root: Path, n: int = 16) -> tuple[Path, Path, Path]:
    """A tiny float engine, ``n`` labelled JPEGs (class i % 7) and their label file."""
    root.mkdir(parents=True, exist_ok=True)
    onnx = make_tiny_onnx(root / "tiny.onnx")
    images = write_jpegs(root / "images", n)
    labels = root / "labels.txt"
    labels.write_text("".join(f"{p.name} {i % 7}\n" for i, p in enumerate(images)), encoding="utf-8")
    return onnx, root / "images", labels
