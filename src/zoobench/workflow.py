"""The stages as library calls with progress and printing: what the CLI commands run."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from zoobench.engine import Engine, resolve_engine
from zoobench.env import environment
from zoobench.errors import DataError
from zoobench.io import atomic_open, write_json


def _console(quiet: bool = False) -> Any:
    from zoobench.console import make_console

    return make_console(quiet)


def _reference_of(model: str) -> tuple[float | None, float | None]:
    from zoobench.models import get_spec

    try:
        ref = get_spec(model).reference
    except Exception:  # an ONNX file of a model zoobench does not know
        return None, None
    return (ref.top1, ref.top5) if ref else (None, None)


def write_skipped(path: Path, skipped: list[tuple[str, str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["image", "reason"])
    w.writerows(skipped)
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())


def do_infer(
    model: str,
    data: str,
    *,
    labels: str | None = None,
    weights: str | None = None,
    variant: str | None = None,
    batch_size: int = 16,
    runtime: str = "onnxruntime",
    threads: int | None = None,
    limit: int | None = None,
    strict: bool = False,
    outdir: str = "zoobench-infer",
    quiet: bool = False,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """Export if needed, infer the folder, write predictions.csv / summary.json (/ skipped.csv)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from zoobench.data.datasets import image_key, read_labels, scan_folder
    from zoobench.evaluate import write_predictions
    from zoobench.pipeline import format_stage_summary, run_folder

    console = _console(quiet)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    label_map = read_labels(labels) if labels else None  # fail on a bad label file before any work
    if engine is None:
        engine = resolve_engine(model, weights=weights, variant=variant, workdir=out, log=console.print)
    images, _ = scan_folder(data)
    total = min(len(images), limit) if limit is not None else len(images)
    with Progress(
        TextColumn("[bold]infer[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.speed} img/s"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task("infer", total=total)
        res = run_folder(
            engine,
            data,
            runtime=runtime,
            batch_size=batch_size,
            threads=threads,
            limit=limit,
            strict=strict,
            progress=lambda n: bar.advance(task, n),
        )
    row_labels = [label_map.get(image_key(n)) for n in res.names] if label_map is not None else None
    write_predictions(out / "predictions.csv", res.names, res.topk_ids, res.topk_probs, row_labels)
    if res.skipped:
        write_skipped(out / "skipped.csv", res.skipped)
    summary = {
        "model": engine.model,
        "engine": engine.path,
        "weights": engine.metadata.get("weights"),
        "random_weights": engine.random_weights,
        "preprocess": engine.preprocess.to_dict(),
        "num_classes": int(engine.metadata.get("num_classes", 1000)),
        "data": str(Path(data).resolve()),
        "batch_size": batch_size,
        "images_found": total,
        "images_inferred": len(res.names),
        "skipped": len(res.skipped),
        "stages": res.stages,
        "runtime": res.runtime,
        "environment": environment(),
    }
    write_json(out / "summary.json", summary)
    console.print(format_stage_summary(res.stages), markup=False)
    console.print(f"{len(res.names)} images inferred, {len(res.skipped)} skipped -> {out / 'predictions.csv'}")
    if engine.random_weights:
        console.print("[yellow]weights: RANDOM INIT — predictions are meaningless[/]")
    if labels:
        summary["accuracy"] = do_eval(str(out), labels, quiet=quiet)
    return summary


def do_eval(
    preds: str,
    labels: str,
    *,
    result_json: str | None = None,
    reference: float | None = None,
    tolerance: float = 1.0,
    quiet: bool = False,
) -> dict[str, Any]:
    """Score predictions; write the seeds' result.json and accuracy.json beside them."""
    from zoobench.data.datasets import image_key, read_labels
    from zoobench.evaluate import accuracy_dict, read_predictions, score, write_result_json

    console = _console(quiet)
    p = Path(preds)
    pred_dir = p if p.is_dir() else p.parent
    pred_csv = p / "predictions.csv" if p.is_dir() else p
    if not pred_csv.is_file():
        raise DataError(f"no predictions.csv in {preds} (run `zoobench infer` first)")
    summary: dict[str, Any] = {}
    if (pred_dir / "summary.json").is_file():
        summary = json.loads((pred_dir / "summary.json").read_text())
    predictions = read_predictions(pred_csv)
    label_map = read_labels(labels)
    expected = None
    if summary:  # the images of the run's folder: those inferred plus those skipped
        expected = {image_key(n) for n in predictions.names}
        skipped_csv = pred_dir / "skipped.csv"
        if skipped_csv.is_file():
            with open(skipped_csv, encoding="utf-8", newline="") as fh:
                expected |= {image_key(row["image"]) for row in csv.DictReader(fh)}
    result = score(predictions.names, predictions.topk_ids, label_map, expected=expected)
    ref1, ref5 = _reference_of(summary.get("model", "")) if reference is None else (reference, None)
    acc = accuracy_dict(result, ref1, ref5, tolerance=tolerance, skipped=int(summary.get("skipped", 0)))
    acc["model"] = summary.get("model")
    acc["random_weights"] = bool(summary.get("random_weights", False))
    if acc["random_weights"]:
        acc["passed"] = False
        acc["note"] = "random-init weights: accuracy is not a measurement of the model"
    n_classes = int(summary.get("num_classes", 1000))
    write_result_json(
        Path(result_json) if result_json else pred_dir / "result.json", result.count, n_classes, result.accuracy
    )
    write_json(pred_dir / "accuracy.json", acc)
    _print_accuracy(console, acc)
    return acc


def _print_accuracy(console: Any, acc: dict[str, Any]) -> None:
    tops = "  ".join(f"top{k} {acc[f'top{k}']:.2f}%" for k in range(1, 6))
    console.print(
        f"[bold]accuracy[/] over {acc['count']} images ({acc.get('skipped', 0)} skipped, "
        f"{acc.get('unlabeled', 0)} unlabeled): {tops}"
    )
    ref = acc.get("reference") or {}
    if ref.get("top1") is not None:
        verdict = {True: "[green]PASS[/]", False: "[red]FAIL[/]", None: "-"}[acc.get("passed")]
        console.print(
            f"reference top-1 {ref['top1']:.3f}%, delta {acc['delta_top1']:+.2f} points "
            f"(tolerance {acc['tolerance_points']}; ±{acc['ci95_top1_points']:.1f} points is the 95% "
            f"interval on {acc['count']} images) {verdict}"
        )
    if acc.get("note"):
        console.print(f"[yellow]{acc['note']}[/]")


def do_perf(
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
) -> dict[str, Any]:
    """Time pure inference per batch size; print a table; write perf.json when ``outdir`` is given."""
    import tempfile

    from rich.table import Table

    from zoobench.bench import time_session
    from zoobench.runtimes import load_session

    console = _console(quiet)
    tmp = None
    if engine is None:
        workdir = outdir or (tmp := tempfile.mkdtemp(prefix="zoobench-perf-"))
        engine = resolve_engine(model, weights=weights, workdir=workdir, log=console.print)
    session = load_session(engine.path, runtime, threads=threads)
    rows = []
    for bs in batch_sizes:
        with console.status(f"perf batch {bs} ..."):
            r = time_session(
                session,
                bs,
                engine.preprocess.input_size,
                seconds=seconds,
                min_iters=min_iters,
                warmup=warmup,
                data=data_kind,
            )
        rows.append(r.to_dict())
    best = max(rows, key=lambda r: r["throughput_img_s"])
    result = {
        "model": engine.model,
        "engine": engine.path if tmp is None else None,
        "random_weights": engine.random_weights,
        "input_size": list(engine.preprocess.input_size),
        "runtime": session.info().to_dict(),
        "results": rows,
        "best_batch_size": best["batch_size"],
        "best_throughput_img_s": best["throughput_img_s"],
        "environment": environment(),
    }
    if outdir:
        write_json(Path(outdir) / "perf.json", result)
    t = Table(
        title=f"{engine.model} · {result['runtime']['runtime']} {result['runtime']['precision']} · "
        f"{result['runtime']['device']} · {result['runtime']['threads']} threads · data={data_kind}",
        title_justify="left",
    )
    for col in ("batch", "iters", "mean ms", "median ms", "p99 ms", "img/s"):
        t.add_column(col, justify="right")
    for r in rows:
        lat = r["latency"]
        t.add_row(
            str(r["batch_size"]),
            str(lat["count"]),
            f"{lat['mean_ms']:.2f}",
            f"{lat['median_ms']:.2f}",
            f"{lat['p99_ms']:.2f}",
            f"{r['throughput_img_s']:.1f}",
        )
    t.add_row("best", "", "", "", "", f"{best['throughput_img_s']:.1f} (bs {best['batch_size']})")
    console.print(t)
    console.print(f"CPU: {environment()['cpu']}")
    return result


from zoobench.demo import do_demo  # noqa: E402  (re-exported for the CLI)

__all__ = ["do_demo", "do_eval", "do_infer", "do_perf"]
