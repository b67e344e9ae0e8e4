"""The Server scenario's choices: which serving policy (``auto``), which target QPS (given, searched, or from
perf's best img/s), and the SUT that serves it (:mod:`zoobench.scenarios.batcher`'s workers over the runner).

``auto`` compares what a batch of 8 costs with what a single image costs on the engine (perf's mean latencies at
batch 1 and 8, one session): batching pays only where a batch costs clearly less per image than single images
do (GPUs, NPUs); where it does not (a CPU that single-image sessions already fill) it only adds waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PROBE_BATCH = 8
# batch is chosen when 8 images as one batch cost at most 1/BATCH_GAIN of 8 single runs (per image: 2x cheaper)
BATCH_GAIN = 2.0
# without --target-qps / --find-qps the target is this share of perf's best img/s for the policy's parallel form
# (a queue at full utilisation has no bounded p99: MLPerf's Python reference holds ~60% of Offline on 2 cores)
DEFAULT_SHARE = 0.5
SHED_FACTOR = 20.0  # a request that waited this many latency bounds (and at least SHED_MIN_S) is shed
SHED_MIN_S = 1.0
PROBE_QUERIES = 1000  # a search probe's queries: early stopping tolerates a few over the bound at p99
SEARCH_STEPS = 6
START_SHARE = 0.25  # the search's first target: this share of perf's best img/s (a probe at a low target is long)
SEARCH_GROW = 1.5  # a VALID target is raised this much (up to perf's best) until one is INVALID
PROBE_FLOOR_S = 60.0  # no probe below the target at which early stopping's 459 queries take this long
# bisection stops once its VALID and INVALID targets are this close: nearer, one probe's verdict is noise (measured,
# mnasnet1_0 OpenVINO int8 at 15 ms: 298.8 VALID, 305.3 INVALID, 302.1 VALID, 303.7 INVALID)
SEARCH_RESOLUTION = 0.03
# a confirming run that fails is repeated this much lower, up to CONFIRM_TRIES runs in all (the search ends at the
# edge, where a second run of a VALID probe's target is INVALID about as often as not)
CONFIRM_BACKOFF = 0.9
CONFIRM_TRIES = 3
# one single-thread session per core serves Server requests only while one image on one thread (estimated as
# cores x perf's batch-1 latency on all of them) stays under this share of the bound: measured on a 2-core Xeon,
# mnasnet1_0 ORT fp32 took ~7 ms on one thread and its p99 under LoadGen's Poisson arrivals was ~14.7 ms even at
# 9 queries/s (INVALID at 15 ms), while one 2-thread session (3.4 ms) held the bound
STREAM_SHARE = 1 / 3


def choose_policy(cost: Callable[[int], float], probe: int = PROBE_BATCH) -> tuple[str, str]:
    """``(policy, why)`` from ``cost(n)``: the seconds one run of an ``n``-image batch takes on one session."""
    one, many = float(cost(1)), float(cost(probe))
    if one <= 0:
        return "streams", "no single-image cost measured: streams (MLPerf's reference scheme)"
    ratio = many / one
    text = f"a batch of {probe} costs {ratio:.2f}x one image"
    if ratio * BATCH_GAIN <= probe:
        return "batch", f"{text} (<= {probe / BATCH_GAIN:g}x): batching pays"
    return "streams", f"{text} (> {probe / BATCH_GAIN:g}x): batching would mostly add waiting"


def per_core_streams(single_s: float, cores: int, bound_s: float) -> tuple[bool, str]:
    """Whether the Server's ``streams`` policy runs one single-thread session per core (MLPerf's reference scheme)
    or one session with every thread, and why: ``single_s`` is perf's batch-1 latency on one session with all
    ``cores`` threads, so one image on one thread takes up to ``cores`` times that; a tail above the bound follows
    long before the queue fills once that nears the bound."""
    one_thread = single_s * max(1, cores)
    text = f"one image on one thread ~{one_thread * 1e3:.1f} ms ({cores} x perf's batch-1 {single_s * 1e3:.1f} ms)"
    if cores <= 1 or one_thread <= STREAM_SHARE * bound_s:
        return True, f"{text} <= {STREAM_SHARE:.2g} x the {bound_s * 1e3:g} ms bound"
    return False, f"{text} > {STREAM_SHARE:.2g} x the {bound_s * 1e3:g} ms bound: one session, all threads"


def search_start(best: float, single_s: float, bound_s: float) -> tuple[float, str]:
    """The search's first target and why; 0.0 when no target can hold the bound: one image alone (perf's mean
    latency at batch 1, one session with all its threads) already takes longer than the bound."""
    if single_s >= bound_s:
        return 0.0, f"one image alone takes {single_s * 1e3:.1f} ms (perf, batch 1) >= the {bound_s * 1e3:g} ms bound"
    return START_SHARE * best, f"{START_SHARE:g} x perf's best img/s"


def search_qps(
    probe: Callable[[float], bool], start: float, ceiling: float, *, steps: int = SEARCH_STEPS, floor: float = 0.0
) -> tuple[float, list[tuple[float, bool]]]:
    """The highest target ``probe`` calls VALID, at most ``ceiling`` (perf's best img/s: a queue at full
    utilisation has no bounded p99): ``start`` first, raised ``SEARCH_GROW``x (up to ``ceiling``) while VALID;
    then up to ``steps`` bisection probes between the highest VALID target (0 when none) and the lowest INVALID
    one, until they are within ``SEARCH_RESOLUTION`` of each other, none below ``floor`` (a probe's queries take
    too long there; where even the probes above it fail, the tail is the engine's own, not the queue's).
    Returns ``(qps, [(target, valid), …])``; qps 0.0 when no probe was VALID."""
    tried: list[tuple[float, bool]] = []

    def ask(qps: float) -> bool:
        ok = bool(probe(qps))
        tried.append((qps, ok))
        return ok

    low, high = 0.0, min(float(start), float(ceiling))
    ok = ask(high)
    while ok and high < ceiling:
        low, high = high, min(high * SEARCH_GROW, float(ceiling))
        ok = ask(high)
    if ok:
        return high, tried
    for _ in range(steps):
        mid = (low + high) / 2
        if mid < floor or high - low <= SEARCH_RESOLUTION * high:
            break
        if ask(mid):
            low = mid
        else:
            high = mid
    return low, tried


def confirm_targets(qps: float, tries: int = CONFIRM_TRIES) -> list[float]:
    """The targets a searched ``qps`` is confirmed at, in order, each run only when the one before was INVALID."""
    return [qps * CONFIRM_BACKOFF**i for i in range(max(1, tries))]


def shed_after(latency_bound_s: float) -> float:
    return max(SHED_FACTOR * latency_bound_s, SHED_MIN_S)


def construct_server(lg: Any, runner: Any, server: dict[str, Any]) -> tuple[Any, Callable[[], None], Any]:
    """LoadGen's SUT handle for the Server scenario, what stops it, and what returns its record (policy, batch
    histogram, shed samples). ``server``: policy, max_batch, batch_wait_ms, latency_bound_s."""
    from zoobench.scenarios.batcher import Workers

    workers = Workers(
        runner.answer,
        runner.complete_empty,
        runner.workers,
        policy=server["policy"],
        max_batch=int(server.get("max_batch", 1)),
        wait_s=float(server.get("batch_wait_ms", 0)) / 1e3,
        shed_after_s=shed_after(float(server["latency_bound_s"])),
    )

    def issue(samples: Any) -> None:
        try:
            workers.issue(samples)
        except BaseException as exc:
            runner.fail_all(samples, exc)

    return lg.ConstructSUT(issue, _flush), workers.stop, workers.record


def _flush() -> None:
    return None
