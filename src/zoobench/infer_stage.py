"""The ``infer`` and ``eval`` stages as library calls (re-exported by :mod:`zoobench.workflow`)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.console import Advance, make_console, progress_bar
from zoobench.engine import Engine, resolve_engine
from zoobench.env import environment
from zoobench.errors import DataError
from zoobench.io import write_json, write_text

FINAL_OUTPUTS = ("predictions.csv", "skipped.csv", "summary.json", "result.json", "accuracy.json")


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
    workers: int | None = None,
    dump: str | None = None,
    chunk: int = 512,
    resume: bool = True,
    input_dtype: str | None = None,
) -> dict[str, Any]:
    """Export if needed, infer an image folder or a prep cache, write predictions.csv / summary.json (/ skipped.csv).

    Finished chunks are kept in OUTDIR/.partial until the run completes, so a rerun resumes; with ``dump``
    each image's logits are also written as ais_bench does into OUTDIR/outputs. ``input_dtype="uint8"`` runs
    the uint8-input twin of a float export (``STEM.u8.onnx``, made once): the crops go in unnormalized.
    """
    from zoobench.data.cache import clean_temp
    from zoobench.data.datasets import IMAGE_EXTENSIONS, image_key, read_labels
    from zoobench.evaluate import write_predictions
    from zoobench.io import write_skipped_csv
    from zoobench.pipeline import format_stage_summary, resolve_input, run_folder

    console = make_console(quiet)
    out = Path(outdir)
    label_map = read_labels(labels) if labels else None  # fail on a bad label file before any work
    inp = resolve_input(data, limit)
    if not inp.names:  # before any export or output: one line, as prep says it
        why = f"; {len(inp.skipped)} file(s) that are not images" if inp.skipped else ""
        exts = "/".join(sorted(IMAGE_EXTENSIONS))
        raise DataError(f"no images in {data}{why} (looked for {exts}, flat or in class folders)")
    out.mkdir(parents=True, exist_ok=True)
    if label_map is None and inp.folder_labels:
        label_map = inp.folder_labels
    if engine is None:
        engine = resolve_engine(model, weights=weights, variant=variant, workdir=out, log=console.print)
    if input_dtype == "uint8":
        from zoobench.engine import uint8_engine

        engine = uint8_engine(engine, log=console.print)
    for name in FINAL_OUTPUTS:  # a final file exists only for a run that completed
        (out / name).unlink(missing_ok=True)
    clean_temp(out)
    partial = out / ".partial"
    if not resume:
        shutil.rmtree(partial, ignore_errors=True)
    total = len(inp.names)
    with progress_bar("infer", console, quiet) as bar:
        task = bar.add_task("infer", total=total, rate="")
        res = run_folder(
            engine,
            data,
            runtime=runtime,
            batch_size=batch_size,
            threads=threads,
            limit=limit,
            strict=strict,
            progress=Advance(bar, task),
            workers=workers,
            chunk=chunk,
            partial_dir=partial,
            dump=dump,
            dump_dir=out / "outputs" if dump else None,
        )
    row_labels = [label_map.get(image_key(n)) for n in res.names] if label_map is not None else None
    write_predictions(out / "predictions.csv", res.names, res.topk_ids, res.topk_probs, row_labels)
    write_skipped_csv(out / "skipped.csv", res.skipped)
    summary = {
        "model": engine.model,
        "engine": engine.path,
        "input_dtype": engine.input_dtype,
        "weights": engine.metadata.get("weights"),
        "random_weights": engine.random_weights,
        "preprocess": engine.preprocess.to_dict(),
        "num_classes": int(engine.metadata.get("num_classes", 1000)),
        "data": str(Path(data).resolve()),
        "data_kind": "cache" if inp.cache is not None else "images",
        "batch_size": batch_size,
        "workers": 0 if inp.cache is not None else workers,
        "images_found": total + len(inp.skipped),
        "images_inferred": len(res.names),
        "skipped": len(res.skipped),
        "skipped_reasons": _reason_counts(res.skipped),
        "dump": dump,
        "stages": res.stages,
        "runtime": res.runtime,
        "environment": environment(),
    }
    write_json(out / "summary.json", summary)
    shutil.rmtree(partial, ignore_errors=True)
    console.print(format_stage_summary(res.stages), markup=False)
    console.print(f"{len(res.names)} images inferred, {len(res.skipped)} skipped -> {out / 'predictions.csv'}")
    if engine.random_weights:
        console.print("[yellow]weights: RANDOM INIT — predictions are meaningless[/]")
    if labels:
        summary["accuracy"] = do_eval(str(out), labels, quiet=quiet)
    elif inp.folder_labels:
        lab = out / "val_label.txt"
        write_text(lab, "".join(f"{n} {inp.folder_labels[image_key(n)]}\n" for n in inp.names))
        summary["accuracy"] = do_eval(str(out), str(lab), quiet=quiet)
    return summary


def _reason_counts(skipped: list[tuple[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _name, reason in skipped:
        kind = reason.split(":")[0] if not reason.startswith("image ") else reason.split(": ", 1)[-1].split(" (")[0]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _load_seed_outputs(p: Path, label_map: dict[str, int]) -> tuple[list[str], np.ndarray, int]:
    """Names, top-5 ids (the seeds' argsort) and class count of an ais_bench dump dir or summary json."""
    from zoobench.data.seedfmt import read_ais_summary, read_dump_dir, read_output_file
    from zoobench.evaluate import seed_topk_from_scores

    if p.is_dir():
        names, scores = read_dump_dir(p)
    else:
        files = read_ais_summary(p)
        keys = list(label_map)  # positional pairing, as the seeds' summary-json postprocess does
        if len(files) > len(keys):
            raise DataError(f"{p} lists {len(files)} outputs but the label file has only {len(keys)} lines")
        scores = np.stack([read_output_file(f) for f in files])
        names = keys[: len(files)]
    n_classes = int(scores.shape[1])
    ids = seed_topk_from_scores(scores, 5)
    if n_classes == 1001:  # background class first: the seeds compare with label + 1
        ids = ids - 1
    return names, ids, n_classes


def do_eval(
    preds: str,
    labels: str,
    *,
    result_json: str | None = None,
    reference: float | tuple[float, float | None] | None = None,
    tolerance: float = 1.0,
    quiet: bool = False,
) -> dict[str, Any]:
    """Score predictions; write the seeds' result.json and accuracy.json beside them.

    ``reference`` (top-1, or top-1 and top-5, percent) replaces the model's published reference, e.g. for
    custom weights; without it custom weights are gated against the published figure, and accuracy.json
    says so (``reference.source``).

    PREDS is an infer output dir or its predictions.csv, or the seeds' outputs: a directory of ais_bench /
    benchmark dumps (``<stem>_0.txt|.bin|.npy``, paired by name) or an ais_bench ``*_summary.json``
    (paired by position with the label file).
    """
    from zoobench.data.datasets import image_key, read_labels
    from zoobench.evaluate import accuracy_dict, read_predictions, score, write_result_json

    console = make_console(quiet)
    p = Path(preds)
    pred_dir = p if p.is_dir() else p.parent
    pred_csv = p / "predictions.csv" if p.is_dir() else p
    label_map = read_labels(labels)
    summary: dict[str, Any] = {}
    if (pred_dir / "summary.json").is_file():
        summary = json.loads((pred_dir / "summary.json").read_text())
    n_classes = int(summary.get("num_classes", 1000))
    expected = None
    if pred_csv.is_file() and pred_csv.suffix.lower() == ".csv":
        predictions = read_predictions(pred_csv)
        names, ids = predictions.names, predictions.topk_ids
        if summary:  # the images of the run's folder: those inferred plus those skipped
            expected = {image_key(n) for n in names}
            skipped_csv = pred_dir / "skipped.csv"
            if skipped_csv.is_file():
                with open(skipped_csv, encoding="utf-8", newline="") as fh:
                    expected |= {image_key(row["image"]) for row in csv.DictReader(fh)}
    elif p.is_dir() or p.suffix.lower() == ".json":
        try:
            names, ids, n_classes = _load_seed_outputs(p, label_map)
        except DataError as exc:
            if p.is_dir():
                raise DataError(f"no predictions.csv in {preds} (run `zoobench infer` first), and {exc}") from exc
            raise
        summary = {}
    else:
        raise DataError(f"{preds}: not a predictions.csv, a dump directory or an ais_bench summary json")
    result = score(names, ids, label_map, expected=expected)
    ref1, ref5, source = _reference(summary, reference)
    acc = accuracy_dict(result, ref1, ref5, tolerance=tolerance, skipped=int(summary.get("skipped", 0)))
    acc["reference"]["source"] = source
    acc["model"] = summary.get("model")
    acc["weights_provenance"] = (summary.get("weights") or {}).get("provenance")
    acc["random_weights"] = bool(summary.get("random_weights", False))
    if acc["random_weights"]:
        acc.update(gate=None, passed=None, images_needed=None, gate_reason="random weights: not gated")
        acc["note"] = "random-init weights: accuracy is not a measurement of the model"
    write_result_json(
        Path(result_json) if result_json else pred_dir / "result.json", result.count, n_classes, result.accuracy
    )
    write_json(pred_dir / "accuracy.json", acc)
    _print_accuracy(console, acc)
    return acc


def _reference(
    summary: dict[str, Any], given: float | tuple[float, float | None] | None
) -> tuple[float | None, float | None, str | None]:
    """The gate's reference: the user's (``--reference``), else the model's published one, with its source."""
    if given is not None:
        top1, top5 = given if isinstance(given, tuple) else (given, None)
        return top1, top5, "user (--reference)"
    ref1, ref5 = _reference_of(summary.get("model", ""))
    if ref1 is None:
        return None, None, None
    if (summary.get("weights") or {}).get("provenance") == "custom":
        return ref1, ref5, "published (custom weights: compared with the published checkpoint's figure)"
    return ref1, ref5, "published"


def _reference_of(model: str) -> tuple[float | None, float | None]:
    from zoobench.models import get_spec

    try:
        ref = get_spec(model).reference
    except Exception:  # an ONNX file of a model zoobench does not know
        return None, None
    return (ref.top1, ref.top5) if ref else (None, None)


def _print_accuracy(console: Any, acc: dict[str, Any]) -> None:
    tops = "  ".join(f"top{k} {acc[f'top{k}']:.2f}%" for k in range(1, 6))
    console.print(
        f"[bold]accuracy[/] over {acc['count']} images ({acc.get('skipped', 0)} skipped, "
        f"{acc.get('unlabeled', 0)} unlabeled): {tops}"
    )
    ref = acc.get("reference") or {}
    if ref.get("top1") is not None and not acc.get("random_weights"):
        console.print(
            f"reference top-1 {ref['top1']:.3f}% ({ref.get('source') or 'published'}), "
            f"delta {acc['delta_top1']:+.2f} points"
        )
    console.print(f"gate: {gate_label(acc)}")
    if acc.get("note"):
        console.print(f"[yellow]{acc['note']}[/]")


def gate_label(acc: dict[str, Any]) -> str:
    """One line for the gate: PASS / FAIL only when the images decide; never for random weights."""
    gate = acc.get("gate")
    if gate == "pass":
        return f"[green]PASS[/] — {acc.get('gate_reason', '')}"
    if gate == "fail":
        return f"[red]FAIL[/] — {acc.get('gate_reason', '')}"
    return f"[yellow]{acc.get('gate_reason') or 'not gated'}[/]"
