"""What LoadGen is told to expect (latency, QPS) and Offline's parallel form, from perf: a perf.json beside the
engine that timed this column, or else a short perf run now; the tuned profile beside the engine (STEM.tuned.json)
gives Offline's streams and load settings at its batch. Either way one line says which."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from zoobench.artifact import Engine
from zoobench.perf.results import CellResult
from zoobench.runtimes.base import LoadOptions
from zoobench.scenarios.settings import MULTI_STREAM_SAMPLES, Hints

Cells = dict[int, CellResult]  # perf's timed cells of one column, by batch size

SHORT_PERF: dict[str, Any] = {"seconds": 0.5, "repeats": 1, "min_iters": 5, "warmup": 2}


def from_perf_json(path: Path, runtime: str, precision: str, sizes: set[int]) -> Cells | None:
    """The perf.json column's cells by batch size, when it timed every size in ``sizes``."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for col in result.get("columns") or []:
        if (col.get("runtime"), col.get("precision")) == (runtime, precision) and not col.get("tuned"):
            cells = _timed(CellResult.from_dict(r) for r in col.get("results") or [])
            return cells if sizes <= set(cells) else None
    return None


def measure(
    engine: Engine, runtime: str, precision: str, batch: int, perf_json: str | None = None
) -> tuple[Cells, str]:
    """perf's cells at batch 1, 8 and ``batch`` for this column: ``perf_json`` (``run``'s column), else the
    perf.json beside the engine, else a short perf."""
    sizes = {1, MULTI_STREAM_SAMPLES, batch}
    beside = Path(perf_json) if perf_json else Path(engine.path).parent / "perf.json"
    cells = from_perf_json(beside, runtime, precision, sizes) if beside.is_file() else None
    if cells is not None:
        return cells, f"hints from {beside}"
    from zoobench.perf.settings import PerfSettings
    from zoobench.perf.sweep import do_perf

    s = PerfSettings(runtimes=[runtime], precisions=[precision], batch_sizes=sorted(sizes), tuned=False, quiet=True)
    res = do_perf(engine.model, s.but(**SHORT_PERF), engine=engine)
    col = next(c for c in res["columns"] if c.get("available"))
    results = [CellResult.from_dict(r) for r in col["results"]]
    cells = _timed(results)
    if not sizes <= set(cells):
        errors = "; ".join(r.error for r in results if r.error)
        from zoobench.errors import ZoobenchError

        raise ZoobenchError(f"{runtime} {precision}: the short perf could not time every batch: {errors}")
    return cells, f"hints from a short perf now (no perf.json beside {engine.path} for {runtime} {precision})"


def _timed(results: Iterable[CellResult]) -> Cells:
    """The cells perf timed (an img/s and a latency), by batch size."""
    return {r.batch_size: r for r in results if r.ok and r.latency is not None}


def hints_of(cells: Cells, batch: int, streams: int, source: str) -> Hints:
    """Batch-1 and batch-8 mean latency, and the Offline QPS: the batch's img/s (times the streams, when a tuned
    profile runs several; perf timed one)."""
    one, eight = mean_latency_s(cells, 1), mean_latency_s(cells, MULTI_STREAM_SAMPLES)
    return Hints(one, eight, float(cells[batch].throughput_img_s or 0.0) * max(1, streams), source)


def mean_latency_s(cells: Cells, batch: int) -> float:
    """perf's mean latency of one batch at ``batch`` (a timed cell has one), seconds."""
    lat = cells[batch].latency
    assert lat is not None  # _timed keeps only cells with a latency
    return lat.mean_ms / 1000


def offline_form(engine: Engine, runtime: str, precision: str, batch: int) -> tuple[LoadOptions, int, str]:
    """Offline's load options and sessions: perf's options for the runtime, plus the tuned profile's settings at
    ``batch`` (its ``streams``: that many sessions); each session runs as many worker threads as it takes
    concurrent runs."""
    from zoobench.io import file_digest
    from zoobench.perf.profile import lookup, profile_path, read_profile
    from zoobench.perf.streams import settings_text
    from zoobench.perf.sweep import perf_options
    from zoobench.runtimes import runtime_module

    options = perf_options(runtime)
    try:
        profile = read_profile(profile_path(engine.path))
    except Exception as exc:  # a broken profile is ignored, said
        return options, 1, f"tuned profile ignored — {exc}"
    version = runtime_module(runtime).describe().get("version")
    by_bs, why = lookup(profile, runtime, precision, engine_sha=file_digest(engine.path), runtime_version=version)
    if not by_bs or batch not in by_bs:
        return options, 1, why or f"no tuned profile for batch {batch}: perf's defaults, one session"
    settings = dict(by_bs[batch])
    streams = int(settings.pop("streams", 1) or 1)
    return (
        {**options, **settings},
        streams,
        f"tuned profile at batch {batch}: {settings_text(settings)}, {streams} sessions",
    )
