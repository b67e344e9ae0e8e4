"""Paired comparison of an engine with the fp32 reference on the same images: Δtop-1 / Δtop-5 with a 95%
interval, agreement, top-5 overlap, and a verdict against a largest allowed drop.

The interval is Newcombe's hybrid score interval for a difference of paired proportions (Newcombe 1998,
"Improved confidence intervals for the difference between binomial proportions based on paired data",
method 10). Why it and not a bootstrap: it is closed-form and deterministic, and it keeps a sensible width
when the engines disagree on few or no images — the usual case for int8 against fp32 — where a bootstrap
over images collapses to a zero-width interval (0 discordant pairs resample to 0) and would call a handful
of images ``within``. Tango's score interval behaves alike but needs an iterative root search.

With ``a`` images both engines get right, ``b`` only the engine, ``c`` only the reference, ``d`` neither
(``n = a + b + c + d``)::

    p1 = (a + b) / n   (engine)      p2 = (a + c) / n   (reference)      Δ = p1 − p2 = (b − c) / n
    (l1, u1), (l2, u2) = the 95% Wilson score intervals of p1 and p2
    φ = (a·d − b·c) / sqrt((a + b)(c + d)(a + c)(b + d)),   0 when that product is 0; when a·d > b·c the
        numerator is max(a·d − b·c − n/2, 0) (the correction of φ Newcombe gives; without it, two images
        both engines agree on would give a zero-width interval)
    lower = Δ − sqrt((p1 − l1)² − 2φ(p1 − l1)(u2 − p2) + (u2 − p2)²)
    upper = Δ + sqrt((u1 − p1)² − 2φ(u1 − p1)(p2 − l2) + (p2 − l2)²)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from zoobench.errors import ZoobenchError

Z95 = 1.959963984540054
WITHIN, WORSE, UNDECIDED = "within", "worse", "undecided"
NEVER = 10_000_000  # "about N images would decide" is capped here: more than this is "not with any test set"


def wilson(hits: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``hits / n`` (proportions, 0..1)."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def newcombe_paired(a: int, b: int, c: int, d: int, z: float = Z95) -> tuple[float, float, float]:
    """Δ = p(engine) − p(reference) and its Newcombe paired 95% interval, all as proportions (0..1).

    ``a``: both right; ``b``: only the engine right; ``c``: only the reference right; ``d``: neither.
    """
    n = a + b + c + d
    if n == 0:
        raise ZoobenchError("no paired images to compare")
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n, z)
    l2, u2 = wilson(a + c, n, z)
    prod = (a + b) * (c + d) * (a + c) * (b + d)
    cross = float(a * d - b * c)
    if cross > 0:
        cross = max(cross - n / 2, 0.0)
    phi = cross / math.sqrt(prod) if prod > 0 else 0.0
    delta = p1 - p2
    low = delta - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    high = delta + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return delta, low, high


@dataclass(frozen=True)
class MaxDrop:
    """The largest allowed drop of top-1 against fp32: ``points`` (``--max-drop 1.0``) or ``relative`` percent of
    the reference's top-1 (``--max-drop 1%``: MLPerf's "99% of fp32")."""

    value: float
    relative: bool = False

    def points(self, reference_top1_pct: float) -> float:
        return self.value * reference_top1_pct / 100 if self.relative else self.value

    def text(self) -> str:
        if self.relative:
            return f"{self.value:g}% of fp32's top-1"
        return f"{self.value:g} point" + "s" * (self.value != 1)


def parse_max_drop(text: str | float) -> MaxDrop:
    """``1.0`` (percentage points of top-1) or ``1%`` (relative to fp32's top-1); one line otherwise."""
    raw = str(text).strip()
    relative = raw.endswith("%")
    try:
        value = float(raw[:-1] if relative else raw)
    except ValueError:
        why = f"--max-drop must be points (1.0) or a percentage of fp32's top-1 (1%), got {text!r}"
        raise ZoobenchError(why) from None
    if not (0 < value < 100) or math.isnan(value):
        raise ZoobenchError(f"--max-drop must be between 0 and 100 (exclusive), got {text!r}")
    return MaxDrop(value, relative)


class Verdict(TypedDict):
    """Δtop-1 against the allowed drop: ``within`` / ``worse`` / ``undecided`` (with the images that would decide)."""

    verdict: str
    images_needed: int | None


class DeltaBlock(TypedDict):
    """One top-k accuracy of an engine and of the reference on the same images, and Δ with its 95% interval."""

    engine_pct: float
    reference_pct: float
    delta_points: float
    ci95_points: list[float]
    counts: dict[str, int]  # both, engine_only, reference_only, neither


class PairedStats(TypedDict, total=False):
    """A scored column against the reference column (accuracy.json's ``paired`` block); see :func:`paired_stats`.
    ``note_logits``: what the caller says of the logits it did not keep."""

    count: int
    method: str
    top1_agreement_pct: float
    top5_overlap_pct: float
    max_abs_logit_diff: float | None
    verdict: str | None
    verdict_reason: str
    top1: DeltaBlock
    top5: DeltaBlock
    max_drop: str
    max_drop_points: float
    images_needed: int | None
    note_logits: str


def verdict(a: int, b: int, c: int, d: int, max_drop_points: float) -> Verdict:
    """``within`` when the whole interval of Δtop-1 lies above −max_drop, ``worse`` when it lies below,
    else ``undecided`` with ``images_needed``: about how many images (same rates) would decide."""
    _, low, high = newcombe_paired(a, b, c, d)
    bound = -max_drop_points / 100
    if low >= bound:
        return Verdict(verdict=WITHIN, images_needed=None)
    if high < bound:
        return Verdict(verdict=WORSE, images_needed=None)
    return Verdict(verdict=UNDECIDED, images_needed=images_to_decide(a, b, c, d, bound))


def images_to_decide(a: int, b: int, c: int, d: int, bound: float) -> int:
    """Fewest images, with the same four rates, whose interval no longer straddles ``bound`` (capped at NEVER)."""
    n0 = a + b + c + d

    def decides(n: int) -> bool:
        k = n / n0
        sa, sb, sc = round(a * k), round(b * k), round(c * k)
        _, low, high = newcombe_paired(sa, sb, sc, max(0, n - sa - sb - sc))
        return low >= bound or high < bound

    lo, hi = n0, n0 * 2
    while not decides(hi):
        if hi >= NEVER:
            return NEVER
        lo, hi = hi, min(hi * 2, NEVER)
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if decides(mid) else (mid + 1, hi)
    return lo


def _counts(engine_hit: np.ndarray, ref_hit: np.ndarray) -> tuple[int, int, int, int]:
    return (
        int(np.sum(engine_hit & ref_hit)),
        int(np.sum(engine_hit & ~ref_hit)),
        int(np.sum(~engine_hit & ref_hit)),
        int(np.sum(~engine_hit & ~ref_hit)),
    )


def _delta_block(engine_hit: np.ndarray, ref_hit: np.ndarray) -> DeltaBlock:
    a, b, c, d = _counts(engine_hit, ref_hit)
    delta, low, high = newcombe_paired(a, b, c, d)
    n = a + b + c + d
    return DeltaBlock(
        engine_pct=round(100 * (a + b) / n, 4),
        reference_pct=round(100 * (a + c) / n, 4),
        delta_points=round(100 * delta, 4),
        ci95_points=[round(100 * low, 4), round(100 * high, 4)],
        counts={"both": a, "engine_only": b, "reference_only": c, "neither": d},
    )


def paired_stats(
    reference_ids: np.ndarray,
    engine_ids: np.ndarray,
    labels: Sequence[int] | None,
    max_drop: MaxDrop,
    max_abs_logit_diff: float | None = None,
) -> PairedStats:
    """The paired comparison of two engines' top-k ids on the same images (rows aligned).

    Args:
        reference_ids / engine_ids: (N, k>=5) class ids, best first, row i the same image in both.
        labels: the true class of each row, or None (then only agreement and overlap are measured).
        max_drop: the verdict's bound on the top-1 drop.
        max_abs_logit_diff: where the logits were kept; None otherwise (recorded as not kept).

    Returns:
        ``count``, ``top1_agreement_pct``, ``top5_overlap_pct``, ``max_abs_logit_diff``, and with labels
        ``top1`` / ``top5`` (:func:`_delta_block`), ``max_drop_points``, ``verdict``, ``images_needed``.
    """
    ref, eng = np.asarray(reference_ids), np.asarray(engine_ids)
    if ref.shape != eng.shape or ref.ndim != 2 or len(ref) == 0:
        raise ZoobenchError(f"paired predictions must have the same non-empty shape, got {ref.shape} and {eng.shape}")
    overlap = [len(set(r[:5]) & set(e[:5])) / 5.0 for r, e in zip(ref.tolist(), eng.tolist())]
    out = PairedStats(
        count=len(ref),
        method="Newcombe paired score interval (method 10), 95%",
        top1_agreement_pct=round(float(100 * np.mean(ref[:, 0] == eng[:, 0])), 4),
        top5_overlap_pct=round(float(100 * np.mean(overlap)), 4),
        max_abs_logit_diff=max_abs_logit_diff,
    )
    if labels is None:
        out["verdict"] = None
        out["verdict_reason"] = "no labels: agreement with fp32 only"
        return out
    truth = np.asarray(labels)[:, None]
    top1 = _delta_block(eng[:, 0] == truth[:, 0], ref[:, 0] == truth[:, 0])
    out["top1"] = top1
    out["top5"] = _delta_block((eng[:, :5] == truth).any(axis=1), (ref[:, :5] == truth).any(axis=1))
    bound = max_drop.points(top1["reference_pct"])
    c = top1["counts"]
    out["max_drop"] = max_drop.text()
    out["max_drop_points"] = round(bound, 4)
    decided = verdict(c["both"], c["engine_only"], c["reference_only"], c["neither"], bound)
    out["verdict"], out["images_needed"] = decided["verdict"], decided["images_needed"]
    out["verdict_reason"] = verdict_text(out)
    return out


def verdict_text(stats: PairedStats) -> str:
    """One line: the verdict with Δtop-1 ± its interval, or what would decide it."""
    v = stats.get("verdict")
    if v is None:
        return str(stats.get("verdict_reason") or "not decided")
    t1 = stats["top1"]
    lo, hi = t1["ci95_points"]
    where = f"Δtop-1 {t1['delta_points']:+.2f} [{lo:+.2f}, {hi:+.2f}] on {stats['count']} images"
    bound = f"max drop {stats['max_drop_points']:.2f} points"
    if v == UNDECIDED:
        need = stats.get("images_needed") or NEVER
        more = f"about {need:,} images would decide" if need < NEVER else "no test set would decide it"
        return f"undecided ({more}): {where}, {bound}"
    return f"{v}: {where}, {bound}"
