"""The eval stage: score predictions handed over in memory by infer, or read from files (predictions.csv of an
earlier run, ais_bench or benchmark dumps, an ais_bench summary json), write result.json and accuracy.json,
print the gate."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.console import make_console
from zoobench.errors import DataError
from zoobench.io import write_json
from zoobench.models.registry import reference_of


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


@dataclass
class Scored:
    """Predictions to score, however they arrived: from infer in memory, or read from files."""

    names: list[str]
    topk_ids: np.ndarray
    label_map: dict[str, int]
    summary: dict[str, Any] = field(default_factory=dict)  # infer's summary: model, weights, skipped, classes
    expected: set[str] | None = None  # every image of the run (inferred + skipped), for the missing count


def evaluate(
    scored: Scored,
    out_dir: Path,
    *,
    result_json: str | Path | None = None,
    reference: float | tuple[float, float | None] | None = None,
    tolerance: float = 1.0,
    quiet: bool = False,
) -> dict[str, Any]:
    """Score, gate, write the seeds' result.json and accuracy.json into ``out_dir``, print; return accuracy.json.

    ``reference`` (top-1, or top-1 and top-5, percent) replaces the model's published reference, e.g. for
    custom weights; without it custom weights are gated against the published figure, and accuracy.json
    says so (``reference.source``).
    """
    from zoobench.evaluate.files import write_result_json
    from zoobench.evaluate.metrics import accuracy_dict, score

    summary = scored.summary
    result = score(scored.names, scored.topk_ids, scored.label_map, expected=scored.expected)
    ref1, ref5, source = _reference(summary, reference)
    acc = accuracy_dict(result, ref1, ref5, tolerance=tolerance, skipped=int(summary.get("skipped", 0)))
    acc["reference"]["source"] = source
    acc["model"] = summary.get("model")
    acc["weights_provenance"] = (summary.get("weights") or {}).get("provenance")
    acc["random_weights"] = bool(summary.get("random_weights", False))
    if acc["random_weights"]:
        acc.update(gate=None, passed=None, images_needed=None, gate_reason="random weights: not gated")
        acc["note"] = "random-init weights: accuracy is not a measurement of the model"
    n_classes = int(summary.get("num_classes", 1000))
    write_result_json(Path(result_json or out_dir / "result.json"), result.count, n_classes, result.accuracy)
    write_json(out_dir / "accuracy.json", acc)
    _print_accuracy(make_console(quiet), acc)
    return acc


def do_eval(
    preds: str,
    labels: str,
    *,
    result_json: str | None = None,
    reference: float | tuple[float, float | None] | None = None,
    tolerance: float = 1.0,
    quiet: bool = False,
) -> dict[str, Any]:
    """Score predictions from files; write the seeds' result.json and accuracy.json beside them.

    PREDS is an infer output dir or its predictions.csv (an earlier run), or the seeds' outputs: a directory
    of ais_bench / benchmark dumps (``<stem>_0.txt|.bin|.npy``, paired by name) or an ais_bench
    ``*_summary.json`` (paired by position with the label file). See :func:`evaluate` for the rest.
    """
    from zoobench.data.datasets import read_labels

    p = Path(preds)
    pred_dir = p if p.is_dir() else p.parent
    scored = _read_scored(p, read_labels(labels))
    return evaluate(scored, pred_dir, result_json=result_json, reference=reference, tolerance=tolerance, quiet=quiet)


def _read_scored(p: Path, label_map: dict[str, int]) -> Scored:
    """An infer output folder / predictions.csv (with its summary and skipped list), or the seeds' dumps."""
    from zoobench.data.datasets import image_key
    from zoobench.evaluate.files import read_predictions

    pred_dir = p if p.is_dir() else p.parent
    pred_csv = p / "predictions.csv" if p.is_dir() else p
    if pred_csv.is_file() and pred_csv.suffix.lower() == ".csv":
        summary: dict[str, Any] = {}
        if (pred_dir / "summary.json").is_file():
            summary = json.loads((pred_dir / "summary.json").read_text())
        predictions = read_predictions(pred_csv)
        expected = None
        if summary:  # the images of the run's folder: those inferred plus those skipped
            expected = {image_key(n) for n in predictions.names}
            skipped_csv = pred_dir / "skipped.csv"
            if skipped_csv.is_file():
                with open(skipped_csv, encoding="utf-8", newline="") as fh:
                    expected |= {image_key(row["image"]) for row in csv.DictReader(fh)}
        return Scored(predictions.names, predictions.topk_ids, label_map, summary, expected)
    if p.is_dir() or p.suffix.lower() == ".json":
        try:
            names, ids, n_classes = _load_seed_outputs(p, label_map)
        except DataError as exc:
            if p.is_dir():
                raise DataError(f"no predictions.csv in {p} (run `zoobench infer` first), and {exc}") from exc
            raise
        return Scored(names, ids, label_map, {"num_classes": n_classes})
    raise DataError(f"{p}: not a predictions.csv, a dump directory or an ais_bench summary json")


def _reference(
    summary: dict[str, Any], given: float | tuple[float, float | None] | None
) -> tuple[float | None, float | None, str | None]:
    """The gate's reference: the user's (``--reference``), else the model's published one, with its source."""
    if given is not None:
        top1, top5 = given if isinstance(given, tuple) else (given, None)
        return top1, top5, "user (--reference)"
    ref1, ref5 = reference_of(summary.get("model", ""))
    if ref1 is None:
        return None, None, None
    if (summary.get("weights") or {}).get("provenance") == "custom":
        return ref1, ref5, "published (custom weights: compared with the published checkpoint's figure)"
    return ref1, ref5, "published"


def _print_accuracy(console: Any, acc: dict[str, Any]) -> None:
    tops = "  ".join(f"top{k} {acc[f'top{k}']:.2f}%" for k in range(1, 6))
    console.print(
        f"[bold]accuracy[/] over {acc['count']} images ({acc.get('skipped', 0)} skipped, "
        f"{acc.get('unlabeled', 0)} unlabeled): {tops}"
    )
    ref = acc.get("reference") or {}
    if ref.get("top1") is not None and not acc.get("random_weights"):
        console.print(
            f"reference top-1 {ref['top1']:.3f}%, delta {acc['delta_top1']:+.2f} points — "
            f"{ref.get('source') or 'published'}"
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
