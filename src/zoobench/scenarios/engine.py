"""The one place `loadgen` gets an engine: a model name or file + runtime + precision → the engine build's column
engine (:func:`zoobench.engines.column_engine`), the same file that perf times, the score stage scores and ship/
ships."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoobench.artifact import Engine


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
    """The uint8-input engine that runs ``model_or_file`` on ``runtime`` at ``precision``, from the engine store
    when the same recipe was built before; a compiled engine given as a file is used as it is (its runtime and
    precision must be the ones asked).

    Raises:
        RuntimeUnavailableError: the runtime or precision cannot run here (the message says why).
    """
    from zoobench import engines

    workdir.mkdir(parents=True, exist_ok=True)
    recipe = engines.resolve(model_or_file, weights=weights)
    return engines.column_engine(recipe, runtime, precision, workdir=workdir, calibration=calibration, log=log)
