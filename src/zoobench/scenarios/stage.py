"""``zoobench loadgen``: every runtime × precision column under LoadGen's scenarios, one test per child process.

The data is the uint8 prep cache (an image folder is prepped first, into ``OUTDIR/cache``). Each column's engine
comes from :func:`zoobench.scenarios.engine.column_engine`; its hints from perf. LoadGen's files stay verbatim
under ``OUTDIR/<runtime>-<precision>/<Scenario>/{performance,accuracy}/``; ``OUTDIR/loadgen.json`` holds one row
per column × scenario × mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.artifact import Engine
from zoobench.console import make_console
from zoobench.errors import RuntimeUnavailableError
from zoobench.io import write_json
from zoobench.predictions import RunSummary
from zoobench.scenarios.settings import MULTI_STREAM_SAMPLES, Hints, LoadgenSettings, parse_length, plan


@dataclass
class Job:
    """What every test of one ``loadgen`` shares."""

    model: str
    settings: LoadgenSettings
    out: Path
    cache: str
    names: list[str]
    labels: dict[str, int]
    calibration: str | None
    say: Any
    rows: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def do_loadgen(model: str, data: str, settings: LoadgenSettings | None = None, **options: Any) -> dict[str, Any]:
    """Run the columns' tests; write and return loadgen.json.

    Raises:
        Interrupted: Ctrl-C (the running test's child stopped, its logs kept; loadgen.json has the finished rows).
    """
    from zoobench.scenarios.child import Interrupted
    from zoobench.scenarios.report import document, notes, print_rows

    s = LoadgenSettings.given(settings, options)
    import mlperf_loadgen  # noqa: F401  (the extra is needed; said in one line before any work)

    job = _job(model, data, s)
    for line in notes(s, model):
        job.say(line)
    try:
        for rt, prec, modes in s.columns():
            _column(job, rt, prec, modes)
    except Interrupted:
        write_json(job.out / "loadgen.json", document(job.rows, s, model, data))
        raise
    doc = document(job.rows, s, model, data)
    write_json(job.out / "loadgen.json", doc)
    print_rows(make_console(s.quiet), job.rows)
    return doc


def _job(model: str, data: str, s: LoadgenSettings) -> Job:
    from zoobench.data.cache import is_cache, open_cache, prep_cache
    from zoobench.data.datasets import read_labels
    from zoobench.engines import resolve_engine

    console = make_console(s.quiet)
    out = Path(s.outdir)
    out.mkdir(parents=True, exist_ok=True)
    cache, calibration = data, None
    if not is_cache(data):  # an image folder: prepped as run does, with the model's preprocessing
        base = resolve_engine(model, weights=s.weights, workdir=out / "engine", log=console.print)
        meta = prep_cache(data, base.preprocess, out / "cache")
        console.print(f"prep: cache {meta.get('status')}: {meta.get('count')} images -> {out / 'cache'}")
        cache, calibration = str(out / "cache"), data
    opened = open_cache(cache)
    names = [opened.names[r] for r in opened.valid_rows()]
    labels = read_labels(s.labels) if s.labels else {}
    return Job(model, s, out, cache, names, labels, calibration, console.print)


def _column(job: Job, rt: str, prec: str, modes: list[str]) -> None:
    from zoobench.scenarios.engine import column_engine
    from zoobench.scenarios.hints import hints_of, measure, offline_form

    s, col = job.settings, f"{rt}-{prec}"
    try:
        engine = column_engine(
            job.model, rt, prec, workdir=job.out / "engine", weights=s.weights, calibration=job.calibration,
            log=job.say,
        )  # fmt: skip
        options, sessions, form_line = offline_form(engine, rt, prec, s.batch_size)
        cells, source = measure(engine, rt, prec, s.batch_size)
    except (RuntimeUnavailableError, ImportError) as exc:
        job.say(f"{col}: unavailable — {exc}")
        job.rows.append({"column": col, "runtime": rt, "precision": prec, "result": "unavailable", "reason": str(exc)})
        return
    hints = hints_of(cells, s.batch_size, sessions, source)
    job.say(f"{col}: {source}; Offline: {form_line}")
    for scenario in s.scenarios:
        for mode in modes:
            forms = (options, sessions) if scenario == "Offline" else ({}, 1)
            _test(job, engine, (rt, prec), scenario, mode, hints, forms)


def _test(
    job: Job, engine: Engine, column: tuple[str, str], scenario: str, mode: str, hints: Hints,
    forms: tuple[dict[str, Any], int],
) -> None:  # fmt: skip
    from zoobench.scenarios.child import run_child
    from zoobench.scenarios.report import accuracy_row, test_row

    s, (rt, prec) = job.settings, column
    length = parse_length(s.length)
    values = plan(scenario, mode, length, hints, len(job.names))
    folder = job.out / f"{rt}-{prec}" / scenario / mode
    batch = s.batch_size if scenario == "Offline" else (MULTI_STREAM_SAMPLES if scenario == "MultiStream" else 1)
    note = "" if length.rule_compliant else " (test length: not rule compliant)"
    job.say(f"{rt}-{prec} {scenario} {mode}: expected ~{values['_expected_s']:.1f} s{note}")
    sut = run_child({
        "engine": engine.path, "runtime": rt, "precision": prec, "options": forms[0], "sessions": forms[1],
        "cache": job.cache, "plan": values, "batch": batch, "warm": sorted({batch, 1}), "outdir": str(folder),
        "trace": s.trace, "user_conf": str(Path(s.user_conf).resolve()) if s.user_conf else None,
    })  # fmt: skip
    base = {"column": f"{rt}-{prec}", "runtime": rt, "precision": prec, "scenario": scenario, "mode": mode,
            "length": length.text(), "rule_compliant": length.rule_compliant, "logs": str(folder),
            "hints": {"source": hints.source, "latency_ms": hints.latency_s * 1e3,
                      "offline_qps": hints.offline_qps}}  # fmt: skip
    if mode == "performance":
        job.rows.append({**base, **test_row(scenario, folder, sut)})
        return
    run = RunSummary(model=engine.model, random_weights=engine.random_weights, runtime=rt)
    row, answers = accuracy_row(folder, sut, job.names, job.labels, run)
    job.answers[(rt, prec, scenario)] = answers
    job.rows.append({**base, **row, **_paired(job, rt, prec, scenario, answers)})


def _paired(job: Job, rt: str, prec: str, scenario: str, answers: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    """The column's accuracy against its runtime's fp32 on the same scenario (none for fp32 itself)."""
    from zoobench.scenarios.accuracy import labels_for, paired

    ref = job.answers.get((rt, "fp32", scenario))
    if prec == "fp32" or ref is None:
        return {}
    both = ref[1] & answers[1]
    stats = paired(ref[0], answers[0], both, labels_for(job.names, job.labels, both), job.settings.max_drop)
    delta = {k: stats[k]["delta_points"] for k in ("top1", "top5") if k in stats}
    return {"vs_fp32": stats, "delta_vs_fp32_points": delta or None}
