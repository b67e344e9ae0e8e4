"""Runtimes behind one interface; see :mod:`zoobench.runtimes.base`."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from zoobench.errors import RuntimeUnavailableError, ZoobenchError
from zoobench.runtimes.base import RuntimeInfo, Session

__all__ = ["RUNTIMES", "RuntimeInfo", "Session", "load_session", "runtime_for_path", "runtime_status"]

# name -> (module, the package it needs, pip command that installs it)
RUNTIMES: dict[str, tuple[str, str, str]] = {
    "onnxruntime": ("zoobench.runtimes.onnxruntime", "onnxruntime", "pip install onnxruntime  (GPU: onnxruntime-gpu)"),
    "openvino": ("zoobench.runtimes.openvino", "openvino", "pip install openvino nncf"),
    "torch": ("zoobench.runtimes.torch", "torch", "pip install torch torchvision timm"),
    "tensorrt": ("zoobench.runtimes.tensorrt", "tensorrt", "pip install tensorrt torch  (needs an NVIDIA GPU)"),
}

# artifact suffix -> the only runtime that can load it
_SUFFIX_RUNTIME = {".xml": "openvino", ".plan": "tensorrt", ".engine": "tensorrt"}


def runtime_for_path(model_path: str) -> str | None:
    """The runtime an artifact was compiled for (OpenVINO IR, TensorRT plan); None for ONNX or names."""
    return _SUFFIX_RUNTIME.get(Path(model_path).suffix.lower())


def load_session(
    model_path: str,
    runtime: str = "onnxruntime",
    *,
    device: str = "cpu",
    precision: str | None = None,
    threads: int | None = None,
    **options: Any,
) -> Session:
    """Load ``model_path`` into ``runtime``; raise a clear error when it cannot run here.

    Args:
        model_path: an ONNX file, a compiled artifact (OpenVINO ``.xml``, TensorRT ``.plan``) or, for
            ``torch``, a model name.
        runtime: one of :data:`RUNTIMES`. A compiled artifact runs on the runtime it was compiled for;
            asking for the default ``onnxruntime`` with such a file picks that runtime instead.
        device: ``cpu`` or ``cuda[:N]``.
        precision: fp32 / fp16 / bf16 / int8; None = the artifact's recorded precision, else fp32.
        threads: runtime threads (None: the runtime's default).
        **options: runtime-specific options (e.g. ``hint`` for OpenVINO, ``channels_last`` for torch).
    """
    implied = runtime_for_path(model_path)
    if implied and runtime != implied:
        if runtime != "onnxruntime":
            raise ZoobenchError(f"{model_path} was compiled for {implied}; it cannot run on {runtime}")
        runtime = implied
    if runtime not in RUNTIMES:
        raise ZoobenchError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
    module_name, _, hint = RUNTIMES[runtime]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RuntimeUnavailableError(f"runtime {runtime} is not installed ({exc}); run: {hint}") from exc
    if precision is None:
        precision = _recorded_precision(model_path)
    session: Session = module.load(model_path, device=device, precision=precision, threads=threads, **options)
    return session


def _recorded_precision(model_path: str) -> str:
    p = Path(model_path)
    if not p.is_file():
        return "fp32"
    try:
        from zoobench.engine import load_engine

        return str(load_engine(model_path).metadata.get("precision", "fp32"))
    except ZoobenchError:
        return "fp32"


def runtime_status() -> list[dict[str, Any]]:
    """Each runtime: installed or not, version, the devices it can use here, and how to install it."""
    rows = []
    for name, (module_name, package, hint) in RUNTIMES.items():
        row: dict[str, Any] = {"runtime": name, "package": package, "available": False, "version": None}
        row["devices"] = []
        row["precisions"] = []
        row["install"] = hint
        if importlib.util.find_spec(package) is None:
            row["reason"] = f"{package} is not installed"
            rows.append(row)
            continue
        try:
            module = importlib.import_module(module_name)
            row.update(module.describe())
        except Exception as exc:  # an installed but broken runtime is listed, not fatal
            row["reason"] = f"{type(exc).__name__}: {exc}"
        rows.append(row)
    return rows
