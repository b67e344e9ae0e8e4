"""The Server scenario of one column: its policy (asked, or ``auto``'s choice and why), its parallel form, its
target QPS (``--target-qps``; ``--find-qps``'s search, each probe a short test of its own, then one confirming
test at the asked length; else a share of perf's best img/s, said), and its rows."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from zoobench.artifact import Engine
from zoobench.runtimes.base import LoadOptions
from zoobench.scenarios.hints import Cells, mean_latency_s
from zoobench.scenarios.launch import Job, Test, launch, record, test_dir
from zoobench.scenarios.server import (
    CONFIRM_BACKOFF,
    CONFIRM_TRIES,
    DEFAULT_SHARE,
    PROBE_FLOOR_S,
    PROBE_QUERIES,
    START_SHARE,
    choose_policy,
    confirm_targets,
    per_core_streams,
    search_qps,
    search_start,
)
from zoobench.scenarios.settings import MIN_QUERIES, MULTI_STREAM_SAMPLES, Hints, Length, LoadgenSettings

PROBE_SECONDS = 1.0
PROBE_MAX_SECONDS = 10.0  # a slow engine's probes stop short of PROBE_QUERIES (never below early stopping's 459)


def pick_policy(s: LoadgenSettings, cells: Cells) -> tuple[str, str]:
    """``(policy, why)``: the asked one, or ``auto``'s choice from perf's batch-1 and batch-8 latencies."""
    if s.server_policy != "auto":
        return s.server_policy, "asked (--server-policy)"
    policy, why = choose_policy(partial(mean_latency_s, cells), MULTI_STREAM_SAMPLES)  # perf's mean latency (s)
    return policy, f"auto: {why} (perf's mean latencies, one session)"


def server_form(
    engine: Engine, column: tuple[str, str], policy: str, max_batch: int, latency: tuple[float, float]
) -> tuple[LoadOptions, int, str]:
    """The sessions serving ``policy``: the tuned profile at its batch (1 for streams, ``max_batch`` for batch)
    when there is one; else, for streams, the runtime's ``server_streams`` form where one image on one thread
    leaves room under the bound (``latency``: perf's batch-1 seconds, the bound's; see
    :func:`~zoobench.scenarios.server.per_core_streams`); else perf's options, one session (its concurrent runs
    are the worker threads)."""
    from zoobench.perf.streams import settings_text
    from zoobench.runtimes import runtime_module
    from zoobench.scenarios.hints import offline_form

    rt, prec = column
    batch = max_batch if policy == "batch" else 1
    options, sessions, line = offline_form(engine, rt, prec, batch)
    cores = os.cpu_count() or 1
    declared = dict(runtime_module(rt).server_streams(cores))
    if policy == "streams" and sessions == 1 and not line.startswith("tuned profile") and declared:
        per_core, why = per_core_streams(latency[0], cores, latency[1])
        if not per_core:
            return options, 1, f"1 session x perf's options ({why}; {line})"
        form = declared
        streams = form.pop("streams", 1)
        sessions = int(streams) if isinstance(streams, (int, float, str)) else 1
        options = {**options, **form}
        line = f"{sessions} sessions x {settings_text(form) or 'defaults'} (the runtime's Server form: {why}; {line})"
    return options, sessions, line


def best_rate(cells: Cells, hints: Hints) -> tuple[float, str]:
    """perf's best img/s for this engine (over its timed batches and the Offline form) and which it is."""
    rates = {f"batch {b}": float(c.throughput_img_s or 0.0) for b, c in cells.items()}
    rates["the Offline form"] = float(hints.offline_qps)
    which = max(rates, key=lambda k: rates[k])
    return rates[which], f"{rates[which]:.1f} img/s at {which}, {hints.source}"


def server_tests(
    job: Job,
    engine: Engine,
    column: tuple[str, str],
    modes: list[str],
    hints: Hints,
    cells: Cells,
) -> None:
    """The Server's tests of one column (its search probes first, when asked)."""
    s, (rt, prec) = job.settings, column
    policy, why = pick_policy(s, cells)
    single_s, bound_s = mean_latency_s(cells, 1), s.latency_ms / 1e3
    options, sessions, form_line = server_form(engine, column, policy, s.max_batch, (single_s, bound_s))
    batching = policy == "batch"
    server = {
        "policy": policy,
        "max_batch": s.max_batch if batching else 1,
        "batch_wait_ms": s.batch_wait_ms if batching else 0.0,
        "latency_bound_s": bound_s,
    }
    job.say(f"{rt}-{prec} Server: policy {policy} ({why}); {form_line}")
    base = Test(rt, prec, "Server", "performance", hints, options, sessions, server)
    extra: dict[str, Any] = {"server_policy": {"asked": s.server_policy, "chose": policy, "why": why}}
    best, best_text = best_rate(cells, hints)
    if s.target_qps:
        qps, source = float(s.target_qps), "--target-qps"
    elif s.find_qps:
        qps, source, tried = _find(job, engine, base, (best, best_text), single_s)
        extra["search"] = [{"target_qps": round(q, 2), "valid": ok} for q, ok in tried]
    else:
        qps, source = DEFAULT_SHARE * best, f"{DEFAULT_SHARE:g} x perf's best img/s ({best_text})"
    job.say(f"{rt}-{prec} Server: target {qps:.1f} queries/s, p99 <= {s.latency_ms:g} ms ({source})")
    extra.update({"target_source": source, "form": form_line})
    searched = bool(s.find_qps and not s.target_qps)
    for mode in modes:
        t = replace(base, mode=mode, hints=replace(hints, server_qps=qps, latency_bound_s=bound_s))
        if mode == "performance" and searched:
            _confirm(job, engine, t, extra)
        else:
            record(job, engine, t, launch(job, engine, t), extra)


def _confirm(job: Job, engine: Engine, t: Test, extra: dict[str, Any]) -> None:
    """The searched target's confirming run at the asked length, on at least its probe's queries (early stopping
    over 459 queries tolerates fewer slow ones than over 1,000: a shorter run would hold the target to a stricter
    test than the probe that passed it); an INVALID one is repeated ``CONFIRM_BACKOFF`` lower, up to
    ``CONFIRM_TRIES`` runs (one where no probe was VALID). The row is the last run's; ``confirm`` lists every
    run's target and verdict."""
    tries: list[dict[str, Any]] = []
    held = any(x["valid"] for x in extra.get("search") or [])
    targets = confirm_targets(float(t.hints.server_qps or 0.0), CONFIRM_TRIES if held else 1)
    for i, qps in enumerate(targets):
        folder = None if i == 0 else test_dir(job, t) / f"performance-{i + 1}"
        run = replace(t, hints=replace(t.hints, server_qps=qps), min_queries=probe_queries(qps), folder=folder)
        if i:
            job.say(f"{t.runtime}-{t.precision} Server: confirming again at {qps:.1f} queries/s ({CONFIRM_BACKOFF:g}x)")
        row = record(job, engine, run, launch(job, engine, run), dict(extra))
        tries.append({"target_qps": round(qps, 2), "result": row.get("result"), "p99_ms": row.get("p99_ms")})
        row["confirm"] = list(tries)
        if row.get("result") == "VALID" or i == len(targets) - 1:
            return
        job.rows.pop()  # an INVALID confirmation is kept in the next row's ``confirm`` and in its folder


def _find(
    job: Job, engine: Engine, base: Test, best: tuple[float, str], single_s: float
) -> tuple[float, str, list[tuple[float, bool]]]:
    """``--find-qps``: the target to confirm, where it came from, and the probes. No probe when one image alone
    takes longer than the bound (then the confirming run is at a quarter of perf's best: INVALID, with its p99)."""
    s = job.settings
    rate, rate_text = best
    start, why = search_start(rate, single_s, s.latency_ms / 1e3)
    if start <= 0:
        job.say(f"{base.runtime}-{base.precision} Server: no search: {why}")
        return (
            START_SHARE * rate,
            f"--find-qps: no target can be VALID ({why}); confirming at {START_SHARE:g} x perf's best ({rate_text})",
            [],
        )
    floor = MIN_QUERIES["Server"] / PROBE_FLOOR_S
    qps, tried = search_qps(_prober(job, engine, base), start, rate, steps=s.search_steps, floor=floor)
    source = f"--find-qps: the highest VALID of {len(tried)} probes from {why} ({rate_text})"
    if qps <= 0:
        lowest = min(q for q, _ in tried)
        return lowest, f"{source}; none VALID (none below {floor:.1f} queries/s): confirming the lowest", tried
    return qps, source, tried


def probe_queries(qps: float) -> int:
    """A search probe's queries at ``qps``: PROBE_QUERIES, fewer for a slow engine (at most PROBE_MAX_SECONDS
    of them), never fewer than early stopping's minimum."""
    return max(MIN_QUERIES["Server"], min(PROBE_QUERIES, int(qps * PROBE_MAX_SECONDS)))


def _prober(job: Job, engine: Engine, base: Test) -> Callable[[float], bool]:
    """A search probe: a short Server test at a target (PROBE_QUERIES queries: early stopping tolerates a few
    over the bound) under ``OUTDIR/<column>/Server/search/``; True when VALID."""
    from zoobench.scenarios.report import test_row

    s, count = job.settings, [0]

    def probe(qps: float) -> bool:
        count[0] += 1
        folder = test_dir(job, base) / "search" / f"{count[0]:02d}-{qps:.0f}qps"
        queries = probe_queries(qps)
        t = replace(
            base,
            hints=replace(base.hints, server_qps=qps, latency_bound_s=s.latency_ms / 1e3),
            length=Length("seconds", PROBE_SECONDS),
            folder=folder,
            min_queries=queries,
            quiet=True,
        )
        folder, sut, _length = launch(job, engine, t)
        row = test_row("Server", folder, sut)
        job.say(f"  probe {qps:.1f} queries/s: {row['result']} (p99 {row['p99_ms']} ms)")
        return row["result"] == "VALID"

    return probe
