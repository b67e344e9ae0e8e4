"""Paired verdicts against fp32 (evaluate/paired.py): the interval is the formula, and few images never decide."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zoobench.errors import ZoobenchError
from zoobench.evaluate.paired import MaxDrop, paired_stats, parse_max_drop, verdict

Z = 1.959963984540054


def _wilson(k: int, n: int) -> tuple[float, float]:
    p = k / n
    c = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    h = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return c - h, c + h


def _newcombe(a: int, b: int, c: int, d: int) -> tuple[float, float]:
    """Newcombe's method 10, written out again from the paper's formula (percentage points)."""
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = _wilson(a + b, n)
    l2, u2 = _wilson(a + c, n)
    num = a * d - b * c
    num = max(num - n / 2, 0) if num > 0 else num
    phi = num / math.sqrt((a + b) * (c + d) * (a + c) * (b + d))
    lo = p1 - p2 - math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    hi = p1 - p2 + math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    return 100 * lo, 100 * hi


def _predictions(a: int, b: int, c: int, d: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Top-5 ids of a reference and an engine, and labels, with exactly a/b/c/d images in each top-1 cell:
    a both right, b only the engine right, c only the reference right, d neither."""
    rows_ref, rows_eng, labels = [], [], []
    for both, eng_ok, ref_ok in [(a, True, True), (b, True, False), (c, False, True), (d, False, False)]:
        for _ in range(both):
            label = len(labels) % 50
            wrong = label + 100
            rows_ref.append([label if ref_ok else wrong, 900, 901, 902, 903])
            rows_eng.append([label if eng_ok else wrong, 900, 901, 902, 904])
            labels.append(label)
    return np.array(rows_ref), np.array(rows_eng), labels


@pytest.mark.parametrize("counts", [(150, 3, 9, 38), (40, 0, 2, 8), (300, 12, 4, 84)])
def test_interval_equals_the_formula_on_known_discordant_counts(counts: tuple[int, int, int, int]) -> None:
    ref, eng, labels = _predictions(*counts)
    stats = paired_stats(ref, eng, labels, MaxDrop(1.0))
    a, b, c, d = counts
    assert stats["top1"]["counts"] == {"both": a, "engine_only": b, "reference_only": c, "neither": d}
    assert stats["top1"]["delta_points"] == pytest.approx(100 * (b - c) / sum(counts), abs=1e-4)
    lo, hi = _newcombe(*counts)
    assert stats["top1"]["ci95_points"] == pytest.approx([lo, hi], abs=1e-4)
    assert stats["top1_agreement_pct"] == pytest.approx(100 * (a + d) / sum(counts), abs=1e-4)
    assert stats["top5_overlap_pct"] == pytest.approx(80.0 * (a + d) / sum(counts) + 60.0 * (b + c) / sum(counts))


def test_undecided_when_the_interval_straddles_the_bound() -> None:
    # 200 images, Δ = -0.5 points: the interval (about ±2 points) holds both -1 and 0
    ref, eng, labels = _predictions(150, 2, 3, 45)
    stats = paired_stats(ref, eng, labels, MaxDrop(1.0))
    lo, hi = stats["top1"]["ci95_points"]
    assert lo < -1.0 < hi
    assert stats["verdict"] == "undecided"
    assert stats["images_needed"] > 200
    assert "images would decide" in stats["verdict_reason"]


def test_a_handful_of_identical_predictions_is_never_within() -> None:
    for n in (2, 4, 10):
        ref, eng, labels = _predictions(n // 2, 0, 0, n - n // 2)
        assert paired_stats(ref, eng, labels, MaxDrop(1.0))["verdict"] == "undecided"


def test_within_and_worse_are_decided_by_many_images() -> None:
    assert verdict(7000, 20, 25, 2955, 1.0)["verdict"] == "within"
    assert verdict(7000, 20, 400, 2580, 1.0)["verdict"] == "worse"


def test_max_drop_points_and_relative() -> None:
    assert parse_max_drop("1.0") == MaxDrop(1.0, False)
    rel = parse_max_drop("1%")
    assert rel.relative and rel.points(75.0) == pytest.approx(0.75)
    for bad in ("x", "0", "-1", "150%"):
        with pytest.raises(ZoobenchError, match="--max-drop"):
            parse_max_drop(bad)


def test_without_labels_only_agreement() -> None:
    ref, eng, _ = _predictions(5, 1, 1, 3)
    stats = paired_stats(ref, eng, None, MaxDrop(1.0))
    assert stats["verdict"] is None and "top1" not in stats
    assert stats["top1_agreement_pct"] == pytest.approx(80.0)
