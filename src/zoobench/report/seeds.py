"""The seeds' hardware beside our numbers: the guides' quoted columns (310 per card, 310P, 310P after AOE, T4)
from :mod:`zoobench.models.seed_figures`, for the report's perf table and as ``seeds:DEVICE`` pseudo-runs for
``compare``. Quotes, not measurements: both label them so."""

from __future__ import annotations

from typing import Any

from zoobench.errors import DataError
from zoobench.models.seed_figures import (
    DEVICE_NAMES,
    DEVICE_PRECISION,
    DEVICES,
    SEED_TABLES,
    SeedColumn,
    seed_column,
    seed_devices,
)


def seed_columns(model: str) -> dict[str, dict[int, float]]:
    """device -> img/s per batch size, for every column the model's guide prints."""
    cols = {d: seed_column(model, d) for d in DEVICES}
    return {d: dict(c.fps) for d, c in cols.items() if c is not None}


def seed_sources(model: str) -> str:
    """Where the quoted columns come from, with the guide's own caveats."""
    cols = [c for d in DEVICES if (c := seed_column(model, d)) is not None]
    if not cols:
        return ""
    notes = "; ".join(f"{c.device}: {c.note}" for c in cols if c.note)
    return f"Quoted from {cols[0].source}, not measured here" + (f" ({notes})" if notes else "") + "."


def precision_note(ours: list[str], devices: list[str]) -> str:
    """A sentence when the quoted columns ran at another precision than ours (``ours``: our columns' precisions,
    e.g. ``["fp32"]``): the ratios then compare precisions as well as hardware. "" when all agree."""
    quoted = {d: DEVICE_PRECISION[d] for d in devices if d in DEVICE_PRECISION}
    kinds = {p.split()[0] for p in quoted.values()}
    if not quoted or set(ours) <= kinds:
        return ""
    theirs = "; ".join(f"{d} {p}" for d, p in quoted.items())
    return (
        f"Precision differs: the quoted columns ran in {', '.join(sorted(kinds))} ({theirs}), this machine's in "
        f"{', '.join(dict.fromkeys(ours))}: their ratios compare precisions as well as hardware."
    )


def seed_best(model: str, device: str) -> tuple[int, float] | None:
    """The guide's best-batch row for ``device`` (batch, img/s), else its highest figure; None without a column."""
    col = seed_column(model, device)
    return col.best_row() if col else None


def quote_text(value: float) -> str:
    """A quoted figure as the guide printed it (no rounding: ``4004.645``, ``1378.5``)."""
    return repr(float(value)).removesuffix(".0") if float(value).is_integer() else repr(float(value))


def _seed_perf(model: str, col: SeedColumn) -> dict[str, Any]:
    best_bs, best_v = col.best_row()
    return {
        "model": model,
        "runtime": {"runtime": "seeds", "precision": col.device},
        "results": [
            {"batch_size": b, "throughput_img_s": v, "quote": quote_text(v)} for b, v in sorted(col.fps.items())
        ],
        # The guide's own best-batch row (compare's best row and best-over-best ratio use it).
        "table": {
            "ratio_reference": "seeds",
            "best": {"seeds": {"batch_size": best_bs, "throughput_img_s": best_v, "tied": []}},
        },
        "environment": {"cpu": f"{DEVICE_NAMES[col.device]}; quoted from the guides, not measured", "versions": {}},
        "quoted": {
            "device": col.device,
            "source": col.source,
            "note": col.note,
            "precision": DEVICE_PRECISION.get(col.device),
        },
    }


def seed_run(device: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The guides' quoted column for ``device`` as a pseudo-run: model -> {"seeds": perf.json-shaped dict}."""
    if device not in seed_devices():
        known = ", ".join(f"seeds:{d}" for d in seed_devices())
        raise DataError(f"seeds:{device}: no guide has that column; known: {known}")
    return {model: {"seeds": _seed_perf(model, cols[device])} for model, cols in SEED_TABLES.items() if device in cols}
