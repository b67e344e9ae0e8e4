"""``zoobench loadgen``: every runtime × precision column under LoadGen's scenarios, one test per child process.

The data is the uint8 prep cache (an image folder is prepped first, into ``OUTDIR/cache``). Each column's engine
comes from the engine build (:func:`zoobench.engines.column_engine`, the file perf times, score scores and ship/
ships), built from one recipe resolved once; its hints from perf. LoadGen's files stay verbatim
under ``OUTDIR/<runtime>-<precision>/<Scenario>/{performance,accuracy}/``; ``OUTDIR/loadgen.json`` holds one row
per column × scenario × mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoobench.console import make_console
from zoobench.errors import RuntimeUnavailableError
from zoobench.io import write_json
from zoobench.scenarios.launch import Job, Test, launch, record
from zoobench.scenarios.settings import LoadgenSettings


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
    from zoobench.engines import resolve

    console = make_console(s.quiet)
    out = Path(s.outdir)
    out.mkdir(parents=True, exist_ok=True)
    recipe = resolve(model, weights=s.weights)
    cache, calibration = data, s.calibration
    if not is_cache(data):  # an image folder: prepped as run does, with the model's preprocessing
        meta = prep_cache(data, recipe.preprocess, out / "cache")
        console.print(f"prep: cache {meta.get('status')}: {meta.get('count')} images -> {out / 'cache'}")
        cache, calibration = str(out / "cache"), data
    opened = open_cache(cache)
    names = [opened.names[r] for r in opened.valid_rows()]
    labels = read_labels(s.labels) if s.labels else {}
    return Job(model, s, out, cache, names, labels, calibration, console.print, recipe)


def _column(job: Job, rt: str, prec: str, modes: list[str]) -> None:
    from zoobench.engines import column_engine
    from zoobench.scenarios.hints import hints_of, measure, offline_form

    s, col = job.settings, f"{rt}-{prec}"
    try:
        workdir = Path(s.workdir) if s.workdir else job.out / "engine"
        workdir.mkdir(parents=True, exist_ok=True)
        engine = column_engine(job.recipe, rt, prec, workdir=workdir, calibration=job.calibration, log=job.say)
        options, sessions, form_line = offline_form(engine, rt, prec, s.batch_size)
        cells, source = measure(engine, rt, prec, s.batch_size, s.perf_json)
    except (RuntimeUnavailableError, ImportError) as exc:
        job.say(f"{col}: unavailable — {exc}")
        job.rows.append({"column": col, "runtime": rt, "precision": prec, "result": "unavailable", "reason": str(exc)})
        return
    hints = hints_of(cells, s.batch_size, sessions, source)
    job.say(f"{col}: {source}; Offline: {form_line}")
    for scenario in s.scenarios:
        if scenario == "Server":
            from zoobench.scenarios.serving import server_tests

            server_tests(job, engine, (rt, prec), modes, hints, cells)
            continue
        for mode in modes:
            forms = (options, sessions) if scenario == "Offline" else ({}, 1)
            t = Test(rt, prec, scenario, mode, hints, options=forms[0], sessions=forms[1])
            record(job, engine, t, launch(job, engine, t))
