"""The TensorRT session's build, load, run and release, executed in CI without a GPU.

What these tests prove: the ORDER AND ARGUMENTS of the calls ``zoobench.runtimes.tensorrt`` makes to TensorRT
and to torch's CUDA API (parse, builder flags, the optimization profile, serialize and deserialize, tensor names,
shapes, buffer addresses, the stream, the release), against stand-ins that record them (``trt_fake``). What they
do not prove: anything a GPU computes. The stand-in "engine" runs the ONNX its plan was built from with ONNX
Runtime, reading and writing the buffers at the addresses the session gave it; so equal logits show that the
session wired the right buffers, not that TensorRT's kernels are right.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from . import trt_fake

pytest.importorskip("onnxruntime")
sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
from datahelp import TINY_PP, make_tiny_onnx, write_jpegs

from zoobench.errors import DataError, RuntimeUnavailableError, ZoobenchError
from zoobench.runtimes import RuntimeInfo, load_session

BUILD = [
    "Logger", "Builder", "builder.create_network", "OnnxParser", "parser.parse_from_file",
    "builder.create_builder_config", "network.get_input", "builder.create_optimization_profile",
    "profile.set_shape", "config.add_optimization_profile", "builder.build_serialized_network",
]  # fmt: skip
LOAD = ["Logger", "Runtime", "runtime.deserialize_cuda_engine", "engine.create_execution_context",
        "engine.get_tensor_dtype", "cuda.Stream"]  # fmt: skip
RUN = [
    "torch.from_numpy", "tensor.to", "context.set_input_shape", "context.get_tensor_shape", "torch.empty",
    "context.set_tensor_address", "context.set_tensor_address", "context.execute_async_v3", "stream.synchronize",
    "tensor.cpu",
]  # fmt: skip


@pytest.fixture
def rec(monkeypatch: pytest.MonkeyPatch) -> trt_fake.Recorder:
    return trt_fake.install(monkeypatch)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_onnx(tmp_path_factory.mktemp("trt") / "tiny.onnx")


def _plan(tiny: Path, tmp_path: Path, **kw: Any) -> Path:
    from zoobench.runtimes.tensorrt import build_plan

    plan = tmp_path / "tiny.plan"
    build_plan(str(tiny), str(plan), input_size=TINY_PP.input_size, **kw)
    return plan


def _ort(tiny: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    return ort.InferenceSession(str(tiny), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]


def test_build_parses_sets_the_profile_and_writes_the_serialized_plan(
    rec: trt_fake.Recorder, tiny: Path, tmp_path: Path
) -> None:
    plan = _plan(tiny, tmp_path, precision="fp16", max_batch=8, opt_batch=4)
    assert rec.names() == [*BUILD[:6], "config.set_flag", *BUILD[6:]]
    assert rec.args("Logger") == [("Logger.WARNING",)]
    (logger,) = rec.args("Builder")[0]
    assert rec.args("builder.create_network") == [(0,)]  # explicit batch: TensorRT 10's only mode
    ((network, parser_logger),) = rec.args("OnnxParser")
    assert parser_logger is logger and rec.args("parser.parse_from_file") == [(str(tiny),)]
    assert rec.args("config.set_flag") == [("FP16",)] and rec.args("network.get_input") == [(0,)]
    assert rec.args("profile.set_shape") == [("image", (1, 3, 32, 32), (4, 3, 32, 32), (8, 3, 32, 32))]
    ((built_net, config),) = rec.args("builder.build_serialized_network")
    assert built_net is network and config.profiles == [rec.args("config.add_optimization_profile")[0][0]]
    assert plan.read_bytes().startswith(trt_fake.PLAN_MAGIC)  # what the builder serialized, written whole


@pytest.mark.parametrize(
    ("precision", "calibrator", "flags", "calibrated"),
    [("fp32", None, [], False), ("bf16", None, ["BF16"], False), ("int8", None, ["INT8"], False),
     ("int8", "a calibrator", ["INT8"], True)],
)  # fmt: skip
def test_each_precision_sets_its_builder_flag(
    rec: trt_fake.Recorder, tiny: Path, tmp_path: Path, precision: str, calibrator: Any, flags: list, calibrated: bool
) -> None:
    _plan(tiny, tmp_path, precision=precision, calibrator=calibrator)
    assert [a for (a,) in rec.args("config.set_flag")] == flags
    assert rec.args("config.int8_calibrator") == ([(calibrator,)] if calibrated else [])
    assert rec.args("profile.set_shape")[0][3] == (64, 3, 32, 32)  # the default max batch


def test_load_run_release_in_order_with_the_buffers_it_reads_back(
    rec: trt_fake.Recorder, tiny: Path, tmp_path: Path
) -> None:
    plan = _plan(tiny, tmp_path, max_batch=4, opt_batch=2)
    rec.calls.clear()
    sess = load_session(str(plan))  # a .plan runs on tensorrt; the default device "cpu" means cuda:0
    assert rec.names() == LOAD
    assert rec.args("runtime.deserialize_cuda_engine") == [(plan.stat().st_size,)]
    assert rec.args("cuda.Stream") == [("cuda:0",)]
    assert (sess.input_name, sess.output_name, sess.input_shape) == ("image", "class", (-1, 3, 32, 32))
    assert sess.input_dtype == np.float32 and sess.in_flight() is None and sess.concurrent_runs() == 1
    assert sess.info() == RuntimeInfo("tensorrt", "cuda:0", "fp32", None, "10.0.0-fake")

    x = np.random.default_rng(0).standard_normal((3, 3, 32, 32), dtype=np.float32)
    rec.calls.clear()
    y = sess.run(x)
    assert rec.names() == RUN
    assert rec.args("tensor.to") == [("cuda:0", "float32", (3, 3, 32, 32))]
    assert rec.args("context.set_input_shape") == [("image", (3, 3, 32, 32))]
    assert rec.args("context.get_tensor_shape") == [("class",)]
    assert rec.args("torch.empty") == [((3, 1000), "float32", "cuda:0")]
    (name_in, addr_in), (name_out, addr_out) = rec.args("context.set_tensor_address")
    assert (name_in, name_out) == ("image", "class") and addr_in != addr_out
    assert rec.args("context.execute_async_v3") == [(trt_fake._Stream.HANDLE,)]  # the session's own stream
    assert rec.args("tensor.cpu") == [("cuda:0", (3, 1000))]  # read back after the stream synchronized
    np.testing.assert_array_equal(y, _ort(tiny, x))  # the output buffer it gave is the one it read back

    rec.calls.clear()
    sess.release()
    # the context goes before the engine it came from; the cache is emptied once nothing holds device memory
    assert rec.names() == ["context freed", "engine freed", "stream freed", "cuda.empty_cache"]
    sess.release()
    assert rec.names().count("cuda.empty_cache") == 1  # a second release does nothing
    with pytest.raises(ZoobenchError, match="released"):
        sess.run(x)


def test_run_refuses_what_the_plan_cannot_take(rec: trt_fake.Recorder, tiny: Path, tmp_path: Path) -> None:
    sess = load_session(str(_plan(tiny, tmp_path, max_batch=4)), "tensorrt", device="cuda:1")
    assert rec.args("cuda.Stream") == [("cuda:1",)]
    with pytest.raises(DataError, match="uint8"):
        sess.run(np.zeros((1, 3, 32, 32), np.uint8))
    with pytest.raises(ZoobenchError, match=r"profile.*batch of 5.*--batch-size 5"):
        sess.run(np.zeros((5, 3, 32, 32), np.float32))
    rec.fail.add("execute")
    with pytest.raises(ZoobenchError, match="execute_async_v3"):
        sess.run(np.zeros((2, 3, 32, 32), np.float32))


@pytest.mark.parametrize(("fail", "tokens"), [("parse", ["could not parse", "In node 3 (Conv)", "no output"]),
                                              ("build", ["failed to build"])])  # fmt: skip
def test_a_failed_parse_or_build_names_the_file_and_writes_nothing(
    rec: trt_fake.Recorder, tiny: Path, tmp_path: Path, fail: str, tokens: list[str]
) -> None:
    rec.fail.add(fail)
    with pytest.raises(ZoobenchError) as err:
        _plan(tiny, tmp_path)
    assert all(t in str(err.value) for t in [*tokens, str(tiny)])
    assert not (tmp_path / "tiny.plan").exists()


def test_a_plan_that_does_not_deserialize_and_an_onnx_are_refused(
    rec: trt_fake.Recorder, tiny: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "other-gpu.plan"
    bad.write_bytes(b"a plan for another GPU")
    with pytest.raises(ZoobenchError, match=r"could not deserialize .*other-gpu\.plan"):
        load_session(str(bad))
    with pytest.raises(ZoobenchError, match=r"runs a plan.*compile"):
        load_session(str(tiny), "tensorrt")


def test_without_tensorrt_or_a_gpu_it_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from zoobench.runtimes import tensorrt

    plan = tmp_path / "m.plan"
    plan.write_bytes(b"plan")
    trt_fake.install(monkeypatch, tensorrt=False)
    with pytest.raises(RuntimeUnavailableError, match="pip install tensorrt"):
        load_session(str(plan))
    assert "not installed" in str(tensorrt.supports("fp32"))
    rec = trt_fake.install(monkeypatch)
    rec.cuda_available = False
    with pytest.raises(RuntimeUnavailableError, match=r"NVIDIA GPU.*is_available\(\) is False"):
        load_session(str(plan))
    assert "NVIDIA GPU" in str(tensorrt.supports("fp16", "cuda"))
    assert tensorrt.describe() == {
        "available": False, "version": "10.0.0-fake", "devices": [], "precisions": [], "reason": "no CUDA device",
    }  # fmt: skip


def test_supports_describe_and_tunables_with_a_gpu(rec: trt_fake.Recorder) -> None:
    from zoobench.runtimes import tensorrt

    rec.device_count = 2
    assert tensorrt.supports("int8", "cuda:1") is None
    assert "fp8" in str(tensorrt.supports("fp8")) and "cuda[:N]" in str(tensorrt.supports("fp32", "cpu"))
    assert tensorrt.describe() == {
        "available": True, "version": "10.0.0-fake", "devices": ["cuda:0", "cuda:1"],
        "precisions": ["fp32", "fp16", "bf16", "int8"],
    }  # fmt: skip
    from zoobench.runtimes.base import Candidate

    assert tensorrt.tunables(8, "fp16", deep=True) == [Candidate()]  # a plan's kernels are chosen when it is built
    assert tensorrt.beside_decoders() == {} and tensorrt.server_streams(8) == {}  # GPU work: no CPU-side options


def test_compile_int8_uint8_builds_from_the_qdq_uint8_onnx_and_checks_agreement(
    rec: trt_fake.Recorder, tiny: Path, tmp_path: Path
) -> None:
    """compile_artifact: int8 quantizes the float core (QDQ, by ONNX Runtime), prepends the uint8 normalization, builds
    with the INT8 flag and no calibrator; compile then runs the plan (load, run, release) for the agreement."""
    from zoobench.compile import compile_engine

    folder = tmp_path / "calib"
    write_jpegs(folder, 6)
    eng = compile_engine(str(tiny), runtime="tensorrt", precision="int8", calibration=str(folder),
                         input_dtype="uint8", batch_size=4, output=str(tmp_path / "t.plan"))  # fmt: skip
    (net, config) = rec.args("builder.build_serialized_network")[0]
    assert net.ops[:3] == ["Cast", "Mul", "Add"] and "QuantizeLinear" in net.ops  # uint8 prefix on the QDQ core
    assert [t.dtype for t in net.inputs] == ["UINT8"] and config.flags == ["INT8"]
    assert not rec.args("config.int8_calibrator")  # explicit quantization: the QDQ nodes carry the scales
    assert rec.args("profile.set_shape") == [("image", (1, 3, 32, 32), (4, 3, 32, 32), (4, 3, 32, 32))]
    assert (eng.runtime, eng.precision, eng.input_dtype) == ("tensorrt", "int8", "uint8")
    # the agreement ran the plan: uint8 crops in, in batches the profile takes
    assert eng.metadata["agreement"]["count"] == 6
    assert {a[1] for a in rec.args("tensor.to")} == {"uint8"} and max(a[2][0] for a in rec.args("tensor.to")) <= 4
    assert rec.names().index("builder.build_serialized_network") < rec.names().index("runtime.deserialize_cuda_engine")


def test_compile_fp32_keeps_the_batch_dynamic_up_to_64(rec: trt_fake.Recorder, tiny: Path, tmp_path: Path) -> None:
    from zoobench.compile import compile_engine

    eng = compile_engine(str(tiny), runtime="tensorrt", output=str(tmp_path / "f.plan"))
    assert rec.args("profile.set_shape") == [("image", (1, 3, 32, 32), (64, 3, 32, 32), (64, 3, 32, 32))]
    assert not rec.args("config.set_flag") and rec.args("parser.parse_from_file") == [(str(tiny),)]
    assert (eng.runtime, eng.precision, eng.input_dtype) == ("tensorrt", "fp32", "float32")
    assert "runtime.deserialize_cuda_engine" not in rec.names()  # fp32 is the reference: nothing to compare


def test_a_static_batch_plan_at_batch_8_pads_the_last_of_61_rows_and_drops_the_padding(
    rec: trt_fake.Recorder, tiny: Path, tmp_path: Path
) -> None:
    """A plan whose network takes exactly 8 rows (built from an ONNX with a fixed batch): the batch runner runs
    every batch at 8, the last of 61 rows (7 × 8 + 5) padded with zero rows whose results are dropped."""
    import onnx

    from zoobench.artifact import load_engine
    from zoobench.infer.batch import BatchRunner, static_batch

    model = onnx.load(str(tiny))
    for t in (*model.graph.input, *model.graph.output):
        t.type.tensor_type.shape.dim[0].dim_value = 8  # was the symbolic batch
    fixed = tmp_path / "b8.onnx"
    onnx.save(model, str(fixed))
    plan = _plan(fixed, tmp_path, max_batch=8, opt_batch=8)
    sess = load_session(str(plan))
    assert sess.input_shape == (8, 3, 32, 32) and static_batch(sess) == 8
    rec.calls.clear()
    runner = BatchRunner(load_engine(str(tiny)), sess, 8)
    rows = np.random.default_rng(1).standard_normal((61, 3, 32, 32), dtype=np.float32)
    outs = [runner.run(rows[s : s + 8]) for s in range(0, 61, 8)]
    assert [len(o.logits) for o in outs] == [8] * 7 + [5]  # the padded rows' results dropped
    assert {shape for _name, shape in rec.args("context.set_input_shape")} == {(8, 3, 32, 32)}  # warm-up too
    assert len(rec.args("context.execute_async_v3")) >= 8
    np.testing.assert_allclose(np.concatenate([o.logits for o in outs]), _ort(tiny, rows), rtol=1e-5, atol=1e-5)
    sess.release()
