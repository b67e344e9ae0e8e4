"""accuracy.json, typed: :class:`AccuracyRecord` (eval's record of one scored run, beside
:class:`~zoobench.predictions.Predictions`) and its :class:`GateVerdict`. It writes the JSON accuracy.json has always
had (``to_dict``) and reads it back (``from_dict``; :func:`read_accuracy` for a file): report/ and compare read
accuracy.json only through it. Blocks other stages add (a scored column's ``paired``, ``column``, ``calibration``)
are kept as they are in ``extra``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from zoobench.errors import DataError
from zoobench.jsontypes import JsonObject

if TYPE_CHECKING:
    from zoobench.evaluate.paired import PairedStats

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


@dataclass(frozen=True)
class GateVerdict:
    """The three-way accuracy gate: ``gate`` pass / fail / inconclusive (None: not gated), ``passed`` (None when
    inconclusive or not gated), ``images_needed`` (inconclusive: how many images would decide), ``gate_reason``."""

    gate: str | None
    passed: bool | None
    images_needed: int | None
    gate_reason: str | None

    @classmethod
    def ungated(cls, reason: str) -> GateVerdict:
        return cls(None, None, None, reason)


_HEAD = ("count", "skipped", "unlabeled", "missing", "reference", "delta_top1", "delta_top5", "tolerance_points")
_GATE = ("gate", "passed", "images_needed", "gate_reason")
_TAIL = ("model", "weights_provenance", "random_weights", "note")


@dataclass(frozen=True)
class AccuracyRecord:
    """One scored run: ``top`` (top-1 … top-k accuracy, percent), the counts, the ``reference`` it is gated
    against (``top1``, ``top5``, ``source``), the deltas (points), the gate, and what the weights were.

    Files written before the three-way gate have ``passed`` only: they read with the gate it gave. A scored
    column without labels has no figures (``top`` empty, ``count`` None): only its ``paired`` agreement."""

    top: tuple[float, ...]
    count: int | None
    skipped: int = 0
    unlabeled: int = 0
    missing: int = 0
    reference: dict[str, Any] = field(default_factory=dict)
    delta_top1: float | None = None
    delta_top5: float | None = None
    tolerance_points: float | None = None
    ci95_top1_points: float | None = None
    verdict: GateVerdict = field(default_factory=lambda: GateVerdict.ungated("no reference to gate against"))
    model: str | None = None
    weights_provenance: str | None = None
    random_weights: bool = False
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def top1(self) -> float | None:
        return self.top_k(1)

    def top_k(self, k: int) -> float | None:
        """Top-``k`` accuracy, percent (None: not scored that far)."""
        return self.top[k - 1] if 0 < k <= len(self.top) else None

    @property
    def gate(self) -> str | None:
        return self.verdict.gate

    @property
    def paired(self) -> PairedStats:
        """A scored column's paired statistics against the reference column (``{}`` for the reference)."""
        return cast("PairedStats", dict(self.extra.get("paired") or {}))

    def with_extra(self, **blocks: Any) -> AccuracyRecord:
        return replace(self, extra={**self.extra, **blocks})

    def to_dict(self) -> JsonObject:
        if not self.top:  # a column scored without labels: its paired agreement only
            return {"model": self.model, **self.extra}
        out: dict[str, Any] = {f"top{i}": v for i, v in enumerate(self.top, start=1)}
        out.update({k: getattr(self, k) for k in _HEAD})
        if self.ci95_top1_points is not None:
            out["ci95_top1_points"] = self.ci95_top1_points
        out.update(asdict(self.verdict))  # gate, passed, images_needed, gate_reason
        out.update({k: getattr(self, k) for k in _TAIL[:3]})
        if self.note is not None:
            out["note"] = self.note
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AccuracyRecord:
        top: list[float] = []
        while f"top{len(top) + 1}" in d:
            top.append(float(d[f"top{len(top) + 1}"]))
        if bool(top) != ("count" in d):
            raise DataError("an accuracy record needs both its top-1 and its count, or neither")
        passed = d.get("passed")
        gate = d.get("gate", None if passed is None else PASS if passed else FAIL)  # before the gate existed
        verdict = GateVerdict(gate, passed, d.get("images_needed"), d.get("gate_reason"))
        known = {k: d[k] for k in (*_HEAD, "ci95_top1_points", *_TAIL) if k in d}
        skip = {*_HEAD, "ci95_top1_points", *_GATE, *_TAIL, *(f"top{i}" for i in range(1, len(top) + 1))}
        extra = {k: v for k, v in d.items() if k not in skip}
        return cls(tuple(top), known.pop("count", None), **known, verdict=verdict, extra=extra)


def read_accuracy(path: str | Path) -> AccuracyRecord | None:
    """An accuracy.json as an :class:`AccuracyRecord`; None when it is missing, unreadable or not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return AccuracyRecord.from_dict(data) if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError, DataError):
        return None
