"""Stand-ins for ``tensorrt`` and for the torch CUDA calls ``zoobench.runtimes.tensorrt`` makes, recording every call.

What they prove: the order and the arguments of the calls the TensorRT session makes (parse, flags, profile,
serialize, deserialize, tensor names and modes, shapes, buffer addresses, the stream, release), and that the
session hands the engine the addresses of the very buffers it reads back. What they do not prove: anything about
a GPU's results. The "GPU" here is host memory, and the "engine" runs the ONNX file its plan was built from with
ONNX Runtime on the CPU (reading its input from, and writing its output to, the addresses it was given), so the
logits are ONNX Runtime's. A real TensorRT build, its kernels and its numbers are checked only on a machine with
an NVIDIA GPU.

Install both with :func:`install` (``monkeypatch`` puts them in ``sys.modules`` and takes them out again).
"""

from __future__ import annotations

import base64
import ctypes
import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

PLAN_MAGIC = b"FAKE-TRT-PLAN\n"


@dataclass
class Recorder:
    """Every call the session made, in order: ``(name, args)``; and what the fakes were told to do wrong."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    cuda_available: bool = True
    device_count: int = 1
    fail: set[str] = field(default_factory=set)  # "parse", "build", "deserialize", "execute"

    def __call__(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]

    def args(self, name: str) -> list[tuple[Any, ...]]:
        return [a for n, a in self.calls if n == name]


# --- tensorrt --------------------------------------------------------------------------------------------------


@dataclass
class _Tensor:
    name: str
    shape: tuple[int, ...]  # -1 for the dynamic batch
    dtype: str  # "FLOAT" / "UINT8"


class _Network:
    def __init__(self, rec: Recorder) -> None:
        self.rec, self.onnx = rec, ""
        self.inputs: list[_Tensor] = []
        self.outputs: list[_Tensor] = []
        self.ops: list[str] = []

    def get_input(self, i: int) -> _Tensor:
        self.rec("network.get_input", i)
        return self.inputs[i]


class _Parser:
    def __init__(self, rec: Recorder, network: _Network, logger: Any) -> None:
        rec("OnnxParser", network, logger)
        self.rec, self.network, self.errors = rec, network, []  # type: ignore[var-annotated]

    def parse_from_file(self, path: str) -> bool:
        import onnx

        self.rec("parser.parse_from_file", path)
        if "parse" in self.rec.fail:
            self.errors = ["In node 3 (Conv): unsupported attribute", "graph has no output"]
            return False
        g = onnx.load(path).graph
        inits = {t.name for t in g.initializer}

        def tensor(v: Any) -> _Tensor:
            t = v.type.tensor_type
            shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim)
            return _Tensor(v.name, shape, "UINT8" if t.elem_type == 2 else "FLOAT")

        self.network.onnx = base64.b64encode(Path(path).read_bytes()).decode()  # a plan stands alone, as a real one
        self.network.inputs = [tensor(v) for v in g.input if v.name not in inits]
        self.network.outputs = [tensor(v) for v in g.output]
        self.network.ops = [n.op_type for n in g.node]
        return True

    @property
    def num_errors(self) -> int:
        return len(self.errors)

    def get_error(self, i: int) -> str:
        return str(self.errors[i])


class _Profile:
    def __init__(self, rec: Recorder) -> None:
        self.rec, self.shapes = rec, {}  # type: ignore[var-annotated]

    def set_shape(self, name: str, lo: tuple[int, ...], opt: tuple[int, ...], hi: tuple[int, ...]) -> None:
        self.rec("profile.set_shape", name, lo, opt, hi)
        self.shapes[name] = (lo, opt, hi)


class _Config:
    def __init__(self, rec: Recorder) -> None:
        self.rec, self.flags, self.profiles = rec, [], []  # type: ignore[var-annotated]
        self._calibrator: Any = None

    def set_flag(self, flag: str) -> None:
        self.rec("config.set_flag", flag)
        self.flags.append(flag)

    def add_optimization_profile(self, profile: _Profile) -> int:
        self.rec("config.add_optimization_profile", profile)
        self.profiles.append(profile)
        return len(self.profiles) - 1

    @property
    def int8_calibrator(self) -> Any:
        return self._calibrator

    @int8_calibrator.setter
    def int8_calibrator(self, value: Any) -> None:
        self.rec("config.int8_calibrator", value)
        self._calibrator = value


class _Builder:
    def __init__(self, rec: Recorder, logger: Any) -> None:
        rec("Builder", logger)
        self.rec = rec

    def create_network(self, flags: int) -> _Network:
        self.rec("builder.create_network", flags)
        return _Network(self.rec)

    def create_builder_config(self) -> _Config:
        self.rec("builder.create_builder_config")
        return _Config(self.rec)

    def create_optimization_profile(self) -> _Profile:
        self.rec("builder.create_optimization_profile")
        return _Profile(self.rec)

    def build_serialized_network(self, network: _Network, config: _Config) -> bytes | None:
        self.rec("builder.build_serialized_network", network, config)
        if "build" in self.rec.fail:
            return None
        (profile,) = config.profiles  # the session's plans have exactly one profile
        plan = {
            "onnx": network.onnx,
            "flags": config.flags,
            "ops": network.ops,
            "io": [[t.name, list(t.shape), t.dtype, "INPUT"] for t in network.inputs]
            + [[t.name, list(t.shape), t.dtype, "OUTPUT"] for t in network.outputs],
            "profile": {k: [list(s) for s in v] for k, v in profile.shapes.items()},
        }
        return PLAN_MAGIC + json.dumps(plan).encode()


class _Context:
    def __init__(self, rec: Recorder, engine: _Engine) -> None:
        self.rec, self.engine, self.shapes, self.addresses = rec, engine, {}, {}  # type: ignore[var-annotated]

    def __del__(self) -> None:
        self.rec("context freed")

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        self.rec("context.set_input_shape", name, shape)
        lo, _opt, hi = self.engine.plan["profile"][name]
        if not all(a <= s <= b for a, s, b in zip(lo, shape, hi)):
            return False
        self.shapes[name] = tuple(shape)
        return True

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        self.rec("context.get_tensor_shape", name)
        (batch, *_rest) = next(iter(self.shapes.values()))
        return tuple(batch if d == -1 else d for d in self.engine.io[name][0])

    def set_tensor_address(self, name: str, address: int) -> bool:
        self.rec("context.set_tensor_address", name, address)
        self.addresses[name] = address
        return True

    def execute_async_v3(self, stream: int) -> bool:
        """Read the input from its address, run the plan's ONNX with ONNX Runtime, write the output to its address."""
        import onnxruntime as ort

        self.rec("context.execute_async_v3", stream)
        if "execute" in self.rec.fail:
            return False
        (inp,) = self.shapes
        dtype = np.uint8 if self.engine.io[inp][1] == "UINT8" else np.float32
        x = _array_at(self.addresses[inp], self.shapes[inp], dtype).copy()
        sess = ort.InferenceSession(base64.b64decode(self.engine.plan["onnx"]), providers=["CPUExecutionProvider"])
        (y,) = sess.run(None, {inp: x})
        out = next(n for n, (_s, _d, mode) in self.engine.io.items() if mode == "OUTPUT")
        _array_at(self.addresses[out], y.shape, np.float32)[...] = y
        return True


def _array_at(address: int, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """The array of ``shape`` and ``dtype`` at a raw address (the fake "device" memory is host memory)."""
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buf = (ctypes.c_char * n).from_address(address)
    return np.frombuffer(buf, dtype=dtype).reshape(shape)


class _Engine:
    def __init__(self, rec: Recorder, plan: dict[str, Any]) -> None:
        self.rec, self.plan = rec, plan
        self.io = {name: (tuple(shape), dtype, mode) for name, shape, dtype, mode in plan["io"]}

    def __del__(self) -> None:
        self.rec("engine freed")

    @property
    def num_io_tensors(self) -> int:
        return len(self.io)

    def get_tensor_name(self, i: int) -> str:
        return list(self.io)[i]

    def get_tensor_mode(self, name: str) -> str:
        return self.io[name][2]

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return self.io[name][0]

    def get_tensor_dtype(self, name: str) -> str:
        self.rec("engine.get_tensor_dtype", name)
        return self.io[name][1]

    def create_execution_context(self) -> _Context:
        self.rec("engine.create_execution_context")
        return _Context(self.rec, self)


class _Runtime:
    def __init__(self, rec: Recorder, logger: Any) -> None:
        rec("Runtime", logger)
        self.rec = rec

    def deserialize_cuda_engine(self, data: bytes) -> _Engine | None:
        self.rec("runtime.deserialize_cuda_engine", len(data))
        if "deserialize" in self.rec.fail or not data.startswith(PLAN_MAGIC):
            return None
        return _Engine(self.rec, json.loads(data[len(PLAN_MAGIC) :]))


def fake_tensorrt(rec: Recorder) -> types.ModuleType:
    """A ``tensorrt`` module with the names the session uses (TensorRT 10's API), each call recorded."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = "10.0.0-fake"  # type: ignore[attr-defined]

    class Logger:
        WARNING = "Logger.WARNING"

        def __init__(self, severity: str) -> None:
            rec("Logger", severity)
            self.severity = severity

    trt.Logger = Logger  # type: ignore[attr-defined]
    trt.Builder = lambda logger: _Builder(rec, logger)  # type: ignore[attr-defined]
    trt.OnnxParser = lambda network, logger: _Parser(rec, network, logger)  # type: ignore[attr-defined]
    trt.Runtime = lambda logger: _Runtime(rec, logger)  # type: ignore[attr-defined]
    trt.BuilderFlag = types.SimpleNamespace(FP16="FP16", BF16="BF16", INT8="INT8")  # type: ignore[attr-defined]
    trt.TensorIOMode = types.SimpleNamespace(INPUT="INPUT", OUTPUT="OUTPUT")  # type: ignore[attr-defined]
    trt.DataType = types.SimpleNamespace(FLOAT="FLOAT", UINT8="UINT8")  # type: ignore[attr-defined]
    return trt


# --- torch's CUDA calls ----------------------------------------------------------------------------------------


class _DeviceTensor:
    """A tensor "on the GPU": host memory whose address the engine is given."""

    def __init__(self, rec: Recorder, array: np.ndarray, device: str) -> None:
        self.rec, self.array, self.device = rec, array, device

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    def to(self, device: str) -> _DeviceTensor:
        self.rec("tensor.to", str(device), self.array.dtype.name, self.shape)
        return _DeviceTensor(self.rec, self.array.copy(), str(device))  # host → "device": a copy, as cudaMemcpy

    def data_ptr(self) -> int:
        return int(self.array.ctypes.data)

    def cpu(self) -> _DeviceTensor:
        self.rec("tensor.cpu", self.device, self.shape)
        return _DeviceTensor(self.rec, self.array.copy(), "cpu")

    def numpy(self) -> np.ndarray:
        return self.array


class _Stream:
    HANDLE = 0x5EED  # what a real stream's ``cuda_stream`` is: the cudaStream_t, as an int

    def __init__(self, rec: Recorder, device: Any) -> None:
        rec("cuda.Stream", str(device))
        self.rec, self.cuda_stream = rec, self.HANDLE

    def __del__(self) -> None:
        self.rec("stream freed")

    def synchronize(self) -> None:
        self.rec("stream.synchronize")


def fake_torch(rec: Recorder, real: Any) -> types.ModuleType:
    """``torch`` with the calls the session makes answered here (CUDA present, tensors in host memory standing in
    for device memory); any other attribute is the real torch's (``real``), so other code keeps working."""
    torch = types.ModuleType("torch")
    torch.__getattr__ = lambda name: getattr(real, name)  # type: ignore[method-assign]
    torch.real_torch = real  # type: ignore[attr-defined]
    torch.float32 = np.float32  # type: ignore[attr-defined]
    torch.device = lambda spec: str(spec)  # type: ignore[attr-defined]

    def from_numpy(a: np.ndarray) -> _DeviceTensor:
        rec("torch.from_numpy", a.dtype.name, a.shape)
        return _DeviceTensor(rec, a, "cpu")

    def empty(shape: tuple[int, ...], *, dtype: Any, device: str) -> _DeviceTensor:
        rec("torch.empty", tuple(shape), np.dtype(dtype).name, str(device))
        return _DeviceTensor(rec, np.full(shape, np.nan, dtype=dtype), str(device))  # never read before written

    def empty_cache() -> None:
        rec("cuda.empty_cache")

    torch.from_numpy = from_numpy  # type: ignore[attr-defined]
    torch.empty = empty  # type: ignore[attr-defined]
    torch.cuda = types.SimpleNamespace(  # type: ignore[attr-defined]
        is_available=lambda: rec.cuda_available,
        device_count=lambda: rec.device_count if rec.cuda_available else 0,
        Stream=lambda device: _Stream(rec, device),
        empty_cache=empty_cache,
    )
    return torch


def install(monkeypatch: pytest.MonkeyPatch, *, tensorrt: bool = True) -> Recorder:
    """Put the fakes in ``sys.modules`` for one test (``tensorrt=False``: as if TensorRT were not installed)."""
    rec = Recorder()
    monkeypatch.setitem(sys.modules, "tensorrt", fake_tensorrt(rec) if tensorrt else None)
    current = sys.modules.get("torch") or _real_torch()
    real = current.__dict__.get("real_torch", current) if current is not None else None  # a fake's real torch
    monkeypatch.setitem(sys.modules, "torch", fake_torch(rec, real))
    return rec


def _real_torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch
