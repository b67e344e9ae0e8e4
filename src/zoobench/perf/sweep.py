"""``zoobench perf``: batch sizes × runtimes × precisions, timed alike in interleaved rounds, as the seeds' tables.

Each runtime×precision is a column; a combination that cannot run here is reported with its reason,
never a crash of the sweep. ``perf.json`` keeps every round, every latency statistic and the environment.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from zoobench.artifact import Engine, load_engine
from zoobench.console import make_console
from zoobench.engines import resolve_engine
from zoobench.env import environment
from zoobench.errors import ZoobenchError
from zoobench.io import write_json
from zoobench.perf.profile import TuneProfile
from zoobench.perf.results import CellResult, ColumnResult, SweepResult
from zoobench.perf.settings import PerfSettings
from zoobench.perf.table import build_table, cell_text
from zoobench.perf.timing import UNSTABLE_SPREAD_PCT
from zoobench.runtimes.base import LoadOptions, Timing


def _base_engine(engine: Engine) -> Engine:
    """The plain export a compiled engine came from (to compile other precisions from), if it is there."""
    src = engine.metadata.get("source")
    if engine.runtime and src and Path(src).is_file():
        return load_engine(str(src))
    return engine


def prepare_column(
    engine: Engine,
    runtime: str,
    precision: str,
    *,
    workdir: Path,
    calibration: str | None = None,
    log: Any = None,
) -> tuple[str, LoadOptions]:
    """The model file and load options that run ``engine`` on ``runtime`` at ``precision``.

    A compiled engine of the same runtime and precision is used as it is; otherwise fp32/bf16 load the
    ONNX directly and int8 (or a TensorRT plan) is the engine build's uint8-input engine of the column
    (:func:`zoobench.engines.column_engine`: built once into the store, linked into ``workdir``).

    Raises:
        RuntimeUnavailableError / ZoobenchError: the combination cannot run here; the message says why.
    """
    if engine.runtime == runtime and engine.precision == precision:
        return engine.path, {}
    base = _base_engine(engine)
    if base.runtime:
        raise ZoobenchError(f"{engine.path} is a {engine.runtime} {engine.precision} engine and its source is gone")
    from zoobench.errors import RuntimeUnavailableError
    from zoobench.runtimes import RUNTIMES, runtime_module, supports

    ok, why = supports(runtime, RUNTIMES[runtime].device if runtime in RUNTIMES else "cpu", precision)
    if not ok:
        raise RuntimeUnavailableError(why)
    if precision not in runtime_module(runtime).COMPILED_PRECISIONS:
        return base.path, {}
    from zoobench.engines import column_engine, resolve

    compiled = column_engine(resolve(base.path), runtime, precision, workdir=workdir, calibration=calibration, log=log)
    return compiled.path, {}


def perf_options(runtime: str) -> LoadOptions:
    """The load options perf runs ``runtime`` with, as its module declares them (``PERF_OPTIONS``)."""
    from zoobench.runtimes import runtime_module

    return dict(runtime_module(runtime).PERF_OPTIONS)


def do_perf(
    model: str,
    settings: PerfSettings | None = None,
    *,
    engine: Engine | None = None,
    profile: TuneProfile | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Time every cell (runtime × precision × batch) in interleaved rounds; print the table; write perf.json.

    ``settings`` says how (see :class:`~zoobench.perf.settings.PerfSettings`); a caller without one (the Python
    API, tests, ``perf --ray``'s node task) passes its fields as keyword ``options`` instead. ``engine``: an engine
    already loaded (no export). ``profile``: a tuned profile handed on in memory (``run --tune``), else the
    engine's ``STEM.tuned.json``. Without ``outdir`` or ``workdir`` the export and any compiled engines go to a
    temporary directory that is removed after.

    Returns:
        ``results`` / ``runtime`` / ``best_*`` of the first column that ran, ``columns`` (every combination,
        available or not, with reasons; each result has ``repeats``, ``spread_pct``, ``unstable``) and ``table``.
    """
    s = PerfSettings.given(settings, options)
    if s.outdir or s.workdir:
        return _sweep(model, s, engine, profile)
    with tempfile.TemporaryDirectory(prefix="zoobench-perf-") as tmp:
        return _sweep(model, s.but(workdir=tmp), engine, profile, temporary=True)


def _sweep(
    model: str, s: PerfSettings, engine: Engine | None, profile: TuneProfile | None, temporary: bool = False
) -> dict[str, Any]:
    """The sweep of :func:`do_perf`: columns opened once, cells timed in ``s.repeats`` rounds, the table."""
    console = make_console(s.quiet)
    engines_dir = Path(s.workdir or s.outdir or ".")
    if engine is None:
        engine = resolve_engine(model, weights=s.weights, workdir=engines_dir, log=console.print)
    rts = list(s.runtimes or [engine.runtime or "onnxruntime"])
    precs = list(s.precisions or [engine.precision])
    batch_sizes = list(s.batch_sizes)
    columns, sessions = _open_columns(engine, rts, precs, engines_dir, s.calibration, s.threads, console)
    if s.tuned:
        _add_tuned(engine, columns, sessions, batch_sizes, profile, s.threads, console)
    try:
        size = engine.preprocess.input_size
        rounds = _interleaved_rounds(sessions, batch_sizes, size, s.repeats, s.timing(), console)
        for name, session in sessions.items():
            col = next(c for c in columns if c["name"] == name)
            col["results"] = [_with_streams(rounds[(name, bs)], session, bs, col) for bs in batch_sizes]
    finally:  # every session's memory is freed before the table is printed (or when a round failed)
        for session in sessions.values():
            for one in session.values() if isinstance(session, dict) else [session]:
                one.release()
    result = _result(engine, columns, batch_sizes, s.data_kind, s.repeats, temporary=temporary).to_dict()
    if s.outdir:
        write_json(Path(s.outdir) / "perf.json", result)
    print_table(console, result)
    return result


def _add_tuned(
    engine: Engine,
    columns: list[dict[str, Any]],
    sessions: dict[str, Any],
    batch_sizes: list[int],
    profile: TuneProfile | None,
    threads: int | None,
    console: Any,
) -> None:
    from zoobench.perf.profile import add_tuned_columns

    def say(message: str) -> None:
        console.print(message, markup=False)

    add_tuned_columns(engine.path, columns, sessions, batch_sizes, profile=profile, threads=threads, say=say)


def _open_columns(
    engine: Engine,
    rts: list[str],
    precs: list[str],
    workdir: Path,
    calibration: str | None,
    threads: int | None,
    console: Any,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One column per runtime × precision, its session loaded (kept for every round), or its reason."""
    from zoobench.runtimes import load_session

    columns: list[dict[str, Any]] = []
    sessions: dict[str, Any] = {}
    for rt in rts:
        for prec in precs:
            col: dict[str, Any] = {"name": f"{rt} {prec}", "runtime": rt, "precision": prec, "available": False}
            columns.append(col)
            try:
                path, options = prepare_column(
                    engine, rt, prec, workdir=workdir, calibration=calibration, log=console.print
                )
                options.update(perf_options(rt))
                load_options: dict[str, Any] = dict(options)  # load_session takes any runtime's own options
                session = load_session(path, rt, precision=prec, threads=threads, **load_options)
            except (ZoobenchError, ImportError) as exc:
                col["reason"] = str(exc)  # printed under the table
                continue
            col.update(available=True, engine=path, info=session.info().to_dict(), results=[], options=options)
            if prec == "int8":
                meta = load_engine(path).metadata if Path(path).is_file() else {}
                col["calibration"] = meta.get("calibration")
                col["agreement"] = meta.get("agreement")
            sessions[col["name"]] = session
    if not sessions:
        reasons = "; ".join(f"{c['name']}: {c.get('reason', 'failed')}" for c in columns)
        raise ZoobenchError(f"no runtime×precision could run: {reasons}")
    return columns, sessions


def _interleaved_rounds(
    sessions: dict[str, Any],
    batch_sizes: list[int],
    input_size: tuple[int, int, int],
    repeats: int,
    timing: Timing,
    console: Any,
) -> dict[tuple[str, int], CellResult]:
    """Round r times every (column, batch) cell once, in the same order; a cell that fails is not retried.

    The sessions stay loaded for every round. A cell is warmed up (``timing["warmup"]`` untimed runs) once, in
    round 1; in later rounds one untimed run re-warms it (the cells timed in between evicted its caches).
    """
    from zoobench.perf.timing import time_throughput

    cells = [(name, bs) for name in sessions for bs in batch_sizes]
    done: dict[tuple[str, int], list[Any]] = {cell: [] for cell in cells}
    failed: dict[tuple[str, int], CellResult] = {}
    for r in range(repeats):
        settings = timing if r == 0 else replace(timing, warmup=min(1, timing.warmup))
        for name, bs in cells:
            if (name, bs) in failed:
                continue
            session = sessions[name][bs] if isinstance(sessions[name], dict) else sessions[name]  # tuned: per batch
            with console.status(f"perf round {r + 1}/{repeats}: {name} batch {bs} ..."):
                try:
                    done[(name, bs)].append(time_throughput(session, bs, input_size, settings))
                except Exception as exc:  # e.g. a batch a static engine was not built for
                    failed[(name, bs)] = CellResult.failed(bs, f"{type(exc).__name__}: {exc}")
    return {cell: failed.get(cell) or CellResult.of_rounds(done[cell]) for cell in cells}


def _with_streams(cell: CellResult, session: Any, bs: int, col: dict[str, Any]) -> dict[str, Any]:
    """The cell as its column holds it; a tuned cell records its settings and streams (img/s counts every
    stream; latency is per request)."""
    if col.get("tuned") and cell.ok:
        one = session[bs] if isinstance(session, dict) else session
        cell = replace(cell, extra={**cell.extra, "settings": col["settings"][str(bs)], "streams": _streams(one)})
    return cell.to_dict()


def _streams(session: Any) -> int:
    from zoobench.perf.streams import StreamGroup

    return len(session.sessions) if isinstance(session, StreamGroup) else 1


def _result(
    engine: Engine, columns: list[dict[str, Any]], batch_sizes: list[int], data_kind: str, repeats: int, temporary: bool
) -> SweepResult:
    table = build_table(columns, batch_sizes)
    for col in columns:
        best = table["best"][col["name"]]
        if best.get("batch_size") is not None:
            col["best_batch_size"], col["best_throughput_img_s"] = best["batch_size"], best["throughput_img_s"]
    ran = [c for c in columns if c.get("best_batch_size") is not None]
    if not ran:
        errors = "; ".join(r.get("error", "") for c in columns for r in c.get("results", []))
        raise ZoobenchError(f"no batch size could run: {errors}")
    first = ColumnResult.from_dict(ran[0])
    return SweepResult(
        model=engine.model,
        engine=None if temporary else engine.path,
        random_weights=engine.random_weights,
        input_size=list(engine.preprocess.input_size),
        data=data_kind,
        repeats=repeats,
        runtime=first.info or {},
        results=first.results or [],
        best_batch_size=first.best_batch_size,
        best_throughput_img_s=first.best_throughput_img_s,
        columns=[ColumnResult.from_dict(c) for c in columns],
        table=table,
        environment=dict(environment()),
    )


_SHORT = {"onnxruntime": "ort", "openvino": "ov", "tensorrt": "trt"}


def _best_text(best: dict[str, Any]) -> str:
    """``447.7 (b8)``, or ``447.7 (b8; tied: 16, 32)`` when other batches are within the noise of it."""
    tied = best.get("tied") or []
    return f"{best['throughput_img_s']:.1f} (b{best['batch_size']}" + (
        f"; tied: {', '.join(map(str, tied))})" if tied else ")"
    )


def _short(name: str) -> str:
    rt, _, prec = name.partition(" ")
    return f"{_SHORT.get(rt, rt)} {prec}"


def table_title(model: str, repeats: int, width: int = 80) -> str:
    """``resnet50 · img/s, median of 3 rounds``; a long model name is shortened with ``…`` to fit ``width``."""
    tail = f" · img/s, median of {repeats} round{'s' if repeats != 1 else ''}"
    room = width - len(tail)
    return (model if len(model) <= room else model[: room - 1] + "…") + tail


def print_table(console: Any, result: dict[str, Any]) -> None:
    """The seeds' layout: batch rows + best, a column per runtime × precision, ratios vs the first column.

    The title stays within 80 columns; the model, data and machine go in the caption under the table.
    """
    from rich.table import Table

    tab = result["table"]
    env = result["environment"]
    ref = tab["ratio_reference"]
    t = Table(
        title=table_title(str(result["model"]), int(result.get("repeats", 1))),
        caption=f"× = ratio vs {_short(ref)} · input {result['data']} · {env['cpu']} ({env['cpu_affinity']} cores)"
        f" · ±N%! = rounds spread over {UNSTABLE_SPREAD_PCT:g}% (unstable)",
        title_justify="left",
        caption_justify="left",
    )
    t.add_column("batch", justify="right")
    shown = [n for n in tab["columns"] if tab["best"][n]["batch_size"] is not None]  # unavailable: listed below
    tuned = tab.get("tuned_vs_untuned") or {}
    ratios = [n for n in shown if n in tab["ratio_vs_reference"] and n not in tuned]
    for n in shown:
        t.add_column(_short(n), justify="right")
    for n in ratios:
        t.add_column(f"{_short(n)} ×", justify="right")
    for n in tuned:
        t.add_column(f"{_short(n)} / untuned", justify="right")

    def fmt(v: float | None, spec: str = ".2f") -> str:
        return "n/a" if v is None else format(v, spec)

    for i, bs in enumerate(tab["batch_sizes"]):
        cells = [
            cell_text(tab["throughput_img_s"][n][i], tab["spread_pct"][n][i], tab["unstable"][n][i]) for n in shown
        ]
        cells += [fmt(tab["ratio_vs_reference"][n][i]) for n in ratios] + [fmt(tuned[n][i]) for n in tuned]
        t.add_row(str(bs), *cells)
    best_tuned = tab.get("best_tuned_vs_untuned") or {}
    t.add_row(
        "best",
        *[_best_text(tab["best"][n]) for n in shown],
        *[fmt(tab["best_ratio_vs_reference"][n]) for n in ratios],
        *[fmt(best_tuned.get(n)) for n in tuned],
    )
    console.print(t)
    _print_notes(console, result)


def _print_notes(console: Any, result: dict[str, Any]) -> None:
    """Under the table: unavailable columns with why, int8 calibration and agreement, each column's setup."""
    for c in result["columns"]:
        if not c["available"]:
            console.print(f"[yellow]{c['name']}: unavailable — {c.get('reason')}[/]")
        elif c["precision"] != "fp32":
            cal = c.get("calibration") or {}
            agr = c.get("agreement") or {}
            if cal.get("kind") == "random":
                console.print(f"[bold red]{c['name']}: calibrated on RANDOM data — accuracy unknown[/]")
            if agr.get("count"):
                console.print(
                    f"{c['name']}: top-1 agreement {agr['top1_agreement_pct']:.1f}% / top-5 overlap "
                    f"{agr['top5_overlap_pct']:.1f}% vs fp32 on {agr['count']} images"
                )
        for slow in (result["table"].get("tuned_slower") or {}).get(c["name"], []):
            console.print(
                f"[yellow]{c['name']}: batch {slow['batch_size']} is slower than untuned beyond the rounds' spread "
                f"({slow['ratio']:.3f}×): the profile does not help on this machine now; run `zoobench tune` again "
                f"or perf --untuned[/]"
            )
        if c["available"] and not c.get("tuned"):  # a tuned column's settings were printed when it was applied
            info = c["info"]
            extra = f", {info['performance_hint']} hint, {info['num_streams']} streams" if "num_streams" in info else ""
            console.print(f"{c['name']}: {info['device']}, {info['threads']} threads{extra}", markup=False)
