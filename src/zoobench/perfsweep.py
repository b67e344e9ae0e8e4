"""``zoobench perf``: batch sizes × runtimes × precisions, timed alike, as the seeds' tables.

Each runtime×precision is a column; a combination that cannot run here is reported with its reason,
never a crash of the sweep. ``perf.json`` keeps every latency statistic and the environment.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from zoobench.console import make_console
from zoobench.engine import Engine, load_engine, resolve_engine
from zoobench.env import environment
from zoobench.errors import ZoobenchError
from zoobench.io import write_json


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
) -> tuple[str, dict[str, Any]]:
    """The model file and load options that run ``engine`` on ``runtime`` at ``precision``.

    A compiled engine of the same runtime and precision is used as it is; otherwise fp32/bf16 load the
    ONNX directly and int8 (or a TensorRT plan) is compiled once into ``workdir`` and reused.

    Raises:
        RuntimeUnavailableError / ZoobenchError: the combination cannot run here; the message says why.
    """
    if engine.runtime == runtime and engine.precision == precision:
        return engine.path, {}
    base = _base_engine(engine)
    if base.runtime:
        raise ZoobenchError(f"{engine.path} is a {engine.runtime} {engine.precision} engine and its source is gone")
    if runtime == "torch":
        return base.path, {}
    if runtime == "onnxruntime" and precision in ("fp16", "bf16"):
        from zoobench.errors import RuntimeUnavailableError

        raise RuntimeUnavailableError(f"onnxruntime {precision} on CPU is not useful (no fast kernels)")
    if runtime in ("onnxruntime", "openvino") and precision != "int8":
        return base.path, {}
    from zoobench.compile import compile_engine, default_output

    out = workdir / default_output(base, runtime, precision).name
    if out.is_file():
        try:
            cached = load_engine(str(out))
            same_calib = (cached.metadata.get("calibration") or {}).get("folder") == (
                str(Path(calibration).resolve()) if calibration else None
            )
            if cached.metadata.get("source") == str(Path(base.path).resolve()) and same_calib:
                return cached.path, {}
        except ZoobenchError:
            pass
    compiled = compile_engine(
        base, runtime=runtime, precision=precision, calibration=calibration, output=str(out), log=log
    )
    return compiled.path, {}


def do_perf(model: str, **kwargs: Any) -> dict[str, Any]:
    """Time pure inference per batch size for each runtime×precision; see :func:`_sweep` for the arguments.

    Without ``outdir`` the export and any compiled engines go to a temporary directory that is removed after.
    """
    if kwargs.get("outdir"):
        return _sweep(model, **kwargs)
    with tempfile.TemporaryDirectory(prefix="zoobench-perf-") as tmp:
        return _sweep(model, **{**kwargs, "outdir": None}, _workdir=tmp)


def _sweep(
    model: str,
    *,
    weights: str | None = None,
    batch_sizes: list[int],
    seconds: float = 3.0,
    min_iters: int = 10,
    warmup: int = 3,
    data_kind: str = "random",
    runtime: str = "onnxruntime",
    threads: int | None = None,
    outdir: str | None = None,
    quiet: bool = False,
    engine: Engine | None = None,
    runtimes: list[str] | None = None,
    precisions: list[str] | None = None,
    calibration: str | None = None,
    _workdir: str | None = None,
) -> dict[str, Any]:
    """Time pure inference per batch size for each runtime×precision; print the table; write perf.json.

    Args:
        runtime: the single runtime when ``runtimes`` is not given (kept for older callers).
        runtimes / precisions: the sweep's columns, runtime-major, e.g. ``onnxruntime fp32``, ``onnxruntime int8``.
        calibration: image folder for int8 engines compiled on the way (random data otherwise, with a warning).

    Returns:
        ``results`` / ``runtime`` / ``best_*`` of the first column that ran (the single-runtime layout),
        plus ``columns`` (every combination, available or not, with reasons) and ``table``.
    """
    from zoobench.bench import time_throughput
    from zoobench.runtimes import load_session

    console = make_console(quiet)
    tmp = _workdir
    workdir = Path(outdir or _workdir or ".")
    if engine is None:
        engine = resolve_engine(model, weights=weights, workdir=workdir, log=console.print)
    rts = runtimes or [engine.runtime or runtime]
    precs = precisions or [engine.precision]
    columns: list[dict[str, Any]] = []
    for rt in rts:
        for prec in precs:
            col: dict[str, Any] = {"name": f"{rt} {prec}", "runtime": rt, "precision": prec, "available": False}
            columns.append(col)
            try:
                path, options = prepare_column(
                    engine, rt, prec, workdir=workdir, calibration=calibration, log=console.print
                )
                if rt == "openvino":
                    options["hint"] = "throughput"
                session = load_session(path, rt, precision=prec, threads=threads, **options)
            except (ZoobenchError, ImportError) as exc:
                col["reason"] = str(exc)  # printed under the table
                continue
            col.update(available=True, engine=path, info=session.info().to_dict(), results=[])
            if prec == "int8":
                meta = load_engine(path).metadata if Path(path).is_file() else {}
                col["calibration"] = meta.get("calibration")
                col["agreement"] = meta.get("agreement")
            for bs in batch_sizes:
                with console.status(f"perf {col['name']} batch {bs} ..."):
                    try:
                        r = time_throughput(
                            session,
                            bs,
                            engine.preprocess.input_size,
                            seconds=seconds,
                            min_iters=min_iters,
                            warmup=warmup,
                            data=data_kind,
                        )
                    except Exception as exc:  # e.g. a batch a static engine was not built for
                        col["results"].append({"batch_size": bs, "error": f"{type(exc).__name__}: {exc}"})
                        continue
                col["results"].append(r.to_dict())
            ok = [r for r in col["results"] if "error" not in r]
            if ok:
                best = max(ok, key=lambda r: r["throughput_img_s"])
                col["best_batch_size"] = best["batch_size"]
                col["best_throughput_img_s"] = best["throughput_img_s"]
            del session
    ran = [c for c in columns if c.get("best_batch_size") is not None]
    if not ran:
        reasons = "; ".join(f"{c['name']}: {c.get('reason', 'failed')}" for c in columns)
        raise ZoobenchError(f"no runtime×precision could run: {reasons}")
    first = ran[0]
    result = {
        "model": engine.model,
        "engine": engine.path if tmp is None else None,
        "random_weights": engine.random_weights,
        "input_size": list(engine.preprocess.input_size),
        "data": data_kind,
        "runtime": first["info"],
        "results": first["results"],
        "best_batch_size": first["best_batch_size"],
        "best_throughput_img_s": first["best_throughput_img_s"],
        "columns": columns,
        "table": build_table(columns, batch_sizes),
        "environment": environment(),
    }
    if outdir:
        write_json(Path(outdir) / "perf.json", result)
    print_table(console, result)
    return result


def build_table(columns: list[dict[str, Any]], batch_sizes: list[int]) -> dict[str, Any]:
    """img/s per batch size (rows) and column, the best batch per column, ratios vs the first column that ran."""
    names = [c["name"] for c in columns]
    thr: dict[str, list[float | None]] = {}
    for c in columns:
        by_bs = {r["batch_size"]: r.get("throughput_img_s") for r in c.get("results", [])}
        thr[c["name"]] = [by_bs.get(bs) for bs in batch_sizes]
    ran = [c for c in columns if c.get("best_batch_size") is not None]
    ref = ran[0]["name"] if ran else None
    ratio: dict[str, list[float | None]] = {}
    for n in names:
        if ref is None or n == ref:
            continue
        ratio[n] = [a / b if a and b else None for a, b in zip(thr[n], thr[ref])]
    best = {
        c["name"]: {"batch_size": c.get("best_batch_size"), "throughput_img_s": c.get("best_throughput_img_s")}
        for c in columns
    }
    return {
        "batch_sizes": batch_sizes,
        "columns": names,
        "throughput_img_s": thr,
        "best": best,
        "ratio_reference": ref,
        "ratio_vs_reference": ratio,
    }


_SHORT = {"onnxruntime": "ort", "openvino": "ov", "tensorrt": "trt"}


def _short(name: str) -> str:
    rt, _, prec = name.partition(" ")
    return f"{_SHORT.get(rt, rt)} {prec}"


def print_table(console: Any, result: dict[str, Any]) -> None:
    from rich.table import Table

    tab = result["table"]
    env = result["environment"]
    ref = tab["ratio_reference"]
    t = Table(
        title=f"{result['model']} · img/s (× = ratio vs {_short(ref)}) · data={result['data']} · {env['cpu']} "
        f"({env['cpu_affinity']} cores)",
        title_justify="left",
    )
    t.add_column("batch", justify="right")
    shown = [n for n in tab["columns"] if tab["best"][n]["batch_size"] is not None]  # unavailable: listed below
    ratios = [n for n in shown if n in tab["ratio_vs_reference"]]
    for n in shown:
        t.add_column(_short(n), justify="right")
    for n in ratios:
        t.add_column(f"{_short(n)} ×", justify="right")

    def fmt(v: float | None, spec: str = ".1f") -> str:
        return "n/a" if v is None else format(v, spec)

    for i, bs in enumerate(tab["batch_sizes"]):
        cells = [fmt(tab["throughput_img_s"][n][i]) for n in shown]
        cells += [fmt(tab["ratio_vs_reference"][n][i], ".2f") for n in ratios]
        t.add_row(str(bs), *cells)
    best_cells = [f"{tab['best'][n]['throughput_img_s']:.1f} (b{tab['best'][n]['batch_size']})" for n in shown]
    ref_best = tab["best"][ref]["throughput_img_s"]
    best_cells += [fmt(tab["best"][n]["throughput_img_s"] / ref_best, ".2f") for n in ratios]
    t.add_row("best", *best_cells)
    console.print(t)
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
        if c["available"]:
            info = c["info"]
            extra = f", {info['performance_hint']} hint, {info['num_streams']} streams" if "num_streams" in info else ""
            console.print(f"{c['name']}: {info['device']}, {info['threads']} threads{extra}", markup=False)
