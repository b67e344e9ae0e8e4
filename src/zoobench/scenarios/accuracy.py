"""Accuracy mode, scored: mlperf_log_accuracy.json (every sample once; ``data`` = hex of the int32 top-5 ids,
top-1 first) decoded into :class:`~zoobench.predictions.Predictions`, scored by eval (the seeds' result.json,
accuracy.json), and paired against the fp32 column: the paired verdict under ``--max-drop`` and MLPerf's point
rule (top-1 ≥ 99% of fp32's)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.errors import DataError
from zoobench.predictions import Predictions, RunSummary

TOP_K = 5
MLPERF_RATIO = 0.99  # MLPerf's accuracy target for ResNet-50: 99% of the fp32 reference


def decode_log(path: str | Path, total: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, answered)``: (total, 5) int64 top-5 per sample index (−1 where unanswered) and which samples got
    a response with 5 ids.

    Raises:
        DataError: not LoadGen's accuracy log, or a sample index outside the library.
    """
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a readable mlperf_log_accuracy.json ({exc})") from None
    ids = np.full((total, TOP_K), -1, dtype=np.int64)
    answered = np.zeros(total, dtype=bool)
    for e in entries:
        i = int(e["qsl_idx"])
        if not 0 <= i < total:
            raise DataError(f"{path}: sample index {i} outside the {total} samples")
        raw = bytes.fromhex(e.get("data") or "")
        if len(raw) >= 4 * TOP_K:
            ids[i] = np.frombuffer(raw[: 4 * TOP_K], dtype="<i4")
            answered[i] = True
    return ids, answered


def predictions(names: list[str], ids: np.ndarray, answered: np.ndarray, run: RunSummary) -> Predictions:
    """The answered samples as Predictions; an unanswered one (an empty response) counts as skipped."""
    keep = np.flatnonzero(answered)
    skipped = [(names[i], "no response from the SUT") for i in np.flatnonzero(~answered).tolist()]
    return Predictions(
        names=[names[i] for i in keep.tolist()],
        topk_ids=ids[keep],
        skipped=skipped,
        run=replace(run, skipped=len(skipped)),
    )


def score(preds: Predictions, labels: dict[str, int], out: Path) -> dict[str, Any]:
    """result.json + accuracy.json in ``out`` (eval's gate); without labels, accuracy.json says so."""
    from zoobench.evaluate.stage import evaluate
    from zoobench.io import write_json

    if labels:
        return evaluate(preds, labels, out, quiet=True).to_dict()
    acc = {"model": (preds.run or RunSummary()).model, "count": len(preds.names), "note": "no labels: not scored"}
    write_json(out / "accuracy.json", acc)
    return acc


def paired(
    ref_ids: np.ndarray, ids: np.ndarray, both: np.ndarray, truth: list[int] | None, max_drop: str
) -> dict[str, Any]:
    """A column against fp32 on the samples both answered (rows aligned by sample index): the paired statistics
    and verdict, and MLPerf's point rule."""
    from zoobench.evaluate.paired import paired_stats, parse_max_drop

    if not both.any():
        return {"verdict": None, "verdict_reason": "no sample answered by both"}
    stats: dict[str, Any] = dict(paired_stats(ref_ids[both], ids[both], truth, parse_max_drop(max_drop)))
    if truth is not None:
        ref1, col1 = stats["top1"]["reference_pct"], stats["top1"]["engine_pct"]
        stats["mlperf_99pct"] = {
            "rule": "top-1 >= 99% of fp32's top-1",
            "fp32_top1_pct": ref1,
            "top1_pct": col1,
            "ratio": None if ref1 == 0 else round(col1 / ref1, 6),
            "passed": bool(col1 >= MLPERF_RATIO * ref1),
        }
    return stats


def labels_for(names: list[str], labels: dict[str, int], mask: np.ndarray) -> list[int] | None:
    """The true class of each masked sample, or None when any of them has no label."""
    from zoobench.data.datasets import image_key

    keys = [image_key(names[i]) for i in np.flatnonzero(mask).tolist()]
    if not labels or any(k not in labels for k in keys):
        return None
    return [labels[k] for k in keys]
