"""ONNX Runtime: CPU by default; CUDA / TensorRT execution providers when onnxruntime-gpu is installed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.errors import RuntimeUnavailableError, ZoobenchError
from zoobench.runtimes.base import Candidate, InFlight, LoadOptions, RuntimeDescription, RuntimeInfo
from zoobench.uint8_input import check_batch_dtype

_PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}


class OrtSession:
    """One ``onnxruntime.InferenceSession``, loaded once."""

    def __init__(
        self,
        model_path: str,
        *,
        device: str = "cpu",
        precision: str = "fp32",
        threads: int | None = None,
        **options: Any,
    ) -> None:
        import onnxruntime as ort

        kind = device.split(":")[0]
        reason = supports(precision, device)
        if reason:
            raise RuntimeUnavailableError(reason)
        provider = _PROVIDERS[kind]
        so = _session_options(ort, threads, options)
        providers: list[Any] = [provider] if kind == "cpu" else [provider, "CPUExecutionProvider"]
        self._sess = ort.InferenceSession(model_path, sess_options=so, providers=providers)
        used = self._sess.get_providers()[0]
        if used != provider:  # ORT falls back to CPU without a word; we do not
            raise RuntimeUnavailableError(f"onnxruntime asked for {provider} but runs on {used}")
        inp = self._sess.get_inputs()[0]
        self.input_name: str = inp.name
        self.output_name: str = self._sess.get_outputs()[0].name
        self.input_shape: tuple[int | str, ...] = tuple(inp.shape)
        self.input_dtype = np.dtype(
            {"tensor(float16)": np.float16, "tensor(uint8)": np.uint8}.get(inp.type, np.float32)
        )
        self._device = "cpu" if kind == "cpu" else f"cuda:{device.split(':')[1] if ':' in device else 0}"
        self._precision = precision
        self._threads = threads or so.intra_op_num_threads or os.cpu_count()
        self._version = ort.__version__
        self._provider = used
        self._settings: dict[str, Any] = {
            k: options[k] for k in ("graph_opt", "execution_mode", "inter_threads") if k in options
        }

    def run(self, batch: np.ndarray) -> np.ndarray:
        if self._sess is None:
            raise ZoobenchError("onnxruntime: this session was released")
        check_batch_dtype(batch, self.input_dtype, "onnxruntime")
        if batch.dtype != self.input_dtype:  # float32 -> float16 for an fp16 graph
            batch = batch.astype(self.input_dtype)
        out = self._sess.run([self.output_name], {self.input_name: batch})[0]
        return np.asarray(out, dtype=np.float32)

    def info(self) -> RuntimeInfo:
        extra: dict[str, Any] = {"provider": self._provider, **self._settings}
        return RuntimeInfo("onnxruntime", self._device, self._precision, self._threads, self._version, extra)

    def in_flight(self) -> InFlight | None:
        return None  # one request at a time; perf runs several sessions side by side as streams instead

    def concurrent_runs(self) -> int:
        return 1  # intra-op threads use the cores; perf's parallel form is streams (sessions)

    def release(self) -> None:
        self._sess = None


_GRAPH_OPT = {"all": "ORT_ENABLE_ALL", "extended": "ORT_ENABLE_EXTENDED", "basic": "ORT_ENABLE_BASIC"}
_EXEC_MODE = {"sequential": "ORT_SEQUENTIAL", "parallel": "ORT_PARALLEL"}


def _session_options(ort: Any, threads: int | None, options: dict[str, Any]) -> Any:
    """SessionOptions from the load options ``tune`` searches (each absent one keeps ORT's default):
    ``graph_opt`` (all / extended / basic), ``execution_mode`` (sequential / parallel), ``inter_threads``,
    ``spin`` (intra-op threads spin while idle)."""
    so = ort.SessionOptions()
    level = options.get("graph_opt", "all")
    mode = options.get("execution_mode", "sequential")
    if level not in _GRAPH_OPT or mode not in _EXEC_MODE:
        raise ZoobenchError(f"onnxruntime: graph_opt {level!r} / execution_mode {mode!r} not known")
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, _GRAPH_OPT[level])
    so.execution_mode = getattr(ort.ExecutionMode, _EXEC_MODE[mode])
    if threads:
        so.intra_op_num_threads = threads
    if options.get("inter_threads"):
        so.inter_op_num_threads = int(options["inter_threads"])
    so.log_severity_level = 3
    if options.get("spin") is not None:
        # Idle intra-op threads spin by default; beside decode workers on the same cores that burns
        # the cycles the workers need.
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if options["spin"] else "0")
    return so


def beside_decoders() -> LoadOptions:
    """Beside decode processes on the same cores, idle intra-op threads do not spin (ORT's default spins them,
    burning the cycles the decoders need)."""
    return {"spin": False}


def server_streams(cores: int) -> LoadOptions:
    """The Server scenario's ``streams`` form without a tuned profile: one single-thread session per core, each
    serving one request at a time (a session runs one request at once; MLPerf's reference scheme)."""
    return {"streams": max(1, cores), "threads": 1}


def tunables(cores: int, precision: str = "fp32", deep: bool = False) -> list[Candidate]:
    """The load settings ``zoobench tune`` tries, the default first. ``streams``: that many sessions run side by
    side, each with ``threads`` intra-op threads (perf times them together)."""
    del precision, deep
    out = [Candidate(), Candidate.of(spin=False), Candidate.of(graph_opt="extended")]
    if cores > 1:
        out.append(Candidate.of(execution_mode="parallel", inter_threads=2))
    streams = 2
    while streams <= min(cores, 8):
        per = max(1, cores // streams)
        out += [Candidate.of(streams, per), Candidate.of(streams, per, spin=False)]
        streams *= 2
    if cores > 1:
        out.append(Candidate.of(cores, 1, graph_opt="extended"))
    return list({tuple(sorted(c.as_options().items())): c for c in out}.values())


PERF_OPTIONS: LoadOptions = {}  # perf loads ONNX Runtime with its defaults


# Precisions whose engine is a compiled artifact (a QDQ int8 ONNX); fp32 runs the exported ONNX as it is.
COMPILED_PRECISIONS = frozenset({"int8"})


def supports(precision: str, device: str = "cpu") -> str | None:
    """None when ONNX Runtime can run ``precision`` on ``device`` here; else why not (the one place it is said)."""
    import onnxruntime as ort

    kind = device.split(":")[0]
    if kind not in _PROVIDERS:
        return f"onnxruntime device must be one of {', '.join(_PROVIDERS)}, got {device!r}"
    provider = _PROVIDERS[kind]
    if provider not in ort.get_available_providers():
        return (
            f"onnxruntime has no {provider} here (available: {', '.join(ort.get_available_providers())}); "
            "for GPUs: pip uninstall onnxruntime && pip install onnxruntime-gpu"
        )
    if precision not in ("fp32", "fp16", "bf16", "int8"):
        return f"onnxruntime precision must be fp32, fp16, bf16 or int8, got {precision!r}"
    if kind == "cpu" and precision in ("fp16", "bf16"):
        return (
            f"onnxruntime {precision} on CPU is not useful (no fast {precision} kernels); use fp32 or int8, "
            "or OpenVINO for bf16"
        )
    return None


def compile_artifact(
    core: Any, out: Path, precision: str, calib: Any, batch_size: int | None, meta: dict[str, Any]
) -> None:
    """An ORT-optimized fp32 or QDQ int8 ONNX of the float ``core`` (uint8 input prepended when asked)."""
    del batch_size  # ONNX keeps its dynamic batch
    import onnx
    import onnxruntime as ort

    from zoobench.artifact import set_metadata
    from zoobench.quantize import quantize_core
    from zoobench.uint8_input import with_uint8_input

    reason = supports(precision, "cpu")
    if reason:
        raise RuntimeUnavailableError(reason)
    uint8 = meta["input_dtype"] == "uint8"
    with tempfile.TemporaryDirectory(prefix="zoobench-compile-", dir=out.parent) as tmp:
        staged = str(Path(tmp) / "model.onnx")
        if precision == "int8":
            quantize_core(core, staged, calib)
            if uint8:
                with_uint8_input(staged, staged, core)
            meta["quantization"] = {
                "tool": "onnxruntime.quantization.quantize_static",
                "format": "QDQ",
                "per_channel": True,
                "activations": "uint8",
                "weights": "int8",
            }
        else:
            src = with_uint8_input(core.path, str(Path(tmp) / "u8.onnx"), core) if uint8 else core.path
            # EXTENDED, not ALL: ALL bakes in layout-specific ops that only run on this exact CPU.
            so = ort.SessionOptions()
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            so.optimized_model_filepath = staged
            ort.InferenceSession(src, sess_options=so, providers=["CPUExecutionProvider"])
            meta["optimization"] = "ORT_ENABLE_EXTENDED"
        m = onnx.load(staged)
        del m.metadata_props[:]  # the export's own (parity of the fp32 graph) would mislead here
        set_metadata(m, meta)
        onnx.save(m, staged)
        os.replace(staged, out)


def load(model_path: str, **kw: Any) -> OrtSession:
    return OrtSession(model_path, **kw)


def describe() -> RuntimeDescription:
    """Availability, version, devices and precisions of ONNX Runtime here."""
    import onnxruntime as ort

    providers = ort.get_available_providers()
    devices = ["cpu"]
    if "CUDAExecutionProvider" in providers:
        devices.append("cuda")
    if "TensorrtExecutionProvider" in providers:
        devices.append("tensorrt")
    precisions = ["fp32", "int8"] + (["fp16"] if "CUDAExecutionProvider" in providers else [])
    return {
        "available": True,
        "version": ort.__version__,
        "devices": devices,
        "precisions": precisions,
        "providers": providers,
    }
