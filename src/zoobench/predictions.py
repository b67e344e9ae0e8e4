"""What a run predicted, one type for every way it arrives: from infer in memory, from an earlier run's
predictions.csv (+ summary.json, skipped.csv), or from the seeds' dumps. Eval scores it.

The hand-off to eval is typed: :class:`RunSummary` holds the facts of summary.json that scoring reads, so a
key renamed in summary.json fails here, in one place, rather than as a silently missing value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RunSummary:
    """The facts of the run that made the predictions, as eval needs them.

    Attributes:
        model: the model name (looks up the published reference); None: not known (the seeds' dumps).
        weights_provenance: ``pretrained``, ``custom``, ``random`` ... (custom weights are gated against the
            published checkpoint's figure, and accuracy.json says so).
        random_weights: random-init weights are never gated.
        num_classes: scores per image (the seeds' result.json records it).
        skipped: images the run skipped (unreadable files).
        runtime: the runtime that inferred (summary.json's ``runtime.runtime``).
    """

    model: str | None = None
    weights_provenance: str | None = None
    random_weights: bool = False
    num_classes: int = 1000
    skipped: int = 0
    runtime: str = ""

    @classmethod
    def of(cls, summary: dict[str, Any]) -> RunSummary:
        """From summary.json's content (infer writes it; an earlier run's is read back)."""
        return cls(
            model=summary.get("model"),
            weights_provenance=(summary.get("weights") or {}).get("provenance"),
            random_weights=bool(summary.get("random_weights", False)),
            num_classes=int(summary.get("num_classes", 1000)),
            skipped=int(summary.get("skipped", 0)),
            runtime=str((summary.get("runtime") or {}).get("runtime", "")),
        )


@dataclass
class Predictions:
    """The top-k predictions of a run, one row per image, best first.

    Attributes:
        names: image file names, in row order.
        topk_ids: (N, k) int64 class ids.
        topk_probs: (N, k) float32 softmax probabilities of those ids; None where the source had none (the
            seeds' dumps are scored by their argsort).
        skipped: the images the run skipped, with why; None: not known (the seeds' dumps, a predictions.csv
            without its summary.json), so eval cannot count images missing from the run.
        labels: the true class per row (None where unknown), as a predictions.csv records it; None: no column.
        run: the run's facts (summary.json); None: not known.
    """

    names: list[str]
    topk_ids: np.ndarray
    topk_probs: np.ndarray | None = None
    skipped: list[tuple[str, str]] | None = None
    labels: list[int | None] | None = None
    run: RunSummary | None = field(default=None)

    def listed(self) -> list[str] | None:
        """Every image of the run (inferred and skipped), or None when the skipped ones are not known."""
        if self.skipped is None:
            return None
        return [*self.names, *(n for n, _why in self.skipped)]
