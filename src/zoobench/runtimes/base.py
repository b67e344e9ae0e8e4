"""The small interface every runtime implements: load once, run a batch, describe itself, keep requests in flight
where it can, release what it holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class RuntimeInfo:
    """What a loaded session is, recorded beside every number it produces."""

    runtime: str
    device: str
    precision: str
    threads: int | None
    version: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "device": self.device,
            "precision": self.precision,
            "threads": self.threads,
            "version": self.version,
            **self.extra,
        }


@dataclass(frozen=True)
class Timing:
    """How long a session (or its in-flight form) is timed, as perf times a cell: ``warmup`` untimed runs, then
    runs until both ``seconds`` have passed and ``min_iters`` were made (or ``max_iters`` in all), on ``data``
    (``random`` or ``zero``, from :func:`~zoobench.data.synthetic.make_input`). ``clock``: seconds, monotonic
    (None: ``time.perf_counter``; tests inject one)."""

    seconds: float = 3.0
    min_iters: int = 10
    warmup: int = 3
    data: str = "random"
    max_iters: int = 100_000
    clock: Callable[[], float] | None = None


class InFlight(Protocol):
    """A session's multi-request form: several requests kept in flight at once (OpenVINO's ``AsyncInferQueue``,
    or several sessions side by side), timed as one."""

    timing_mode: str  # how perf records the timing: ``async`` (one runtime's request queue), ``streams``

    def time_async(self, batch: np.ndarray, timing: Timing) -> tuple[list[float], float]:
        """Keep requests in flight on ``batch`` (after ``timing.warmup`` untimed rounds) until ``timing`` says stop.
        Returns each request's latency (submit to completion, as benchmark_app reports it) and the wall time of
        the measured region, in seconds."""
        ...


class Session(Protocol):
    """A model loaded into one runtime: what every runtime's ``load`` returns.

    Attributes:
        input_name / output_name / input_shape: the graph's one input and output.
        input_dtype: what :meth:`run` takes: ``uint8`` for a graph that normalizes inside (the uint8 crop),
            else ``float32`` (normalized pixels; an fp16 ONNX Runtime graph casts them itself).
    """

    input_name: str
    output_name: str
    input_shape: tuple[int | str, ...]
    input_dtype: np.dtype[Any]

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Run one NCHW batch of :attr:`input_dtype`; return the logits, float32 (N, classes)."""
        ...

    def info(self) -> RuntimeInfo:
        """Name, device, precision, threads and version of what actually runs."""
        ...

    def in_flight(self) -> InFlight | None:
        """The session's multi-request form, or None when it runs one request at a time."""
        ...

    def concurrent_runs(self) -> int:
        """How many threads may call :meth:`run` at once, each on its own request, to keep the session's
        requests in flight (OpenVINO: its optimal number of infer requests); 1 when one at a time is its best."""
        ...

    def release(self) -> None:
        """Free what the session holds (runtime handles, device memory) now, not when it is collected; it
        cannot run afterwards. Releasing twice is harmless."""
        ...


def takes_uint8(session: Session) -> bool:
    """Whether ``session`` takes the uint8 crop (its graph normalizes inside)."""
    return bool(session.input_dtype == np.uint8)


@dataclass(frozen=True)
class RuntimeSpec:
    """One runtime as the registry knows it; its module does the work.

    The module (``module``, imported only when the runtime is used) provides ``load(path, device=,
    precision=, threads=, **options) -> Session``, ``describe() -> dict`` and ``supports(precision, device)
    -> str | None`` (None: it can; else the reason it cannot). A runtime that compiles artifacts sets
    ``suffix`` and provides ``compile_artifact(core, out, precision, calib, batch_size, meta)`` and
    ``COMPILED_PRECISIONS`` (the precisions that need a compiled artifact rather than the ONNX file).
    Its load options are its own: ``beside_decoders() -> dict`` (optional) names those it wants when decode
    processes share its cores (ONNX Runtime: idle threads do not spin); ``tunables()`` those ``tune`` searches;
    ``server_streams(cores) -> dict`` (optional) the LoadGen Server's ``streams`` form without a tuned profile
    (``streams`` sessions with these load options; none declared: perf's options, one session).

    Attributes:
        package: the import name that must be installed. install: the command that installs it.
        suffix: the file suffix of its compiled artifacts (None: it does not compile).
        loads: artifact suffixes only this runtime can load.
        device: the device it runs on when none is named.
    """

    name: str
    module: str
    package: str
    install: str
    suffix: str | None = None
    loads: tuple[str, ...] = ()
    device: str = "cpu"  # the device it runs on when none is named
