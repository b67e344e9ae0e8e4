"""perf's results above one timed run, typed: a cell over its rounds (:class:`CellResult`), a runtime × precision
column (:class:`ColumnResult`) and the sweep (:class:`SweepResult`, perf.json). Each writes the JSON perf.json has
always had (``to_dict``) and reads it back (``from_dict``; :func:`read_perf` for a file): report/ and compare read
perf.json only through them. Keys a type does not name (a tuned cell's settings, a log figure's source, a node's
facts) are kept as they are in ``extra``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zoobench.errors import DataError
from zoobench.jsontypes import JsonObject
from zoobench.perf.timing import Latency, PerfResult, summarize_rounds

JSON = Mapping[str, Any]  # a perf.json object as json.load gives it

_CELL = ("batch_size", "throughput_img_s", "repeats", "spread_pct", "unstable", "latency", "wall_s", "warmup", "data")
_CELL_KEYS = (*_CELL, "mode", "error")


@dataclass(frozen=True)
class CellResult:
    """One cell (a column at one batch size) over its rounds: the median img/s, every round's, their spread, the
    pooled latency; or the ``error`` that stopped it (then only ``batch_size`` is set)."""

    batch_size: int
    throughput_img_s: float | None = None
    repeats: tuple[float, ...] = ()
    spread_pct: float | None = None
    unstable: bool | None = None
    latency: Latency | None = None
    wall_s: float | None = None
    warmup: int | None = None
    data: str | None = None
    mode: str | None = None
    error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of_rounds(cls, rounds: list[PerfResult]) -> CellResult:
        """One cell over its rounds (:func:`~zoobench.perf.timing.summarize_rounds`: the median img/s, each
        round's, their spread, the pooled latency)."""
        return cls.from_dict(summarize_rounds(rounds))

    @classmethod
    def failed(cls, batch_size: int, error: str) -> CellResult:
        return cls(batch_size, error=error)

    @property
    def ok(self) -> bool:
        return self.error is None and self.throughput_img_s is not None

    def to_dict(self) -> JsonObject:
        """The cell as perf.json holds it (the fields that are set, then ``extra``)."""
        out: dict[str, Any] = {}
        for name in _CELL_KEYS:
            value = getattr(self, name)
            if value is None or (name == "repeats" and not value):
                continue
            out[name] = list(value) if name == "repeats" else asdict(value) if name == "latency" else value
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, d: JSON) -> CellResult:
        if "batch_size" not in d:
            raise DataError(f"a perf result without its batch size: {dict(d)}")
        lat = d.get("latency")
        known = {k: d[k] for k in _CELL_KEYS if k in d and k not in ("latency", "repeats")}
        extra = {k: v for k, v in d.items() if k not in _CELL_KEYS}
        return cls(
            **known,
            repeats=tuple(d.get("repeats") or ()),
            latency=Latency(**lat) if isinstance(lat, Mapping) else None,
            extra=extra,
        )


_COLUMN_KEYS = ("name", "runtime", "precision", "available", "reason", "engine", "info", "results")
_BEST = ("best_batch_size", "best_throughput_img_s")


@dataclass
class ColumnResult:
    """One runtime × precision of a sweep: available with its cells (and best batch), or the ``reason`` it could
    not run. ``extra``: its load options, int8 calibration and agreement, a tuned twin's settings."""

    name: str
    runtime: str
    precision: str
    available: bool
    reason: str | None = None
    engine: str | None = None
    info: dict[str, Any] | None = None
    results: list[CellResult] | None = None
    best_batch_size: int | None = None
    best_throughput_img_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> JsonObject:
        out: dict[str, Any] = {k: getattr(self, k) for k in _COLUMN_KEYS[:4]}
        for k in (*_COLUMN_KEYS[4:7], *_BEST):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        if self.results is not None:
            out["results"] = [r.to_dict() for r in self.results]
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, d: JSON) -> ColumnResult:
        try:
            head = (str(d["name"]), str(d["runtime"]), str(d["precision"]), bool(d["available"]))
        except KeyError as exc:
            raise DataError(f"a perf column without its {exc.args[0]!r}") from exc
        results = d.get("results")
        return cls(
            *head,
            reason=d.get("reason"),
            engine=d.get("engine"),
            info=d.get("info"),
            results=None if results is None else [CellResult.from_dict(r) for r in results],
            best_batch_size=d.get("best_batch_size"),
            best_throughput_img_s=d.get("best_throughput_img_s"),
            extra={k: v for k, v in d.items() if k not in (*_COLUMN_KEYS, *_BEST)},
        )


_SWEEP_KEYS = ("model", "engine", "random_weights", "input_size", "data", "repeats", "runtime", "results", *_BEST)
_SWEEP_TAIL = ("columns", "table", "environment")


@dataclass
class SweepResult:
    """perf.json: the first column that ran at the top (``runtime``, ``results``, ``best_*``, as the seeds' one
    column), every column, the table computed once (:func:`zoobench.perf.table.build_table`), the environment.
    A guide's quoted column or a log folder's figures read as one too (report/seeds.py, perf/logs.py)."""

    model: str
    results: list[CellResult]
    runtime: dict[str, Any] = field(default_factory=dict)
    engine: str | None = None
    random_weights: bool | None = None
    input_size: list[int] | None = None
    data: str | None = None
    repeats: int | None = None
    best_batch_size: int | None = None
    best_throughput_img_s: float | None = None
    columns: list[ColumnResult] | None = None
    table: dict[str, Any] | None = None
    environment: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> JsonObject:
        out: dict[str, Any] = {}
        for k in (*_SWEEP_KEYS, *_SWEEP_TAIL):
            value = getattr(self, k)
            if k == "results":
                out[k] = [r.to_dict() for r in self.results]
            elif k == "columns" and value is not None:
                out[k] = [c.to_dict() for c in value]
            elif value is not None or k in ("engine", "best_batch_size", "best_throughput_img_s"):
                out[k] = value
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, d: JSON) -> SweepResult:
        if not isinstance(d.get("results"), list):
            raise DataError("a perf result without its results list")
        columns = d.get("columns")
        fields = {k: d[k] for k in (*_SWEEP_KEYS, *_SWEEP_TAIL) if k in d and k not in ("results", "columns")}
        return cls(
            **{"model": str(d.get("model", "")), **fields},
            results=[CellResult.from_dict(r) for r in d["results"]],
            columns=None if columns is None else [ColumnResult.from_dict(c) for c in columns],
            extra={k: v for k, v in d.items() if k not in (*_SWEEP_KEYS, *_SWEEP_TAIL)},
        )


def read_perf(path: str | Path) -> SweepResult | None:
    """perf.json (or one column's ``perf/<column>.json`` of a run) as a :class:`SweepResult`; None when the file
    is missing, unreadable or not a perf result (report and compare list what they could read)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return SweepResult.from_dict(data) if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError, DataError):
        return None
