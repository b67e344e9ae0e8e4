"""Pure-inference timing of one cell (how long: :class:`Timing`): warm-up, a loop bounded by time *and* count,
latency statistics; and the summary of a cell's rounds (median throughput, spread, unstable flag, pooled latency)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

import numpy as np

from zoobench.data.synthetic import make_input
from zoobench.jsontypes import JsonObject
from zoobench.runtimes.base import Session, Timing, takes_uint8


@dataclass(frozen=True)
class Latency:
    """Latency statistics of one batch size, in milliseconds per batch."""

    count: int
    min_ms: float
    max_ms: float
    mean_ms: float
    median_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    stdev_ms: float

    @classmethod
    def from_values(cls, values_s: list[float]) -> Latency:
        if not values_s:
            raise ValueError("no latency samples")
        ms = np.asarray(values_s, dtype=np.float64) * 1000.0
        p90, p95, p99 = np.percentile(ms, [90, 95, 99])
        return cls(
            count=len(ms),
            min_ms=float(ms.min()),
            max_ms=float(ms.max()),
            mean_ms=float(ms.mean()),
            median_ms=float(np.median(ms)),
            p90_ms=float(p90),
            p95_ms=float(p95),
            p99_ms=float(p99),
            stdev_ms=float(statistics.stdev(ms)) if len(ms) > 1 else 0.0,
        )


@dataclass(frozen=True)
class PerfResult:
    """One timed configuration."""

    batch_size: int
    latency: Latency
    wall_s: float
    throughput_img_s: float
    warmup: int
    data: str
    mode: str = "sync"
    samples_s: tuple[float, ...] = field(default=(), repr=False)  # per-run seconds, pooled across rounds

    def to_dict(self) -> JsonObject:
        d = asdict(self)
        d.pop("samples_s")
        d["latency"] = asdict(self.latency)
        return d


UNSTABLE_SPREAD_PCT = 5.0


class RoundsSummary(TypedDict):
    """One cell over several rounds, as :func:`summarize_rounds` gives it (the JSON of a perf cell)."""

    batch_size: int
    throughput_img_s: float
    repeats: list[float]
    spread_pct: float
    unstable: bool
    latency: dict[str, Any]
    wall_s: float
    warmup: int
    data: str
    mode: str


def summarize_rounds(rounds: list[PerfResult]) -> RoundsSummary:
    """One cell measured in several rounds: ``throughput_img_s`` is the median of the rounds' img/s,
    ``repeats`` the rounds' img/s, ``spread_pct`` = (max - min) / median × 100, ``unstable`` when the spread
    exceeds :data:`UNSTABLE_SPREAD_PCT`; the latency statistics pool every timed run of every round."""
    if not rounds:
        raise ValueError("no rounds")
    rates = [r.throughput_img_s for r in rounds]
    median = float(statistics.median(rates))
    spread = 100.0 * (max(rates) - min(rates)) / median if median > 0 else 0.0
    samples = [s for r in rounds for s in r.samples_s]
    latency = Latency.from_values(samples) if samples else rounds[0].latency
    first = rounds[0]
    return {
        "batch_size": first.batch_size,
        "throughput_img_s": median,
        "repeats": [round(v, 3) for v in rates],
        "spread_pct": round(spread, 2),
        "unstable": spread > UNSTABLE_SPREAD_PCT,
        "latency": asdict(latency),
        "wall_s": sum(r.wall_s for r in rounds),
        "warmup": first.warmup,
        "data": first.data,
        "mode": first.mode,
    }


def timed_runs(
    run: Callable[[], Any], clock: Callable[[], float], start: float, *, seconds: float, min_iters: int, max_iters: int
) -> list[float]:
    """Call ``run`` until ``seconds`` have passed since ``start`` and it ran ``min_iters`` times (or ``max_iters``
    times in all); returns each call's duration. The one timed loop of a session and of each stream."""
    samples: list[float] = []
    while True:
        t0 = clock()
        run()
        t1 = clock()
        samples.append(t1 - t0)
        if (t1 - start >= seconds and len(samples) >= min_iters) or len(samples) >= max_iters:
            return samples


def time_session(
    session: Session, batch_size: int, input_size: tuple[int, int, int], timing: Timing | None = None
) -> PerfResult:
    """Time ``session.run`` on one fixed batch, one request at a time, as ``timing`` says.

    Throughput = images / wall time of the measured loop (warm-up excluded).
    """
    t = timing or Timing()
    x = make_input((batch_size, *input_size), t.data, uint8=takes_uint8(session))
    for _ in range(max(t.warmup, 1)):
        session.run(x)
    clock = t.clock or time.perf_counter
    start = clock()
    samples = timed_runs(
        lambda: session.run(x), clock, start, seconds=t.seconds, min_iters=t.min_iters, max_iters=t.max_iters
    )
    wall = clock() - start
    lat = Latency.from_values(samples)
    return PerfResult(batch_size, lat, wall, batch_size * len(samples) / wall, t.warmup, t.data, "sync", tuple(samples))


def time_throughput(
    session: Session, batch_size: int, input_size: tuple[int, int, int], timing: Timing | None = None
) -> PerfResult:
    """Throughput timing: requests kept in flight when the session has that form (:meth:`Session.in_flight`:
    OpenVINO's async queue, or several sessions side by side: ``perf.streams.StreamGroup``), else the
    synchronous :func:`time_session` loop.

    With requests in flight, latency is per request (submit to completion, as benchmark_app reports it)
    and throughput = images completed over all streams / wall time of the measured region.
    """
    t = timing or Timing()
    form = session.in_flight()
    if form is None:
        return time_session(session, batch_size, input_size, t)
    x = make_input((batch_size, *input_size), t.data, uint8=takes_uint8(session))
    samples, wall = form.time_async(x, t)
    lat = Latency.from_values(samples)
    return PerfResult(
        batch_size, lat, wall, batch_size * lat.count / wall, t.warmup, t.data, form.timing_mode, tuple(samples)
    )
