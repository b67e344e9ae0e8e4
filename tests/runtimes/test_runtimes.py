"""Each runtime behind the one interface; each test skips when its runtime is not installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from zoobench.errors import RuntimeUnavailableError, ZoobenchError
from zoobench.runtimes import RUNTIMES, load_session, runtime_for_path, runtime_status


def _x(n: int = 2) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, 3, 224, 224), dtype=np.float32)


def test_status_lists_every_runtime_with_install_hint() -> None:
    rows = {r["runtime"]: r for r in runtime_status()}
    assert set(rows) == set(RUNTIMES) == {"onnxruntime", "openvino", "torch", "tensorrt"}
    assert rows["onnxruntime"]["available"] and "cpu" in rows["onnxruntime"]["devices"]
    for r in rows.values():
        assert r["install"].startswith("pip install")
        if not r["available"]:
            assert r["reason"]


def test_runtime_for_path() -> None:
    assert runtime_for_path("m.xml") == "openvino"
    assert runtime_for_path("m.plan") == "tensorrt"
    assert runtime_for_path("m.onnx") is None


def test_onnxruntime_fp16_on_cpu_is_unavailable(cnn_onnx: str) -> None:
    with pytest.raises(RuntimeUnavailableError, match="not useful"):
        load_session(cnn_onnx, "onnxruntime", precision="fp16")


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino", "torch"])
def test_every_session_declares_its_input_its_in_flight_form_and_releases(cnn_onnx: str, runtime: str) -> None:
    pytest.importorskip(runtime)
    sess = load_session(cnn_onnx, runtime)
    assert sess.input_dtype == np.dtype(np.float32) and sess.run(_x(1)).shape == (1, 1000)
    form = sess.in_flight()
    if runtime == "openvino":  # its AsyncInferQueue: perf keeps requests in flight through it
        assert form is sess and form.timing_mode == "async"
    else:
        assert form is None  # one request at a time
    sess.release()
    sess.release()  # twice is harmless
    with pytest.raises(ZoobenchError, match=f"{runtime}: this session was released"):
        sess.run(_x(1))


def test_openvino_matches_onnxruntime_with_explicit_precision(cnn_onnx: str) -> None:
    pytest.importorskip("openvino")
    ref = load_session(cnn_onnx, "onnxruntime").run(_x())
    sess = load_session(cnn_onnx, "openvino", precision="fp32")
    info = sess.info().to_dict()
    assert info["precision"] == "fp32" and info["inference_precision_hint"] == "f32"
    np.testing.assert_allclose(sess.run(_x()), ref, rtol=1e-3, atol=1e-3)


def test_openvino_throughput_async_queue(cnn_onnx: str) -> None:
    pytest.importorskip("openvino")
    from zoobench.perf.timing import Timing, time_throughput

    sess = load_session(cnn_onnx, "openvino", precision="fp32", hint="throughput")
    assert sess.info().to_dict()["performance_hint"] == "throughput"
    r = time_throughput(sess, 2, (3, 224, 224), Timing(seconds=0.01, min_iters=3, warmup=1))
    assert r.mode == "async" and r.latency.count >= 3 and r.throughput_img_s > 0


def test_openvino_bf16_only_where_the_cpu_has_it(cnn_onnx: str) -> None:
    pytest.importorskip("openvino")
    from zoobench.runtimes.openvino import supported_precisions

    if "bf16" in supported_precisions():
        assert load_session(cnn_onnx, "openvino", precision="bf16").info().precision == "bf16"
    else:
        with pytest.raises(RuntimeUnavailableError, match="bf16"):
            load_session(cnn_onnx, "openvino", precision="bf16")


def test_torch_rebuilds_from_onnx_metadata(cnn_onnx: str) -> None:
    pytest.importorskip("torch")
    ref = load_session(cnn_onnx, "onnxruntime").run(_x())
    sess = load_session(cnn_onnx, "torch", channels_last=True)
    info = sess.info().to_dict()
    assert info["model"] == "torchvision:squeezenet1_1" and info["channels_last"] and info["device"] == "cpu"
    np.testing.assert_allclose(sess.run(_x()), ref, rtol=1e-3, atol=1e-3)
    with pytest.raises(RuntimeUnavailableError, match="int8"):
        load_session(cnn_onnx, "torch", precision="int8")


def test_tensorrt_unavailable_is_a_clear_error(cnn_onnx: str, tmp_path: Path) -> None:
    plan = tmp_path / "m.plan"
    plan.write_bytes(b"not a plan")
    try:
        import tensorrt  # noqa: F401
        import torch

        if torch.cuda.is_available():
            pytest.skip("a GPU is present; the unavailable path is not taken")
    except ImportError:
        pass
    with pytest.raises(RuntimeUnavailableError, match="tensorrt"):
        load_session(str(plan), "tensorrt")
    with pytest.raises(ZoobenchError, match="compiled for tensorrt"):
        load_session(str(plan), "openvino")


_FAULTS = """
import json, resource, sys
import numpy as np
from zoobench.runtimes import load_session

sess = load_session(sys.argv[1], "torch", threads=1, keep_memory=sys.argv[2] == "keep")
x = np.random.default_rng(0).standard_normal((4, 3, 224, 224), dtype=np.float32)
for _ in range(3):
    sess.run(x)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
sess.run(x)
print(json.dumps([resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, sess.info().to_dict().get("malloc")]))
"""


def test_torch_session_keeps_its_activations_memory_between_batches(tmp_path: Path) -> None:
    """torch on the CPU frees its activations after every batch; with glibc's defaults each batch faults them in
    again (the torch column's gap to a plain loop). The session has malloc keep them: a batch in a fresh process
    faults (nearly) no page in, where the same batch without it faults thousands. On resnet18, where this was
    measured (squeezenet1_1 at batch 16 in a busy suite faulted 9% of the default's pages in with malloc's keep)."""
    pytest.importorskip("torch")
    from zoobench.engines import resolve_engine

    resnet = resolve_engine("torchvision:resnet18", weights="random", workdir=tmp_path, exporter="torchscript").path
    import json
    import os
    import platform
    import subprocess
    import sys

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc's malloc only")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    runs = {}
    for mode in ("keep", "default"):
        out = subprocess.run([sys.executable, "-c", _FAULTS, resnet, mode], capture_output=True, text=True,
                             env=env, check=True, timeout=300)  # fmt: skip
        runs[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    assert runs["default"][0] > 2000 and runs["default"][1] is None  # resnet18, batch 4: ~12 MiB blocks unmapped
    assert runs["keep"][0] < runs["default"][0] / 20 and runs["keep"][1].startswith("glibc: M_MMAP_MAX=0")


def test_openvino_hands_no_python_object_to_its_worker_threads(cnn_onnx: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python callback or userdata on an ``AsyncInferQueue`` makes an OpenVINO worker thread take the GIL after
    ``wait_all`` returned; releasing the compiled model (GIL held) then joins that thread forever (it hung CI, in
    tune: tests/runtimes/test_openvino_stress.py repeats it). time_async passes plain arrays, copied, and reads
    each request's own latency instead: one per request started in the measured region."""
    ov = pytest.importorskip("openvino")
    from zoobench.perf.timing import Timing

    real = ov.AsyncInferQueue
    seen: dict[str, list[object]] = {"callbacks": [], "userdata": [], "share_inputs": []}
    started = []

    class Recording:
        def __init__(self, compiled: object, n: int) -> None:
            self.q = real(compiled, n)

        def set_callback(self, fn: object) -> None:
            seen["callbacks"].append(fn)
            self.q.set_callback(fn)

        def start_async(self, inputs: object, userdata: object = None, share_inputs: bool = True) -> None:
            seen["userdata"].append(userdata)
            seen["share_inputs"].append(share_inputs)
            started.append(True)
            self.q.start_async(inputs, userdata, share_inputs=share_inputs)

        def __getattr__(self, name: str) -> object:
            return getattr(self.q, name)

        def __getitem__(self, i: int) -> object:
            return self.q[i]

        def __len__(self) -> int:
            return len(self.q)

    monkeypatch.setattr(ov, "AsyncInferQueue", Recording)
    sess = load_session(cnn_onnx, "openvino", precision="fp32", hint="throughput")
    batch = np.zeros((2, 3, 224, 224), np.float32)
    latencies, wall = sess.in_flight().time_async(batch, Timing(seconds=0.0, min_iters=5, warmup=1))
    sess.release()
    assert seen["callbacks"] == [] and set(seen["userdata"]) == {None} and set(seen["share_inputs"]) == {False}
    warmup = len(started) - 5
    assert warmup >= 1 and len(latencies) == 5  # one latency per measured request, none of the warm-up's
    assert all(0 < lat <= wall for lat in latencies)
