"""Accuracy from top-k predictions (which ``zoobench.infer.batch`` picks from the logits): scoring against labels
(the seeds' cumulative hits), the three-way accuracy gate with its 95% interval, and agreement between two engines'
logits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from zoobench.data.datasets import image_key
from zoobench.errors import DataError
from zoobench.evaluate.record import FAIL, INCONCLUSIVE, PASS, AccuracyRecord, GateVerdict


@dataclass
class AccuracyResult:
    """Top-k hit counts of a run against a label file.

    Attributes:
        count: images scored (predicted and labeled).
        hits_at_k: cumulative hits; ``hits_at_k[i]`` = images whose label is among the top ``i + 1``.
        unlabeled: names of predicted images that have no label.
        missing: keys of labeled images in the data folder with no prediction (needs ``expected``).
        labels_unused: how many labels no prediction used (a count: a 10-image run would list 49,990).
        labels_without_image: how many labels have no image in the data folder (``None`` without
            ``expected``).
    """

    count: int
    hits_at_k: list[int]
    unlabeled: list[str]
    missing: list[str]
    labels_unused: int
    labels_without_image: int | None = None

    @property
    def accuracy(self) -> list[float]:
        """Top-1..top-k accuracy as fractions (``np.cumsum(hits) / count``, as the seeds compute it)."""
        return [h / self.count for h in self.hits_at_k]


def seed_topk_from_scores(scores: np.ndarray, k: int = 5) -> np.ndarray:
    """Top-k ids of (C,) or (N, C) scores exactly as the seeds compute them.

    That is ``np.argsort(-pred)`` (default, unstable kind) on float32 scores, as the seeds read them.
    """
    s = np.asarray(scores, dtype=np.float32)
    return np.argsort(-s, axis=-1)[..., :k].astype(np.int64)


def score(
    pred_names: Sequence[str],
    topk_ids: np.ndarray,
    labels: dict[str, int],
    expected: Iterable[str] | None = None,
) -> AccuracyResult:
    """Pair predictions with labels by :func:`~zoobench.data.datasets.image_key` and count top-k hits.

    Args:
        pred_names: predicted image names (or keys).
        topk_ids: (N, k) class ids, best first.
        labels: ``{image key: class id}``, e.g. from :func:`~zoobench.data.datasets.read_labels`.
        expected: keys (or names) of the images in the data folder; enables ``missing`` and
            ``labels_without_image``.

    Raises:
        DataError: two predictions share an image key, or no predicted image has a label.
    """
    ids = np.asarray(topk_ids)
    if ids.ndim != 2 or ids.shape[0] != len(pred_names):
        raise ValueError(f"{len(pred_names)} names but topk_ids has shape {ids.shape}")
    keys = [image_key(n) for n in pred_names]
    first: dict[str, int] = {}
    rows: list[int] = []
    truth: list[int] = []
    unlabeled: list[str] = []
    for i, key in enumerate(keys):
        if key in first:
            raise DataError(f"two predictions for image {key}: {pred_names[first[key]]} and {pred_names[i]}")
        first[key] = i
        label = labels.get(key)
        if label is None:
            unlabeled.append(pred_names[i])
        else:
            rows.append(i)
            truth.append(label)
    if not rows:
        raise DataError(f"nothing to score: none of the {len(keys)} predicted images has a label")
    match = ids[rows] == np.asarray(truth)[:, None]
    hit = match.any(axis=1)
    # The seeds count an image once, at its first matching rank, then accumulate.
    per_rank = np.bincount(match.argmax(axis=1)[hit], minlength=ids.shape[1])
    labels_unused = sum(1 for key in labels if key not in first)
    missing: list[str] = []
    without_image: int | None = None
    if expected is not None:
        exp = {image_key(e) for e in expected}
        missing = sorted(key for key in exp if key in labels and key not in first)
        without_image = sum(1 for key in labels if key not in exp)
    return AccuracyResult(
        count=len(rows),
        hits_at_k=np.cumsum(per_rank).tolist(),
        unlabeled=unlabeled,
        missing=missing,
        labels_unused=labels_unused,
        labels_without_image=without_image,
    )


def accuracy_record(
    result: AccuracyResult,
    reference_top1: float | None = None,
    reference_top5: float | None = None,
    tolerance: float = 1.0,
    skipped: int = 0,
) -> AccuracyRecord:
    """The scored run as accuracy.json records it; every accuracy is in percent.

    Args:
        result: from :func:`score`.
        reference_top1: published top-1 accuracy, percent.
        reference_top5: published top-5 accuracy, percent.
        tolerance: allowed ``|measured - reference|`` top-1 gap, in percentage points.
        skipped: images that could not be decoded or run.

    Returns:
        top-1..top-k, the counts (``skipped``, ``unlabeled``, ``missing``), ``reference``, ``delta_top1`` /
        ``delta_top5`` (measured - reference, points), ``tolerance_points``, and the gate of :func:`gate_verdict`.
    """
    pct = [100 * h / result.count for h in result.hits_at_k]
    # Rounded so float noise cannot fail a gap of exactly `tolerance` (75.28 - 74.28 = 1.0000000000000142).
    delta1 = None if reference_top1 is None else round(pct[0] - reference_top1, 6)
    delta5 = None if reference_top5 is None or len(pct) < 5 else round(pct[4] - reference_top5, 6)
    return AccuracyRecord(
        top=tuple(pct),
        count=result.count,
        skipped=skipped,
        unlabeled=len(result.unlabeled),
        missing=len(result.missing),
        reference={"top1": reference_top1, "top5": reference_top5},
        delta_top1=delta1,
        delta_top5=delta5,
        tolerance_points=tolerance,
        ci95_top1_points=round(100 * wilson_halfwidth(result.hits_at_k[0], result.count), 3),
        verdict=gate_verdict(pct[0], result.count, reference_top1, tolerance),
    )


def gate_verdict(top1_pct: float, n: int, reference_top1: float | None, tolerance: float) -> GateVerdict:
    """The accuracy gate: ``pass`` / ``fail`` / ``inconclusive`` (``None`` without a reference).

    The gate asks whether ``|top-1 - reference| <= tolerance``. On ``n`` images top-1 itself is uncertain
    by the half-width of its 95% Wilson interval; when that half-width is wider than the tolerance, the
    images cannot tell a pass from a fail and the verdict is ``inconclusive``, with ``images_needed``: how
    many images bring the half-width at the reference accuracy within the tolerance. A result whose whole
    interval lies outside ``reference ± tolerance`` is a conclusive ``fail`` however few the images.

    Returns:
        ``gate``, ``passed`` (True / False; None when inconclusive or ungated), ``images_needed`` and
        ``gate_reason`` (one line for people), as a :class:`GateVerdict`.
    """
    if reference_top1 is None:
        return GateVerdict.ungated("no reference to gate against")
    hits = round(top1_pct * n / 100)
    half = 100 * wilson_halfwidth(hits, n)
    center = 100 * (hits / n + 1.96**2 / (2 * n)) / (1 + 1.96**2 / n) if n else 50.0
    delta = round(top1_pct - reference_top1, 6)
    low, high = reference_top1 - tolerance, reference_top1 + tolerance
    clearly_outside = center + half < low or center - half > high
    if half > tolerance and not clearly_outside:
        need = images_needed(reference_top1, tolerance)
        reason = (
            f"inconclusive: ±{half:.1f} points is the 95% interval on {n} images, wider than the tolerance "
            f"±{tolerance:g}; about {need:,} images would decide"
        )
        return GateVerdict(INCONCLUSIVE, None, need, reason)
    ok = abs(delta) <= tolerance and not clearly_outside
    reason = (
        f"top-1 {top1_pct:.2f} is {delta:+.2f} points from the reference {reference_top1:.2f} "
        f"(tolerance {tolerance:g}, 95% interval ±{half:.1f} on {n} images)"
    )
    return GateVerdict(PASS if ok else FAIL, ok, None, reason)


def images_needed(reference_top1: float, tolerance: float) -> int:
    """Fewest images whose 95% Wilson half-width at ``reference_top1`` percent is within ``tolerance`` points."""
    p = min(max(reference_top1 / 100, 1e-6), 1 - 1e-6)

    def decides(n: int) -> bool:
        return 100 * wilson_halfwidth(round(p * n), n) <= tolerance

    # bisect between bounds around the normal approximation (the half-width shrinks as n grows)
    approx = 1.96**2 * p * (1 - p) / (tolerance / 100) ** 2
    lo, hi = max(1, int(approx * 0.5)), max(2, int(approx * 2) + 10)
    while not decides(hi):
        lo, hi = hi, hi * 2
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if decides(mid) else (mid + 1, hi)
    return lo


def wilson_halfwidth(hits: int, n: int, z: float = 1.96) -> float:
    """Half-width of the Wilson 95% interval of hits/n: how far top-1 on n images can stray by chance."""
    if n == 0:
        return 1.0
    p = hits / n
    denom = 1 + z * z / n
    return float(z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / denom)


class Agreement(TypedDict, total=False):
    """agreement.json (and a compiled engine's ``agreement``): an engine's logits against fp32's."""

    count: int
    top1_agreement_pct: float
    top5_overlap_pct: float
    max_abs_logit_diff: float
    mean_abs_logit_diff: float
    max_abs_logit: float
    data: str
    reference: str
    note: str
    warning: str  # compile's low-agreement note


def agreement(reference: np.ndarray, logits: np.ndarray) -> Agreement:
    """Top-1 agreement, top-5 overlap and logit difference of ``logits`` vs the fp32 ``reference``.

    Returns:
        ``top1_agreement_pct``: % of images with the same arg-max; ``top5_overlap_pct``: mean share of
        the reference top-5 found in the engine's top-5; ``max_abs_logit_diff`` / ``mean_abs_logit_diff``;
        ``max_abs_logit`` of the reference, for scale.
    """
    from zoobench.logits import compare_logits

    res = compare_logits(reference, logits)
    return {  # agreement.json's keys, as before: all but rel_diff and finite
        "count": res["count"],
        "top1_agreement_pct": res["top1_agreement_pct"],
        "top5_overlap_pct": res["top5_overlap_pct"],
        "max_abs_logit_diff": res["max_abs_logit_diff"],
        "mean_abs_logit_diff": res["mean_abs_logit_diff"],
        "max_abs_logit": res["max_abs_logit"],
    }
