"""The eval stage: score predictions handed over in memory by infer, or read from files (predictions.csv of an
earlier run, ais_bench or benchmark dumps, an ais_bench summary json), write result.json and accuracy.json,
print the gate."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.console import make_console
from zoobench.data.datasets import image_key
from zoobench.errors import DataError
from zoobench.evaluate.record import AccuracyRecord, GateVerdict
from zoobench.io import write_json
from zoobench.models.registry import reference_of
from zoobench.predictions import Predictions, RunSummary


def _load_seed_outputs(p: Path, label_map: dict[str, int]) -> tuple[list[str], np.ndarray, int]:
    """Names, top-5 ids (the seeds' argsort) and class count of an ais_bench dump dir or summary json."""
    from zoobench.data.seedfmt import read_ais_summary, read_dump_dir, read_output_file
    from zoobench.evaluate.metrics import seed_topk_from_scores

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


def evaluate(
    preds: Predictions,
    labels: dict[str, int],
    out_dir: Path,
    *,
    result_json: str | Path | None = None,
    reference: float | tuple[float, float | None] | None = None,
    tolerance: float = 1.0,
    quiet: bool = False,
) -> AccuracyRecord:
    """Score ``preds`` against ``labels`` (``{image key: class}``), gate, write the seeds' result.json and
    accuracy.json into ``out_dir``, print; return accuracy.json's record.

    ``reference`` (top-1, or top-1 and top-5, percent) replaces the model's published reference, e.g. for
    custom weights; without it custom weights are gated against the published figure, and accuracy.json
    says so (``reference.source``).
    """
    from zoobench.evaluate.files import write_result_json
    from zoobench.evaluate.metrics import accuracy_record, score

    run = preds.run or RunSummary()
    listed = preds.listed()
    expected = None if listed is None else {image_key(n) for n in listed}
    result = score(preds.names, preds.topk_ids, labels, expected=expected)
    ref1, ref5, source = _reference(run, reference)
    acc = accuracy_record(result, ref1, ref5, tolerance=tolerance, skipped=run.skipped)
    acc = replace(
        acc,
        reference={**acc.reference, "source": source},
        model=run.model,
        weights_provenance=run.weights_provenance,
        random_weights=bool(run.random_weights),
    )
    if acc.random_weights:
        acc = replace(acc, verdict=GateVerdict.ungated("random weights: not gated"), note=RANDOM_NOTE)
    write_result_json(Path(result_json or out_dir / "result.json"), result.count, run.num_classes, result.accuracy)
    write_json(out_dir / "accuracy.json", acc.to_dict())
    _print_accuracy(make_console(quiet), acc)
    return acc


RANDOM_NOTE = "random-init weights: accuracy is not a measurement of the model"


def do_eval(
    preds: str,
    labels: str,
    *,
    result_json: str | None = None,
    reference: float | tuple[float, float | None] | None = None,
    tolerance: float = 1.0,
    quiet: bool = False,
) -> AccuracyRecord:
    """Score predictions from files; write the seeds' result.json and accuracy.json beside them.

    PREDS is an infer output dir or its predictions.csv (an earlier run), or the seeds' outputs: a directory
    of ais_bench / benchmark dumps (``<stem>_0.txt|.bin|.npy``, paired by name) or an ais_bench
    ``*_summary.json`` (paired by position with the label file). See :func:`evaluate` for the rest.
    """
    from zoobench.data.datasets import read_labels

    p = Path(preds)
    pred_dir = p if p.is_dir() else p.parent
    label_map = read_labels(labels)
    got = read_predictions_from(p, label_map)
    return evaluate(
        got, label_map, pred_dir, result_json=result_json, reference=reference, tolerance=tolerance, quiet=quiet
    )


def read_predictions_from(p: Path, label_map: dict[str, int]) -> Predictions:
    """An infer output folder / predictions.csv (with its summary and skipped list), or the seeds' dumps (the
    label file pairs an ais_bench summary json's outputs by position)."""
    from zoobench.evaluate.files import read_predictions

    pred_dir = p if p.is_dir() else p.parent
    pred_csv = p / "predictions.csv" if p.is_dir() else p
    if pred_csv.is_file() and pred_csv.suffix.lower() == ".csv":
        preds = read_predictions(pred_csv)
        if (pred_dir / "summary.json").is_file():  # the run's facts, and the images it skipped
            preds.run = RunSummary.of(json.loads((pred_dir / "summary.json").read_text()))
            preds.skipped = []
            skipped_csv = pred_dir / "skipped.csv"
            if skipped_csv.is_file():
                with open(skipped_csv, encoding="utf-8", newline="") as fh:
                    preds.skipped = [(row["image"], row.get("reason", "")) for row in csv.DictReader(fh)]
        return preds
    if p.is_dir() or p.suffix.lower() == ".json":
        try:
            names, ids, n_classes = _load_seed_outputs(p, label_map)
        except DataError as exc:
            if p.is_dir():
                raise DataError(f"no predictions.csv in {p} (run `zoobench infer` first), and {exc}") from exc
            raise
        return Predictions(names, ids, run=RunSummary(num_classes=n_classes))
    raise DataError(f"{p}: not a predictions.csv, a dump directory or an ais_bench summary json")


def _reference(
    run: RunSummary, given: float | tuple[float, float | None] | None
) -> tuple[float | None, float | None, str | None]:
    """The gate's reference: the user's (``--reference``), else the model's published one, with its source."""
    if given is not None:
        top1, top5 = given if isinstance(given, tuple) else (given, None)
        return top1, top5, "user (--reference)"
    ref1, ref5 = reference_of(run.model or "")
    if ref1 is None:
        return None, None, None
    if run.weights_provenance == "custom":
        return ref1, ref5, "published (custom weights: compared with the published checkpoint's figure)"
    return ref1, ref5, "published"


def _print_accuracy(console: Any, acc: AccuracyRecord) -> None:
    tops = "  ".join(f"top{k} {v:.2f}%" for k, v in enumerate(acc.top[:5], start=1))
    console.print(
        f"[bold]accuracy[/] over {acc.count} images ({acc.skipped} skipped, {acc.unlabeled} unlabeled): {tops}"
    )
    ref = acc.reference
    if ref.get("top1") is not None and not acc.random_weights and acc.delta_top1 is not None:
        console.print(
            f"reference top-1 {ref['top1']:.3f}%, delta {acc.delta_top1:+.2f} points — "
            f"{ref.get('source') or 'published'}"
        )
    console.print(f"gate: {gate_label(acc.verdict)}")
    if acc.note:
        console.print(f"[yellow]{acc.note}[/]")


def gate_label(verdict: GateVerdict) -> str:
    """One line for the gate: PASS / FAIL only when the images decide; never for random weights."""
    if verdict.gate == "pass":
        return f"[green]PASS[/] — {verdict.gate_reason or ''}"
    if verdict.gate == "fail":
        return f"[red]FAIL[/] — {verdict.gate_reason or ''}"
    return f"[yellow]{verdict.gate_reason or 'not gated'}[/]"
