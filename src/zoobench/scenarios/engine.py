"""The one place `loadgen` gets an engine: a model name or file + runtime + precision → the engine file that perf
times and the score stage scores (the uint8-input twin of the export, or int8 compiled with ``--input uint8``),
as ``run``'s scored columns make it today. The engine build that replaces export/compile switches it here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoobench.artifact import Engine
from zoobench.errors import RuntimeUnavailableError, ZoobenchError


def column_engine(
    model_or_file: str,
    runtime: str,
    precision: str,
    *,
    workdir: Path,
    weights: str | None = None,
    calibration: str | None = None,
    log: Any = None,
) -> Engine:
    """The uint8-input engine that runs ``model_or_file`` on ``runtime`` at ``precision``; a compiled engine given
    as a file is used as it is (its runtime and precision must be the ones asked).

    Raises:
        RuntimeUnavailableError: the runtime or precision cannot run here (the message says why).
    """
    from zoobench.export import resolve_engine, uint8_engine
    from zoobench.runtimes import RUNTIMES, runtime_module, supports

    workdir.mkdir(parents=True, exist_ok=True)
    engine = resolve_engine(model_or_file, weights=weights, workdir=workdir, log=log)
    if engine.runtime:
        if (engine.runtime, engine.precision) != (runtime, precision):
            raise ZoobenchError(
                f"{engine.path} is a {engine.runtime} {engine.precision} engine; ask for that column "
                f"(--runtimes {engine.runtime} --precisions {engine.precision}) or give the ONNX export"
            )
        return engine
    if runtime not in RUNTIMES:
        raise RuntimeUnavailableError(f"unknown runtime {runtime!r}")
    ok, why = supports(runtime, RUNTIMES[runtime].device, precision)
    if not ok:
        raise RuntimeUnavailableError(why)
    if precision not in runtime_module(runtime).COMPILED_PRECISIONS:
        return engine if engine.input_dtype == "uint8" else uint8_engine(engine, log=log)
    from zoobench.compile import compile_engine, default_output

    out = workdir / default_output(engine, runtime, precision, None, "uint8").name
    if out.is_file():
        from zoobench.artifact import load_engine

        cached = load_engine(str(out))
        if cached.metadata.get("source") == str(Path(engine.path).resolve()):
            return cached
    return compile_engine(
        engine, runtime=runtime, precision=precision, calibration=calibration, output=str(out), input_dtype="uint8",
        log=log,
    )  # fmt: skip
