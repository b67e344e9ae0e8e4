"""The seeds' hardware beside our numbers in the report: the guides' quoted columns (310 per card, 310P, 310P
after AOE, T4) from :mod:`zoobench.models.seed_figures`. Quotes, not measurements; the report labels them so."""

from __future__ import annotations

from zoobench.models.seed_figures import DEVICES, seed_column


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


def seed_fps(model: str) -> dict[int, float]:
    """The column the plot draws beside ours: the 310P where the guide has one, else its first column."""
    cols = seed_columns(model)
    return cols.get("310P") or next(iter(cols.values()), {})
