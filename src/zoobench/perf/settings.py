"""How one perf sweep runs: one frozen object, validated once, built by the CLI or by ``run``, passed down whole."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zoobench.errors import DataError
from zoobench.runtimes.base import Timing
from zoobench.settings import Settings

DATA_KINDS = ("random", "zero")


def check_batch_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    """The batch sizes as a tuple; none, or one that is not an integer >= 1, is one line."""
    if not sizes or any(not isinstance(b, int) or isinstance(b, bool) or b < 1 for b in sizes):
        raise DataError(f"batch sizes must be integers >= 1, got {list(sizes)}")
    return tuple(sizes)


@dataclass(frozen=True)
class PerfSettings(Settings):
    """Everything ``perf`` needs besides the model (and an engine or tuned profile a caller holds in memory).

    Attributes:
        batch_sizes: the table's rows.
        runtimes / precisions: the sweep's columns, runtime-major (None: the engine's own, else ORT fp32).
        seconds / min_iters: each cell's timed loop per round runs until both are reached (after ``warmup``).
        repeats: rounds; each round visits every cell once, round-robin, so drift hits all cells alike.
        data_kind: the input the cells are timed on (``random`` or ``zero``).
        threads: runtime threads (None: the runtime's default).
        calibration: image folder for int8 engines compiled on the way (random data otherwise, with a warning).
        tuned: add a ``<column> tuned`` column beside each column that the engine's tuned profile holds.
        weights: how a model name is exported (``--weights``).
        outdir: where perf.json is written (and, without ``workdir``, the export and compiled engines).
        workdir: where the export and compiled engines go (and are reused from); perf.json is not written there.
        quiet: no console output.

    Sequences are kept as tuples (the object is immutable); perf.json lists them as it always did.
    """

    WHAT = "perf"

    batch_sizes: Sequence[int] = (1,)
    runtimes: Sequence[str] | None = None
    precisions: Sequence[str] | None = None
    seconds: float = 1.0
    repeats: int = 3
    min_iters: int = 5
    warmup: int = 3
    data_kind: str = "random"
    threads: int | None = None
    calibration: str | None = None
    tuned: bool = True
    weights: str | None = None
    outdir: str | None = None
    workdir: str | None = None
    quiet: bool = False

    def __post_init__(self) -> None:
        for name in ("batch_sizes", "runtimes", "precisions"):
            value = getattr(self, name)
            if value is not None:
                if isinstance(value, str) or not isinstance(value, Sequence):
                    raise DataError(f"{name.replace('_', ' ')} must be a list, got {value!r}")
                object.__setattr__(self, name, tuple(value))
        check_batch_sizes(self.batch_sizes)
        self._at_least(1, "repeats", "min_iters", whole=True)
        self._at_least(0, "warmup", whole=True)
        if self.seconds < 0:
            raise DataError(f"seconds must be >= 0, got {self.seconds}")
        if self.data_kind not in DATA_KINDS:
            raise DataError(f"data must be one of {', '.join(DATA_KINDS)}, got {self.data_kind!r}")

    def timing(self) -> Timing:
        """How each cell is timed, as :func:`zoobench.perf.timing.time_throughput` takes it."""
        return Timing(seconds=self.seconds, min_iters=self.min_iters, warmup=self.warmup, data=self.data_kind)


DEFAULT_BUDGET_S = 75.0  # with the overrun of a busy 2-core machine, within 2 minutes per engine


@dataclass(frozen=True)
class TuneSettings(Settings):
    """What ``tune`` searches: one runtime × precision column, its batch sizes, and the time it may take.

    Attributes:
        runtime / precision: the column tuned.
        batch_sizes: each is tuned on its own; the budget is shared out over them.
        budget_s: seconds for the whole search (loads, warm-ups and timed loops all count).
        deep: also try the slow candidates (torch.compile max-autotune).
        threads: threads of the default setting (perf's ``--threads``).
    """

    WHAT = "tune"

    runtime: str
    precision: str
    batch_sizes: Sequence[int] = (1,)
    budget_s: float = DEFAULT_BUDGET_S
    deep: bool = False
    threads: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "batch_sizes", check_batch_sizes(self.batch_sizes))
        if self.budget_s <= 0:
            raise DataError(f"--budget must be more than 0 seconds, got {self.budget_s:g}")
