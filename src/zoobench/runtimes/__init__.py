"""Runtimes behind one interface; see :mod:`zoobench.runtimes.base`."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from zoobench.artifact import Engine
from zoobench.errors import RuntimeUnavailableError, UsageError, ZoobenchError
from zoobench.runtimes.base import (
    Candidate,
    CompilingRuntime,
    InFlight,
    LoadOptions,
    RuntimeInfo,
    RuntimeModule,
    RuntimeSpec,
    RuntimeStatus,
    Session,
    protocol_parts,
    takes_uint8,
)

__all__ = [
    "RUNTIMES",
    "Candidate",
    "CompilingRuntime",
    "InFlight",
    "RuntimeInfo",
    "RuntimeModule",
    "RuntimeSpec",
    "Session",
    "compiling_module",
    "load_session",
    "options_beside_decoders",
    "register",
    "resolve_runtime",
    "runtime_for_path",
    "runtime_module",
    "runtime_status",
    "supports",
    "takes_uint8",
]

RUNTIMES: dict[str, RuntimeSpec] = {}


def register(spec: RuntimeSpec) -> RuntimeSpec:
    """Add a runtime (a new runtime is its module plus one line here, or a call from outside)."""
    from zoobench.artifact import add_model_suffixes

    RUNTIMES[spec.name] = spec
    add_model_suffixes(*spec.loads)  # infer / eval / perf take its artifacts as model files
    return spec


register(
    RuntimeSpec(
        "onnxruntime",
        "zoobench.runtimes.onnxruntime",
        "onnxruntime",
        "pip install onnxruntime  (GPU: onnxruntime-gpu)",
        suffix=".onnx",
    )
)
register(
    RuntimeSpec(
        "openvino",
        "zoobench.runtimes.openvino",
        "openvino",
        "pip install openvino nncf",
        suffix=".xml",
        loads=(".xml",),
    )
)
register(RuntimeSpec("torch", "zoobench.runtimes.torch", "torch", "pip install torch torchvision timm"))
register(
    RuntimeSpec(
        "tensorrt",
        "zoobench.runtimes.tensorrt",
        "tensorrt",
        "pip install tensorrt torch  (NVIDIA GPU)",
        suffix=".plan",
        loads=(".plan", ".engine"),
        device="cuda",
    )
)


def runtime_for_path(model_path: str) -> str | None:
    """The runtime an artifact was compiled for (OpenVINO IR, TensorRT plan); None for ONNX or names."""
    suffix = Path(model_path).suffix.lower()
    return next((s.name for s in RUNTIMES.values() if suffix in s.loads), None)


def resolve_runtime(model_path: str, runtime: str | None) -> str:
    """The runtime that runs ``model_path``: ``runtime`` when one is named, else the one the file was compiled for
    (OpenVINO IR, TensorRT plan), else ``onnxruntime``. Naming another runtime than a compiled file's is a
    :class:`~zoobench.errors.UsageError` (the CLI exits 2) that names the runtime the file needs."""
    implied = runtime_for_path(model_path)
    if runtime is None:
        return implied or "onnxruntime"
    if implied and runtime != implied:
        raise UsageError(
            f"{model_path} was compiled for {implied}: run it with --runtime {implied} (or name no runtime), "
            f"not {runtime}"
        )
    return runtime


def runtime_module(runtime: str) -> RuntimeModule:
    """The module of ``runtime``; one clear line when it is unknown, not installed, or lacks a part of
    :class:`~zoobench.runtimes.base.RuntimeModule` (a runtime registered from outside, which mypy never saw)."""
    return _imported(runtime, RuntimeModule)


def compiling_module(runtime: str) -> CompilingRuntime:
    """The module of ``runtime``, a runtime that compiles (its registry entry has a suffix); one line otherwise."""
    spec = RUNTIMES.get(runtime)
    if spec is not None and spec.suffix is None:
        raise ZoobenchError(f"runtime {runtime} compiles nothing (it runs the ONNX file or the model as it is)")
    return _imported(runtime, CompilingRuntime)


def _imported(runtime: str, contract: type[Any]) -> Any:
    if runtime not in RUNTIMES:
        raise ZoobenchError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
    spec = RUNTIMES[runtime]
    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:
        raise RuntimeUnavailableError(f"runtime {runtime} is not installed ({exc}); run: {spec.install}") from exc
    missing = sorted(protocol_parts(contract) - set(vars(module)))
    if missing:
        raise ZoobenchError(f"runtime {runtime} ({spec.module}) lacks {', '.join(missing)} of {contract.__name__}")
    return module


def supports(runtime: str, device: str, precision: str) -> tuple[bool, str]:
    """Can ``runtime`` run ``precision`` on ``device`` here? ``(True, "")``, or ``(False, why)``: the one
    place that answers it (the runtime's own ``supports``)."""
    try:
        module = runtime_module(runtime)
        reason = module.supports(precision, device)
    except ZoobenchError as exc:
        return False, str(exc)
    return (reason is None), reason or ""


def load_session(
    model: str | Engine,
    runtime: str | None = None,
    *,
    device: str = "cpu",
    precision: str | None = None,
    threads: int | None = None,
    **options: Any,
) -> Session:
    """Load ``model`` into ``runtime``; raise a clear error when it cannot run here.

    Args:
        model: an ONNX file, a compiled artifact (OpenVINO ``.xml``, TensorRT ``.plan``) or, for ``torch``, a
            model name; or an :class:`~zoobench.artifact.Engine` already loaded (its metadata is not read again).
        runtime: one of :data:`RUNTIMES`; None: the runtime a compiled artifact was made for, else
            ``onnxruntime`` (:func:`resolve_runtime`: naming another one for a compiled file is a usage error).
        device: ``cpu`` or ``cuda[:N]``.
        precision: fp32 / fp16 / bf16 / int8; None = the artifact's recorded precision, else fp32.
        threads: runtime threads (None: the runtime's default).
        **options: runtime-specific options (e.g. ``hint`` for OpenVINO, ``channels_last`` for torch).
    """
    model_path = model.path if isinstance(model, Engine) else model
    module = runtime_module(resolve_runtime(model_path, runtime))
    if precision is None:
        precision = model.precision if isinstance(model, Engine) else _recorded_precision(model_path)
    session: Session = module.load(model_path, device=device, precision=precision, threads=threads, **options)
    return session


def options_beside_decoders(runtime: str) -> LoadOptions:
    """The load options ``runtime`` wants for a session whose cores decode processes share (its module's
    ``beside_decoders()``)."""
    return dict(runtime_module(runtime).beside_decoders())


def _recorded_precision(model_path: str) -> str:
    p = Path(model_path)
    if not p.is_file():
        return "fp32"
    try:
        from zoobench.artifact import load_engine

        return load_engine(model_path).precision
    except ZoobenchError:
        return "fp32"


def runtime_status() -> list[RuntimeStatus]:
    """Each runtime: installed or not, version, the devices it can use here, and how to install it."""
    rows = []
    for spec in RUNTIMES.values():
        row = RuntimeStatus(runtime=spec.name, package=spec.package, available=False, version=None)
        row.update(RuntimeStatus(devices=[], precisions=[], install=spec.install))
        if importlib.util.find_spec(spec.package) is None:
            row["reason"] = f"{spec.package} is not installed; run: {spec.install}"
            rows.append(row)
            continue
        try:
            row.update(runtime_module(spec.name).describe())
        except Exception as exc:  # an installed but broken runtime is listed, not fatal
            row["reason"] = f"{type(exc).__name__}: {exc}"
        rows.append(row)
    return rows
