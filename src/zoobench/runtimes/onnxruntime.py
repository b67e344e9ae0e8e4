"""ONNX Runtime: CPU by default; CUDA / TensorRT execution providers when onnxruntime-gpu is installed."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from zoobench.errors import RuntimeUnavailableError, ZoobenchError
from zoobench.runtimes.base import RuntimeInfo
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
        if kind not in _PROVIDERS:
            raise ZoobenchError(f"onnxruntime device must be one of {', '.join(_PROVIDERS)}, got {device!r}")
        provider = _PROVIDERS[kind]
        if provider not in ort.get_available_providers():
            raise RuntimeUnavailableError(
                f"onnxruntime has no {provider} here (available: {', '.join(ort.get_available_providers())}); "
                "for GPUs: pip uninstall onnxruntime && pip install onnxruntime-gpu"
            )
        if kind == "cpu" and precision in ("fp16", "bf16"):
            raise RuntimeUnavailableError(
                f"onnxruntime {precision} on CPU is not useful (no fast {precision} kernels); use fp32 or int8, "
                "or OpenVINO for bf16"
            )
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            so.intra_op_num_threads = threads
        so.log_severity_level = 3
        if options.get("spin") is False:
            # Idle intra-op threads spin by default; beside decode workers on the same cores that burns
            # the cycles the workers need.
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers: list[Any] = [provider] if kind == "cpu" else [provider, "CPUExecutionProvider"]
        self._sess = ort.InferenceSession(model_path, sess_options=so, providers=providers)
        used = self._sess.get_providers()[0]
        if used != provider:  # ORT falls back to CPU without a word; we do not
            raise RuntimeUnavailableError(f"onnxruntime asked for {provider} but runs on {used}")
        inp = self._sess.get_inputs()[0]
        self.input_name: str = inp.name
        self.output_name: str = self._sess.get_outputs()[0].name
        self.input_shape: tuple[int | str, ...] = tuple(inp.shape)
        self.input_dtype: Any = {"tensor(float16)": np.float16, "tensor(uint8)": np.uint8}.get(inp.type, np.float32)
        self._device = "cpu" if kind == "cpu" else f"cuda:{device.split(':')[1] if ':' in device else 0}"
        self._precision = precision
        self._threads = threads or so.intra_op_num_threads or os.cpu_count()
        self._version = ort.__version__
        self._provider = used

    def run(self, batch: np.ndarray) -> np.ndarray:
        check_batch_dtype(batch, self.input_dtype, "onnxruntime")
        if batch.dtype != self.input_dtype:  # float32 -> float16 for an fp16 graph
            batch = batch.astype(self.input_dtype)
        out = self._sess.run([self.output_name], {self.input_name: batch})[0]
        return np.asarray(out, dtype=np.float32)

    def info(self) -> RuntimeInfo:
        return RuntimeInfo(
            "onnxruntime", self._device, self._precision, self._threads, self._version, {"provider": self._provider}
        )


def load(model_path: str, **kw: Any) -> OrtSession:
    return OrtSession(model_path, **kw)


def describe() -> dict[str, Any]:
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
