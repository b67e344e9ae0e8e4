"""TensorRT (NVIDIA GPU): a serialized plan built from ONNX; buffers are torch CUDA tensors.

Not run on a GPU yet: CI has none. tests/runtimes/test_tensorrt_fake.py runs build, load, run and release
against stand-ins for ``tensorrt`` and torch's CUDA calls, which proves the calls' order and arguments, not
what a GPU computes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.errors import RuntimeUnavailableError, ZoobenchError
from zoobench.runtimes.base import Candidate, InFlight, LoadOptions, RuntimeDescription, RuntimeInfo
from zoobench.uint8_input import check_batch_dtype


def _require_gpu() -> Any:
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise RuntimeUnavailableError(f"tensorrt is not installed ({exc}); run: pip install tensorrt") from exc
    import torch

    if not torch.cuda.is_available():
        raise RuntimeUnavailableError("tensorrt needs an NVIDIA GPU; torch.cuda.is_available() is False here")
    return trt


def build_plan(
    onnx_path: str,
    plan_path: str,
    *,
    precision: str = "fp32",
    max_batch: int = 64,
    opt_batch: int = 16,
    input_size: tuple[int, int, int] = (3, 224, 224),
    calibrator: Any = None,
) -> None:
    """Parse ``onnx_path``, build an engine with a dynamic batch profile, write the serialized plan."""
    trt = _require_gpu()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT >= 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ZoobenchError(f"tensorrt could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    elif precision == "bf16":
        config.set_flag(trt.BuilderFlag.BF16)
    elif precision == "int8":
        # zoobench builds int8 from a QDQ ONNX (explicit quantization, calibrated on images by onnxruntime);
        # an implicit-quantization calibrator is used only when one is given
        config.set_flag(trt.BuilderFlag.INT8)
        if calibrator is not None:
            config.int8_calibrator = calibrator
    inp = network.get_input(0)
    profile = builder.create_optimization_profile()
    c, h, w = input_size
    profile.set_shape(inp.name, (1, c, h, w), (opt_batch, c, h, w), (max_batch, c, h, w))
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise ZoobenchError(f"tensorrt failed to build an engine from {onnx_path}")
    from zoobench.io import write_bytes

    write_bytes(plan_path, bytes(plan))


class TrtSession:
    """A deserialized TensorRT engine run with ``execute_async_v3`` on a torch CUDA stream."""

    def __init__(
        self,
        model_path: str,
        *,
        device: str = "cuda:0",
        precision: str = "fp32",
        threads: int | None = None,
        **options: Any,
    ) -> None:
        trt = _require_gpu()
        import torch

        if device == "cpu":
            device = "cuda:0"
        if Path(model_path).suffix.lower() == ".onnx":
            raise ZoobenchError("tensorrt runs a plan: `zoobench compile MODEL.onnx --runtime tensorrt` first")
        self._torch = torch
        self._device = torch.device(device)
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self._engine = runtime.deserialize_cuda_engine(Path(model_path).read_bytes())
        if self._engine is None:
            raise ZoobenchError(f"tensorrt could not deserialize {model_path} (built for another GPU or version?)")
        self._context = self._engine.create_execution_context()
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        inputs = [n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        self.input_name, self.output_name = inputs[0], outputs[0]
        self.input_shape: tuple[int | str, ...] = tuple(self._engine.get_tensor_shape(self.input_name))
        # a plan built from a uint8 ONNX (compile --input uint8) takes the uint8 crop and normalizes on the GPU
        u8 = self._engine.get_tensor_dtype(self.input_name) == trt.DataType.UINT8
        self.input_dtype = np.dtype(np.uint8 if u8 else np.float32)
        self._stream: Any = torch.cuda.Stream(device=self._device)
        self._precision = precision
        self._version = trt.__version__

    def run(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        if self._context is None:
            raise ZoobenchError("tensorrt: this session was released")
        check_batch_dtype(batch, self.input_dtype, "tensorrt")
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=self.input_dtype)).to(self._device)
        if not self._context.set_input_shape(self.input_name, tuple(x.shape)):
            raise ZoobenchError(
                f"tensorrt: this plan's optimization profile does not take a batch of {len(batch)}; compile it "
                f"with --batch-size {len(batch)} or more"
            )
        out_shape = tuple(self._context.get_tensor_shape(self.output_name))
        y = torch.empty(out_shape, dtype=torch.float32, device=self._device)
        self._context.set_tensor_address(self.input_name, x.data_ptr())
        self._context.set_tensor_address(self.output_name, y.data_ptr())
        if not self._context.execute_async_v3(self._stream.cuda_stream):
            raise ZoobenchError("tensorrt execute_async_v3 failed")
        self._stream.synchronize()
        return y.cpu().numpy()

    def info(self) -> RuntimeInfo:
        return RuntimeInfo("tensorrt", str(self._device), self._precision, None, self._version)

    def in_flight(self) -> InFlight | None:
        return None

    def concurrent_runs(self) -> int:
        return 1

    def release(self) -> None:
        if self._context is None:
            return
        self._context = self._engine = self._stream = None  # the context before the engine it came from
        self._torch.cuda.empty_cache()


def compile_artifact(
    core: Any, out: Path, precision: str, calib: Any, batch_size: int | None, meta: dict[str, Any]
) -> None:
    """UNVERIFIED (no GPU here): int8 builds from a QDQ ONNX quantized by onnxruntime (explicit quantization);
    a uint8 plan is built from the uint8 ONNX (the normalization runs on the GPU)."""
    from zoobench.quantize import quantize_core
    from zoobench.uint8_input import with_uint8_input

    onnx_path = core.path
    with tempfile.TemporaryDirectory(prefix="zoobench-compile-") as tmp:
        if precision == "int8":
            onnx_path = str(Path(tmp) / "qdq.onnx")
            quantize_core(core, onnx_path, calib)
        if meta["input_dtype"] == "uint8":
            onnx_path = with_uint8_input(onnx_path, str(Path(tmp) / "u8.onnx"), core)
        bs = batch_size or 64
        build_plan(
            onnx_path,
            str(out),
            precision=precision,
            max_batch=bs,
            opt_batch=bs,
            input_size=core.preprocess.input_size,
        )


COMPILED_PRECISIONS = frozenset({"fp32", "fp16", "bf16", "int8"})  # a plan is always built


def supports(precision: str, device: str = "cuda") -> str | None:
    """None when TensorRT can build and run ``precision`` here: installed, and an NVIDIA GPU present."""
    if precision not in COMPILED_PRECISIONS:
        return f"tensorrt precision must be one of {', '.join(sorted(COMPILED_PRECISIONS))}, got {precision!r}"
    if device.split(":")[0] != "cuda":
        return f"tensorrt runs on cuda[:N], got {device!r}"
    try:
        _require_gpu()
    except RuntimeUnavailableError as exc:
        return str(exc)
    return None


def load(model_path: str, **kw: Any) -> TrtSession:
    return TrtSession(model_path, **kw)


def describe() -> RuntimeDescription:
    """Availability of TensorRT: installed *and* a CUDA device present."""
    import tensorrt as trt
    import torch

    gpus = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    out: RuntimeDescription = {
        "available": bool(gpus),
        "version": trt.__version__,
        "devices": gpus,
        "precisions": ["fp32", "fp16", "bf16", "int8"] if gpus else [],
    }
    if not gpus:
        out["reason"] = "no CUDA device"
    return out


def tunables(cores: int, precision: str = "fp32", deep: bool = False) -> list[Candidate]:
    """Nothing to search at load time: a plan's kernels are chosen when it is built (the builder optimization
    level is a `compile --runtime tensorrt` setting), so ``tune`` times the plan as it is."""
    del cores, precision, deep
    return [Candidate()]


def beside_decoders() -> LoadOptions:
    """Nothing: the plan runs on the GPU, not on the decoders' cores."""
    return {}


def server_streams(cores: int) -> LoadOptions:
    """None declared: one session on the GPU."""
    del cores
    return {}


PERF_OPTIONS: LoadOptions = {}  # the plan as it was built
