"""How ``tune`` decides: the default and the best candidate are timed in interleaved rounds, so round i of each is
a pair measured under the same load. The candidate is kept when either test says it is faster by more than
:data:`MARGIN`; otherwise the default is kept, with the test that failed.

1. **Sign test**: the candidate beat the default by more than the margin in every one of n >= :data:`MIN_ROUNDS`
   paired rounds (one-sided p = 0.5^n <= 3.1% if neither were faster).
2. **Paired t interval on the log of the per-round ratio** (candidate / default img/s): the one-sided 95% lower
   bound of the mean ratio is above 1 + margin.

Each round's ratio is judged, not each side's spread: a default whose rounds scatter (34% on a shared machine)
does not hide a candidate that won every round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MARGIN = 0.02  # a candidate must beat the default by more than 2% per round (sign test) or on the lower bound
MIN_ROUNDS = 5  # the sign test needs at least this many paired rounds (0.5^5 = 3.1%)

# one-sided 95% quantiles of Student's t by degrees of freedom; 1.645 (normal) beyond 30
_T95 = [
    6.314,
    2.920,
    2.353,
    2.132,
    2.015,
    1.943,
    1.895,
    1.860,
    1.833,
    1.812,
    1.796,
    1.782,
    1.771,
    1.761,
    1.753,
    1.746,
    1.740,
    1.734,
    1.729,
    1.725,
    1.721,
    1.717,
    1.714,
    1.711,
    1.708,
    1.706,
    1.703,
    1.701,
    1.699,
    1.697,
]


@dataclass(frozen=True)
class PairedVerdict:
    """The decision: ``wins``; ``test`` (``sign``, ``t``, or None when both failed); ``why`` in words; the
    per-round ratios, the rounds won by more than the margin and the t lower bound (None under 2 pairs)."""

    wins: bool
    test: str | None
    why: str
    ratios: tuple[float, ...]
    won: int
    lower: float | None


def t95(df: int) -> float:
    """The one-sided 95% quantile of Student's t with ``df`` degrees of freedom."""
    return _T95[df - 1] if 1 <= df <= len(_T95) else 1.645


def lower_bound(ratios: list[float]) -> float | None:
    """One-sided 95% lower bound of the mean per-round ratio: a t interval on the log ratios (None under 2)."""
    n = len(ratios)
    if n < 2:
        return None
    logs = [math.log(r) for r in ratios]
    mean = sum(logs) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (n - 1))
    return math.exp(mean - t95(n - 1) * sd / math.sqrt(n))


def paired_verdict(default: list[float], candidate: list[float], margin: float = MARGIN) -> PairedVerdict:
    """Judge the candidate on the rounds both sides finished (img/s, round i of each a pair)."""
    ratios = [c / d for d, c in zip(default, candidate) if d > 0 and c > 0]
    n, bar = len(ratios), 1.0 + margin
    won = sum(r > bar for r in ratios)
    low = lower_bound(ratios)
    if n >= MIN_ROUNDS and won == n:
        why = f"sign test: won all {n} paired rounds by more than {margin:.0%} (one-sided p = {0.5**n:.3f})"
        return PairedVerdict(True, "sign", why, tuple(ratios), won, low)
    if low is not None and low > bar:
        why = f"paired t interval on the log ratios: 95% lower bound {low:.3f}x > {bar:.2f}x over {n} rounds"
        return PairedVerdict(True, "t", why, tuple(ratios), won, low)
    bound = "n/a (under 2 paired rounds)" if low is None else f"{low:.3f}x"
    why = (
        f"sign test failed (won {won} of {n} paired rounds by more than {margin:.0%}; it needs all "
        f"of at least {MIN_ROUNDS}) and the paired t interval failed (95% lower bound of the ratio {bound}, "
        f"not above {bar:.2f}x)"
    )
    return PairedVerdict(False, None, why, tuple(ratios), won, low)
