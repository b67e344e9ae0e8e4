"""How far one engine's logits are from a reference's: the one comparison export's parity check, the uint8 input's
parity check and compile's agreement check all use."""

from __future__ import annotations

from typing import TypedDict

import numpy as np


class LogitsComparison(TypedDict):
    """Two runs' logits compared: agreement of their top-1 / top-5 and the size of their difference."""

    count: int
    top1_agreement_pct: float
    top5_overlap_pct: float
    max_abs_logit_diff: float
    mean_abs_logit_diff: float
    max_abs_logit: float
    rel_diff: float
    finite: bool


def compare_logits(reference: np.ndarray, logits: np.ndarray) -> LogitsComparison:
    """``logits`` against ``reference`` (images × classes), in float64.

    Returns:
        ``count``; ``top1_agreement_pct`` (same arg-max); ``top5_overlap_pct`` (mean share of the reference's top-5
        in the engine's top-5); ``max_abs_logit_diff`` / ``mean_abs_logit_diff``; ``max_abs_logit`` of the
        reference, for scale; ``rel_diff`` = max |diff| / max |logit| (random-init logits can be 1e-8);
        ``finite``: no NaN or inf on either side.

    Raises:
        ValueError: the shapes differ.
    """
    if reference.shape != logits.shape:
        raise ValueError(f"shapes differ: reference {reference.shape}, engine {logits.shape}")
    top5_ref = np.argsort(-reference, axis=1)[:, :5]
    top5 = np.argsort(-logits, axis=1)[:, :5]
    overlap = [len(set(a) & set(b)) / 5.0 for a, b in zip(top5_ref, top5)]
    diff = np.abs(reference.astype(np.float64) - logits.astype(np.float64))
    scale = float(np.abs(reference).max())
    return {
        "count": int(reference.shape[0]),
        "top1_agreement_pct": float(100.0 * np.mean(top5_ref[:, 0] == top5[:, 0])),
        "top5_overlap_pct": float(100.0 * np.mean(overlap)),
        "max_abs_logit_diff": float(diff.max()),
        "mean_abs_logit_diff": float(diff.mean()),
        "max_abs_logit": scale,
        "rel_diff": float(diff.max()) / max(scale, 1e-12),
        "finite": bool(np.isfinite(reference).all() and np.isfinite(logits).all()),
    }
