"""Runtimes behind one interface; see :mod:`zoobench.runtimes.base`."""

from __future__ import annotations

from typing import Any

from zoobench.errors import RuntimeUnavailableError, ZoobenchError
from zoobench.runtimes.base import RuntimeInfo, Session

__all__ = ["RUNTIMES", "RuntimeInfo", "Session", "load_session"]

# name -> (module, pip command that installs it)
RUNTIMES: dict[str, tuple[str, str]] = {
    "onnxruntime": ("zoobench.runtimes.onnxruntime", "pip install onnxruntime"),
}


def load_session(
    model_path: str,
    runtime: str = "onnxruntime",
    *,
    device: str = "cpu",
    precision: str = "fp32",
    threads: int | None = None,
    **options: Any,
) -> Session:
    """Load ``model_path`` into ``runtime``; raise a clear error when it cannot run here."""
    if runtime not in RUNTIMES:
        raise ZoobenchError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
    module_name, hint = RUNTIMES[runtime]
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RuntimeUnavailableError(f"runtime {runtime} is not installed ({exc}); run: {hint}") from exc
    session: Session = module.load(model_path, device=device, precision=precision, threads=threads, **options)
    return session
