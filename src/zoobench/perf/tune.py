"""``zoobench tune``: the AOE step. For each batch size, search the load settings a runtime declares
(``tunables()`` in its module) with successive halving inside a time budget, then time the best against the
default in interleaved, paired rounds and keep it only when the paired tests say it is faster
(:mod:`zoobench.perf.paired`: won every one of >= 5 rounds by more than 2%, or a paired t interval on the
per-round ratio above 1.02x).

Every measurement is perf's (:func:`zoobench.perf.timing.time_throughput`): the same loop, warm-up and
statistics; several streams count the images of all streams over the wall time.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from zoobench.errors import ZoobenchError
from zoobench.perf.paired import MARGIN, MIN_ROUNDS, paired_verdict
from zoobench.perf.profile import TuneProfile
from zoobench.perf.settings import TuneSettings
from zoobench.perf.streams import open_tuned, settings_text
from zoobench.perf.timing import PerfResult, RoundsSummary, Timing, summarize_rounds, time_throughput
from zoobench.runtimes.base import Session

Clock = Callable[[], float]
FINAL_ROUNDS = MIN_ROUNDS  # paired rounds: enough for the sign test
FINAL_SHARE = 0.5  # of each batch size's budget, kept for the default-vs-best rounds that decide


@dataclass
class _Arm:
    """One candidate setting in the search."""

    settings: dict[str, Any]
    session: Session | None = None
    score: float | None = None  # img/s in the latest rung it ran in
    rungs: list[float] = field(default_factory=list)
    rounds: list[PerfResult] = field(default_factory=list)  # the final comparison's rounds
    error: str | None = None
    load_s: float = 0.0


def _close(arm: _Arm) -> None:
    """Free ``arm``'s session now (a loser's at once, the rest when the search ends: memory stays bounded)."""
    session, arm.session = arm.session, None
    if session is not None:
        with contextlib.suppress(Exception):  # a session that failed mid-run may not release cleanly
            session.release()


def candidates_for(runtime: str, cores: int, precision: str = "fp32", deep: bool = False) -> list[dict[str, Any]]:
    """The load options of the settings ``runtime`` declares (its module's ``tunables()``), the default (``{}``)
    first."""
    from zoobench.runtimes import runtime_module

    found = [c.as_options() for c in runtime_module(runtime).tunables(cores, precision, deep)]
    return found if found and found[0] == {} else [{}, *[c for c in found if c]]


class _Search:
    """Successive halving over the candidates of one batch size, then default vs best in interleaved rounds."""

    def __init__(
        self,
        open_session: Callable[[dict[str, Any]], Session],
        candidates: list[dict[str, Any]],
        batch_size: int,
        input_size: tuple[int, int, int],
        *,
        budget_s: float,
        clock: Clock | None,
        progress: Callable[[str], None],
    ) -> None:
        self.open, self.bs, self.input_size = open_session, batch_size, input_size
        self.arms = [_Arm(dict(c)) for c in candidates]
        self.clock, self.timing_clock = clock or time.perf_counter, clock
        self.start = self.clock()
        self.budget_s, self.deadline = budget_s, self.start + budget_s
        self.progress = progress
        self.pairs: list[tuple[float, float]] = []  # (default, best) img/s of each final round both finished

    def _time(self, arm: _Arm, seconds: float) -> PerfResult | None:
        """One timed loop of ``arm`` (loading it first if needed); None when it fails (recorded)."""
        try:
            if arm.session is None:
                t0 = self.clock()
                arm.session = self.open(arm.settings)
                arm.load_s = self.clock() - t0
                seconds = max(0.0, seconds - arm.load_s)
            # a new session is warmed up once; later rounds re-warm nothing (both sides alike), to spare the budget
            warmup = 0 if arm.rungs or arm.rounds else 1
            timing = Timing(seconds=seconds, min_iters=2, warmup=warmup, data="random", clock=self.timing_clock)
            return time_throughput(arm.session, self.bs, self.input_size, timing)
        except Exception as exc:  # a setting this machine or engine cannot take is dropped, with why
            _close(arm)
            arm.error = f"{type(exc).__name__}: {exc}"
            return None

    def _rung(self, alive: list[_Arm], phase_end: float, keep: int) -> list[_Arm]:
        """Time every candidate once in the time left to ``phase_end``; the ``keep`` fastest go on."""
        for arm in alive:
            arm.score = None  # ranked on this rung's timing only
        for i, arm in enumerate(alive):
            if self.clock() >= self.deadline:
                break
            self.progress(f"batch {self.bs}: {settings_text(arm.settings)}")
            res = self._time(arm, max(0.0, phase_end - self.clock()) / (len(alive) - i))
            if res is not None:
                arm.score = res.throughput_img_s
                arm.rungs.append(round(arm.score, 3))
            for loser in _ranked(alive)[keep:]:
                _close(loser)
        survivors = _ranked(alive)[:keep]
        if not survivors:  # the budget ran out before this rung timed anyone: the last rung's ranking stands
            last = [a for a in alive if a.rungs and a.session is not None]
            survivors = sorted(last, key=lambda a: -a.rungs[-1])[:keep]
        return survivors

    def run(self) -> BatchVerdict:
        """Halve the candidates (not the default) rung by rung in the search share of the budget, then the final."""
        alive = self.arms[1:]
        rungs = max(1, math.ceil(math.log2(len(alive)))) if alive else 0
        search_s = self.budget_s * (1.0 - FINAL_SHARE)
        try:
            for r in range(rungs):
                keep = 1 if r == rungs - 1 else max(1, math.ceil(len(alive) / 2))
                alive = self._rung(alive, self.start + search_s * (r + 1) / rungs, keep)
                if len(alive) <= 1:
                    break
            return self._final([self.arms[0], *alive[:1]])
        finally:
            for arm in self.arms:
                _close(arm)

    def _final(self, pair: list[_Arm]) -> BatchVerdict:
        """Default and best timed in :data:`FINAL_ROUNDS` interleaved rounds, the rest of the budget shared out
        evenly; the best wins only by the paired tests (:func:`~zoobench.perf.paired.paired_verdict`)."""
        default, best = pair[0], (pair[1] if len(pair) > 1 else None)
        for r in range(FINAL_ROUNDS):
            got = []
            for i, arm in enumerate(pair):
                left = (FINAL_ROUNDS - r) * len(pair) - i
                self.progress(f"batch {self.bs}: final round {r + 1}/{FINAL_ROUNDS}, {settings_text(arm.settings)}")
                res = self._time(arm, max(0.0, self.deadline - self.clock()) / left)
                if res is not None:
                    arm.rounds.append(res)
                got.append(res)
            if len(got) == 2 and got[0] is not None and got[1] is not None:
                self.pairs.append((got[0].throughput_img_s, got[1].throughput_img_s))
        return self._verdict(default, best)

    def _verdict(self, default: _Arm, best: _Arm | None) -> BatchVerdict:
        if not default.rounds:
            raise ZoobenchError(f"batch {self.bs}: the default setting could not run: {default.error}")
        before = summarize_rounds(default.rounds)
        after = summarize_rounds(best.rounds) if best is not None and best.rounds else None
        verdict = paired_verdict([d for d, _ in self.pairs], [c for _, c in self.pairs])
        wins = after is not None and verdict.wins
        chosen = best if wins and best is not None else default
        kept = after if wins and after is not None else before
        why = verdict.why if after is not None else "no candidate was timed within the budget"
        best_candidate: dict[str, Any] | None = None
        if best is not None:
            best_candidate = {"settings": best.settings, **(_cell(after) if after else {})}
        return {
            "settings": chosen.settings,
            "before": _cell(before),
            "after": _cell(kept),
            "ratio": round(kept["throughput_img_s"] / before["throughput_img_s"], 4),
            "best_candidate": best_candidate,
            "kept_default": not wins,
            "why": why,
            "test": verdict.test if wins else None,  # sign | t (paired); None: the default kept
            "paired": _paired_record(verdict),
            "streams": int(chosen.settings.get("streams", 1)),
            "timed": sum(1 for a in self.arms[1:] if a.rungs),  # of the candidates, within the budget
            "candidates": [_arm_record(a) for a in self.arms],
            "elapsed_s": round(self.clock() - self.start, 2),
        }


def _ranked(arms: list[_Arm]) -> list[_Arm]:
    """The arms timed in the current rung, fastest first."""
    timed = [a for a in arms if a.score is not None and a.error is None]
    return sorted(timed, key=lambda a: -float(a.score or 0.0))


class TunedCell(TypedDict):
    """A setting's cell in the tune profile: perf's figures over the rounds, with the median latency."""

    throughput_img_s: float
    spread_pct: float
    repeats: list[float]
    unstable: bool
    mode: str
    latency_ms_median: float


class BatchVerdict(TypedDict):
    """One batch size's search and decision in the tune profile (``batches`` of a column)."""

    settings: dict[str, Any]
    before: TunedCell
    after: TunedCell
    ratio: float
    best_candidate: dict[str, Any] | None
    kept_default: bool
    why: str
    test: str | None
    paired: _PairedRecord
    streams: int
    timed: int
    candidates: list[_ArmRecord]
    elapsed_s: float


def _cell(summary: RoundsSummary) -> TunedCell:
    return {
        "throughput_img_s": summary["throughput_img_s"],
        "spread_pct": summary["spread_pct"],
        "repeats": summary["repeats"],
        "unstable": summary["unstable"],
        "mode": summary["mode"],
        "latency_ms_median": round(float(summary["latency"]["median_ms"]), 3),
    }


class _PairedRecord(TypedDict):
    ratios: list[float]
    won: int
    margin: float
    lower_95: float | None


def _paired_record(verdict: Any) -> _PairedRecord:
    """The final rounds as the decision saw them: each round's ratio (best / default), rounds won by more than
    the margin, the t lower bound."""
    low = None if verdict.lower is None else round(verdict.lower, 4)
    return {"ratios": [round(r, 4) for r in verdict.ratios], "won": verdict.won, "margin": MARGIN, "lower_95": low}


class _ArmRecord(TypedDict, total=False):
    settings: dict[str, Any]
    img_s_per_rung: list[float]
    error: str


def _arm_record(arm: _Arm) -> _ArmRecord:
    rec: _ArmRecord = {"settings": arm.settings, "img_s_per_rung": arm.rungs}
    if arm.error:
        rec["error"] = arm.error
    return rec


class TuneColumn(TypedDict):
    """One runtime × precision's entry in the tune profile (``columns`` of ``STEM.tuned.json``)."""

    runtime: str
    precision: str
    runtime_version: str | None
    engine_file: str
    base_options: dict[str, Any]
    budget_s: float
    elapsed_s: float
    candidates: int
    deep: bool
    batches: dict[str, Any]  # batch size -> its BatchVerdict (or the defaults, untimed, once the budget is spent)


def search_batch(
    open_session: Callable[[dict[str, Any]], Session],
    candidates: list[dict[str, Any]],
    batch_size: int,
    input_size: tuple[int, int, int],
    *,
    budget_s: float,
    clock: Clock | None = None,
    progress: Callable[[str], None] | None = None,
) -> BatchVerdict:
    """The best of ``candidates`` (the first is the default) for one batch size, within ``budget_s`` seconds of
    ``clock`` (loads, warm-ups and timed loops all count).

    Returns:
        ``settings`` (the default's ``{}`` unless a candidate won the paired rounds: :mod:`zoobench.perf.paired`),
        ``before`` / ``after`` (median img/s, spread and rounds of the default and of what is kept), ``ratio``,
        ``kept_default``, ``why``, every candidate's img/s per rung, ``elapsed_s``.
    """
    search = _Search(
        open_session,
        candidates,
        batch_size,
        input_size,
        budget_s=budget_s,
        clock=clock,
        progress=progress or (lambda _text: None),
    )
    return search.run()


def tune_column(
    engine: Any,
    settings: TuneSettings,
    *,
    workdir: Path,
    clock: Clock | None = None,
    progress: Callable[[float, str], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> TuneColumn:
    """Tune one runtime × precision of ``engine`` for each batch size; returns the profile entry (not saved).

    The budget is shared out over the batch sizes still to do, so time one batch leaves unused goes to the next.
    """
    from zoobench.env import environment
    from zoobench.perf.sweep import perf_options, prepare_column

    runtime, precision, budget_s, sizes = settings.runtime, settings.precision, settings.budget_s, settings.batch_sizes
    path, options = prepare_column(engine, runtime, precision, workdir=workdir, log=log)
    base = {**options, **perf_options(runtime)}
    cores = int(environment()["cpu_affinity"] or 1)
    candidates = candidates_for(runtime, cores, precision, settings.deep)
    clk = clock or time.perf_counter
    start = clk()

    def open_session(tried: dict[str, Any]) -> Session:
        return open_tuned(path, runtime, precision, tried, base=base, threads=settings.threads)

    probe = open_session({})
    version = probe.info().version
    probe.release()
    batches: dict[str, Any] = {}
    for i, bs in enumerate(sizes):
        share = max(0.0, budget_s - (clk() - start)) / (len(sizes) - i)
        if share <= 0:  # the batches before spent it all: the defaults, untimed, and the profile says so
            batches[str(bs)] = {"settings": {}, "kept_default": True, "why": "budget spent before this batch"}
            continue

        def say(text: str) -> None:
            if progress:
                progress(clk() - start, text)

        batches[str(bs)] = search_batch(
            open_session, candidates, bs, engine.preprocess.input_size, budget_s=share, clock=clock, progress=say
        )
    return {
        "runtime": runtime,
        "precision": precision,
        "runtime_version": version,
        "engine_file": Path(path).name,
        "base_options": base,
        "budget_s": budget_s,
        "elapsed_s": round(clk() - start, 2),
        "candidates": len(candidates),
        "deep": settings.deep,
        "batches": batches,
    }


def tune_engine(
    engine: Any, settings: TuneSettings, *, workdir: Path | None = None, quiet: bool = False
) -> TuneProfile:
    """Tune one column of ``engine`` with a progress bar, save it into ``STEM.tuned.json`` beside the engine;
    returns the whole profile (what perf applies). Compiled engines the column needs go to ``workdir`` (default:
    beside the engine)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from zoobench.console import make_console
    from zoobench.perf.profile import save_column

    console = make_console(quiet)
    columns = (TextColumn("[bold]tune[/]"), BarColumn(), TextColumn("{task.fields[now]}"), TimeElapsedColumn())
    name, budget_s = f"{settings.runtime} {settings.precision}", settings.budget_s
    with Progress(*columns, console=console, transient=True, disable=quiet) as bar:
        task = bar.add_task("tune", total=budget_s, now=name)

        def progress(elapsed: float, text: str) -> None:
            bar.update(task, completed=min(elapsed, budget_s), now=f"{name} {text}")

        entry = tune_column(
            engine, settings, workdir=workdir or Path(engine.path).parent, progress=progress, log=console.print
        )
    return save_column(engine.path, entry)
