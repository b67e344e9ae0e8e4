"""Open, time in flight and release OpenVINO sessions many times while another Python thread keeps asking for the
GIL: with a Python callback on the AsyncInferQueue this hung within ~100 rounds on 2 cores (the release joined a
worker thread waiting for the GIL). Slow: it is a stress loop (``pytest -m slow``, run by .ci/run)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROUNDS = 150

_LOOP = textwrap.dedent(
    """
    import sys, threading
    import numpy as np
    from zoobench.perf.timing import Timing
    from zoobench.runtimes import load_session

    stop = threading.Event()
    def spin():  # a busy Python thread, as Ray's or a profiler's would be
        while not stop.is_set():
            sum(range(1000))
    threading.Thread(target=spin, daemon=True).start()
    batch = np.zeros((4, 3, 224, 224), np.float32)
    for i in range(int(sys.argv[2])):
        for streams in (1, 2):
            sess = load_session(sys.argv[1], "openvino", precision="fp32", hint="throughput", threads=2,
                                num_streams=streams, nireq=2 * streams)
            sess.in_flight().time_async(batch, Timing(seconds=0.01, min_iters=2, warmup=1))
            sess.release()
    stop.set()
    print("rounds", sys.argv[2])
    """
)


@pytest.mark.slow
def test_openvino_sessions_open_time_and_release_without_hanging(tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    torch = pytest.importorskip("torch")
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    path = tmp_path / "tiny.onnx"
    torch.onnx.export(
        model, torch.zeros(1, 3, 224, 224), str(path), dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "batch"}}
    )
    try:
        cmd = [sys.executable, "-c", _LOOP, str(path), str(ROUNDS)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{ROUNDS} rounds of open/time_async/release did not finish in 600 s: the GIL deadlock is back")
    assert out.returncode == 0 and f"rounds {ROUNDS}" in out.stdout, out.stderr[-3000:]
