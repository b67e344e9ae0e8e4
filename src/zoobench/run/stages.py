"""What a column's stages (tune, perf, loadgen) read of one model of a run: :class:`ModelStages`.

``run/chain.py``'s ``_ModelStages`` is the one implementation; the stage functions of run/ take this Protocol so
mypy checks every attribute they read, and perf/ (ranked below run/) never sees the stage ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from zoobench.artifact import Engine
    from zoobench.run.config import RunConfig
    from zoobench.run.ledger import StageBook


class ModelStages(Protocol):
    """One model's stages: its directory, the run's settings, the stage ledger, the log line, and its engines."""

    @property
    def mdir(self) -> Path: ...  # the model's directory in the run

    @property
    def cfg(self) -> RunConfig: ...

    @property
    def book(self) -> StageBook: ...  # stages.json: the stage ledger

    @property
    def log(self) -> Callable[[str], None]: ...

    @property
    def engine(self) -> Engine | None: ...  # the float engine export made (None before export)

    @property
    def engine_sha(self) -> str: ...

    def column(self, rt: str, prec: str) -> tuple[Engine, str]:
        """The column's engine and its sha256, made once per run (a failure raises, the same for each stage)."""
        ...
