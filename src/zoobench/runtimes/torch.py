"""PyTorch eager: the reference, rebuilt from the model spec + weights (or an ONNX file's metadata: the weights of
its sha256 that this process resolved, else the files its metadata names)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.errors import RuntimeUnavailableError, ZoobenchError
from zoobench.runtimes.base import Candidate, InFlight, LoadOptions, RuntimeDescription, RuntimeInfo
from zoobench.uint8_input import check_batch_dtype

_NATIVE_BF16_FLAGS = {"avx512_bf16", "amx_bf16"}


def _build(model_path: str) -> tuple[Any, str, dict[str, Any]]:
    """The eval-mode module named by ``model_path``: a model name, or an ONNX file with zoobench metadata."""
    from zoobench.models import get_spec
    from zoobench.models.weights import build_model, known

    if Path(model_path).is_file():
        from zoobench.artifact import load_engine

        meta = load_engine(model_path).metadata
        if "model" not in meta or "weights" not in meta:
            raise ZoobenchError(f"{model_path} records no zoobench model/weights; torch cannot rebuild it")
        name = str(meta["model"])
        w = meta["weights"]
        weights = "random" if w.get("random") else ",".join(f["path"] for f in w.get("files", []))
        given = None if w.get("random") else known(tuple(f["sha256"] for f in w.get("files", [])))
    else:
        name, weights, meta, given = model_path, "random", {}, None
    # the weights the engine build resolved (by sha256, wherever they are now); else the paths the metadata names
    module, resolved = build_model(get_spec(name), None if given else weights or None, given)
    extra = {"weights": resolved.to_dict(), **({"source": model_path} if meta else {})}
    if meta.get("input_dtype") == "uint8":  # the ONNX normalizes inside: so does this session
        extra.update(input_dtype="uint8", preprocess=meta["preprocess"])
    return module, name, extra


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


def keep_freed_memory() -> str | None:
    """Have glibc's malloc keep freed memory for the next allocation instead of handing it back to the kernel.

    torch on the CPU has no caching allocator: each forward allocates its activations and frees them. glibc serves
    a block at or above its mmap threshold (128 KiB at start, raised to the largest mmapped block freed so far, at
    most 32 MiB) with its own mmap and unmaps it when freed, and trims the heap's free top, so the next forward
    faults every page in again: ~32,000 minor page faults (125 MiB zeroed by the kernel) per ResNet-50 batch of 8,
    about a tenth of its time, unless something freed earlier in the process happened to raise the threshold past
    the activations' size (a plain loop run after other work is then faster than the same loop in a fresh process).
    Served from the heap, never trimmed, they are reused as ONNX Runtime's and OpenVINO's own arenas reuse theirs;
    the process keeps its peak memory. Process-wide; glibc only.

    Returns:
        What was set (recorded in the session's info), or None where the C library is not glibc.
    """
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)
        ok = libc.mallopt(_M_MMAP_MAX, 0) == 1 and libc.mallopt(_M_TRIM_THRESHOLD, -1) == 1
    except (OSError, AttributeError):
        return None
    return "glibc: M_MMAP_MAX=0, M_TRIM_THRESHOLD=-1 (freed memory kept for reuse)" if ok else None


class TorchSession:
    """A torch ``nn.Module`` in eval mode under ``torch.inference_mode``.

    ``channels_last`` (the default) is the layout oneDNN and cuDNN convolutions are fastest in; timm's
    benchmark.py offers the same switch. Pass ``channels_last=False`` for the contiguous NCHW module. On the CPU,
    ``keep_memory`` (the default) has malloc keep the activations' memory between batches
    (:func:`keep_freed_memory`); ``keep_memory=False`` leaves malloc as it is.
    """

    def __init__(
        self,
        model_path: str,
        *,
        device: str = "cpu",
        precision: str = "fp32",
        threads: int | None = None,
        channels_last: bool = True,
        keep_memory: bool = True,
        **options: Any,
    ) -> None:
        import torch

        if device == "auto":
            device = "cuda:0" if torch.cuda.is_available() else "cpu"
        reason = supports(precision, device)
        if reason:
            raise RuntimeUnavailableError(reason)
        kind = device.split(":")[0]
        if threads:
            torch.set_num_threads(int(threads))
        self._malloc = keep_freed_memory() if keep_memory and kind == "cpu" else None
        module, self._name, self._extra = _build(model_path)
        self._dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
        self._device = torch.device(device)
        self._channels_last = channels_last
        module = module.to(self._device, dtype=self._dtype)
        if channels_last:
            module = module.to(memory_format=torch.channels_last)
        self._compile = options.get("compile") or None
        if self._compile not in (None, "default", "max-autotune"):
            raise ZoobenchError(f"torch compile mode must be default or max-autotune, got {self._compile!r}")
        self._compile_s = 0.0  # inductor compiles on the first call of each new shape: timed, recorded
        self._shapes: set[tuple[int, ...]] = set()
        if self._compile:
            module = torch.compile(module, mode=self._compile, dynamic=False)
        self._module = module
        self.input_name = "input"
        self.output_name = "output"
        self.input_shape: tuple[int | str, ...] = ("batch", 3, "height", "width")
        self._precision = precision
        self._threads = torch.get_num_threads() if kind == "cpu" else None
        self._version = torch.__version__
        self._torch = torch
        self.input_dtype: np.dtype[Any] = np.dtype(np.float32)
        self._scale_bias: tuple[Any, Any] | None = None
        if self._extra.get("input_dtype") == "uint8":
            from zoobench.models.spec import Preprocess
            from zoobench.uint8_input import scale_bias

            self.input_dtype = np.dtype(np.uint8)
            sb = scale_bias(Preprocess.from_dict(self._extra.pop("preprocess")))
            self._scale_bias = tuple(torch.from_numpy(v.reshape(1, 3, 1, 1)).to(self._device) for v in sb)  # type: ignore[assignment]

    def run(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        if self._module is None:
            raise ZoobenchError("torch: this session was released")
        check_batch_dtype(batch, self.input_dtype, "torch")
        x = torch.from_numpy(np.ascontiguousarray(batch)).to(self._device)
        if self._scale_bias is not None:
            x = x.float() * self._scale_bias[0] + self._scale_bias[1]
        x = x.to(dtype=self._dtype)
        if self._channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if self._threads and torch.get_num_threads() != self._threads:
            torch.set_num_threads(self._threads)  # process-wide: a session loaded with other threads changed it
        first = self._compile is not None and tuple(x.shape) not in self._shapes
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = self._module(x)
        result = out.float().cpu().numpy()  # .cpu() synchronises CUDA, so timings are whole
        if first:
            self._shapes.add(tuple(x.shape))
            self._compile_s += time.perf_counter() - t0
        return result

    def in_flight(self) -> InFlight | None:
        return None

    def concurrent_runs(self) -> int:
        return 1

    def release(self) -> None:
        held = self._module is not None
        self._module = self._scale_bias = None
        if held and self._device.type == "cuda":
            self._torch.cuda.empty_cache()  # the weights' device memory goes back now

    def info(self) -> RuntimeInfo:
        return RuntimeInfo(
            "torch",
            str(self._device),
            self._precision,
            self._threads,
            self._version,
            {
                "model": self._name,
                "channels_last": self._channels_last,
                "mode": f"torch.compile {self._compile}" if self._compile else "eager",
                **({"malloc": self._malloc} if self._malloc else {}),
                **({"compile_s": round(self._compile_s, 2)} if self._compile else {}),
                **self._extra,
            },
        )


def tunables(cores: int, precision: str = "fp32", deep: bool = False) -> list[Candidate]:
    """The load settings ``zoobench tune`` tries, the default (eager, channels_last) first: the layout,
    ``torch.compile`` (inductor's default mode; ``max-autotune`` only with ``deep``), and two streams."""
    del precision
    out = [Candidate(), Candidate.of(channels_last=False), Candidate.of(compile="default")]
    out.append(Candidate.of(compile="default", channels_last=False))
    if cores > 1:
        out.append(Candidate.of(2, max(1, cores // 2)))
    if deep:
        out.append(Candidate.of(compile="max-autotune"))
    return out


def beside_decoders() -> LoadOptions:
    """Nothing: torch's intra-op threads are set by ``threads`` alone."""
    return {}


def server_streams(cores: int) -> LoadOptions:
    """None declared: one session with perf's options."""
    del cores
    return {}


PERF_OPTIONS: LoadOptions = {}  # eager, channels_last: the session's defaults

COMPILED_PRECISIONS: frozenset[str] = frozenset()  # torch rebuilds the model named in the ONNX's metadata


def supports(precision: str, device: str = "cpu") -> str | None:
    """None when torch can run ``precision`` on ``device`` here; else why not."""
    import torch

    kind = device.split(":")[0]
    if kind not in ("cpu", "cuda", "auto"):
        return f"torch device must be cpu or cuda[:N], got {device!r}"
    if kind == "cuda" and not torch.cuda.is_available():
        return "torch has no CUDA device here"
    if precision == "int8":
        return "torch int8 is not supported by zoobench; use onnxruntime or openvino int8"
    if precision not in ("fp32", "fp16", "bf16"):
        return f"torch precision must be fp32, fp16 or bf16, got {precision!r}"
    on_cpu = kind == "cpu" or (kind == "auto" and not torch.cuda.is_available())
    if on_cpu and precision == "fp16":
        return "torch fp16 on CPU is not useful; use fp32 or bf16"
    if on_cpu and precision == "bf16":
        from zoobench.env import cpu_flags

        if not (cpu_flags() & _NATIVE_BF16_FLAGS):
            return "torch bf16: this CPU has no native bf16 (avx512_bf16 / amx_bf16)"
    return None


def load(model_path: str, **kw: Any) -> TorchSession:
    return TorchSession(model_path, **kw)


def describe() -> RuntimeDescription:
    """Availability, version, devices and precisions of PyTorch here."""
    import torch

    from zoobench.env import cpu_flags

    devices = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    precisions = ["fp32"] + (["bf16"] if cpu_flags() & _NATIVE_BF16_FLAGS else [])
    if torch.cuda.is_available():
        precisions = ["fp32", "fp16", "bf16"]
    return {
        "available": True,
        "version": torch.__version__,
        "devices": devices,
        "precisions": precisions,
        "threads": int(os.cpu_count() or 1),
    }
