"""The small interface every runtime implements: load once, run a batch, describe itself, keep requests in flight
where it can, release what it holds."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypedDict

import numpy as np

from zoobench.jsontypes import JsonObject


@dataclass(frozen=True)
class RuntimeInfo:
    """What a loaded session is, recorded beside every number it produces."""

    runtime: str
    device: str
    precision: str
    threads: int | None
    version: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> JsonObject:
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


LoadOptions = dict[str, "str | int | float | bool | None"]  # a runtime's own load options: names -> plain values


@dataclass(frozen=True)
class Candidate:
    """One load setting ``tune`` tries: ``streams`` sessions side by side (perf's stream group), ``threads`` each,
    and the runtime's own load ``options``; all empty is the runtime's default."""

    options: Mapping[str, Any] = field(default_factory=dict)
    streams: int | None = None
    threads: int | None = None

    @classmethod
    def of(cls, streams: int | None = None, threads: int | None = None, **options: Any) -> Candidate:
        return cls(dict(options), streams, threads)

    def as_options(self) -> LoadOptions:
        """The load options as ``load_session`` and the tuned profile take them (``{}``: the default)."""
        both = {"streams": self.streams, "threads": self.threads}
        return {**{k: v for k, v in both.items() if v is not None}, **self.options}


class RuntimeDescription(TypedDict, total=False):
    """What a runtime's ``describe()`` says of it here (``zoobench runtimes``): installed and usable, its version,
    devices and precisions, and why not when it is not; the rest is the runtime's own (ONNX Runtime's
    ``providers``, OpenVINO's ``cpu_capabilities``, torch's ``threads``)."""

    available: bool
    version: str | None
    devices: list[str]
    precisions: list[str]
    reason: str
    providers: list[str]
    cpu_capabilities: list[str]
    threads: int


class RuntimeStatus(RuntimeDescription, total=False):
    """One row of :func:`zoobench.runtimes.runtime_status`: the registry's facts and the runtime's description."""

    runtime: str
    package: str
    install: str


class RuntimeModule(Protocol):
    """What every runtime's module defines (``runtimes/_contract.py`` holds each real one to it under mypy;
    :func:`zoobench.runtimes.runtime_module` refuses a registered module that lacks a part, in one line).

    ``COMPILED_PRECISIONS``: the precisions that need a compiled artifact rather than the ONNX file (empty for a
    runtime that compiles nothing). ``PERF_OPTIONS``: the load options perf runs it with."""

    COMPILED_PRECISIONS: frozenset[str]
    PERF_OPTIONS: LoadOptions

    def load(self, model_path: str, **options: Any) -> Session:
        """Load ``model_path`` (``device=``, ``precision=``, ``threads=`` and the runtime's own options)."""
        ...

    def describe(self) -> RuntimeDescription:
        """Availability, version, devices and precisions here (``zoobench runtimes``)."""
        ...

    def supports(self, precision: str, device: str = ...) -> str | None:
        """None when it can run ``precision`` on ``device`` here; else the reason it cannot."""
        ...

    def tunables(self, cores: int, precision: str = ..., deep: bool = ...) -> list[Candidate]:
        """The load settings ``tune`` tries, the default (``Candidate()``) first; ``[Candidate()]``: none."""
        ...

    def beside_decoders(self) -> LoadOptions:
        """The load options it wants when decode processes share its cores (``{}``: none)."""
        ...

    def server_streams(self, cores: int) -> LoadOptions:
        """The LoadGen Server's ``streams`` form without a tuned profile: ``streams`` sessions with these load
        options (``{}``: none declared, perf's options in one session)."""
        ...


class CompilingRuntime(RuntimeModule, Protocol):
    """A runtime that compiles artifacts (its registry entry has a ``suffix``); torch compiles nothing."""

    def compile_artifact(
        self, core: Any, out: Path, precision: str, calib: Any, batch_size: int | None, meta: dict[str, Any]
    ) -> None:
        """Compile the float engine ``core`` into ``out`` at ``precision`` (``calib``: int8's calibration data;
        ``batch_size``: a static batch, None: dynamic); what it did goes into ``meta``."""
        ...


def protocol_parts(protocol: type) -> frozenset[str]:
    """The names a module must define to be a ``protocol`` (:class:`RuntimeModule`, :class:`CompilingRuntime`)."""
    own = (c for c in protocol.__mro__ if c not in (object, Protocol) and c.__name__ != "Generic")
    names = {n for c in own for n in (*inspect.get_annotations(c), *vars(c)) if not n.startswith("_")}
    return frozenset(names)


@dataclass(frozen=True)
class RuntimeSpec:
    """One runtime as the registry knows it; its module does the work.

    The module (``module``, imported only when the runtime is used) is a :class:`RuntimeModule`; a runtime that
    compiles artifacts sets ``suffix`` and its module is a :class:`CompilingRuntime`.

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
