"""Accuracy beside speed for every scored column: the seeds' per-engine accuracy table, the accuracy–speed
table, the throughput-vs-top-1 plot with its Pareto front, and one recommendation line.

Read from a model directory alone: ``infer/accuracy.json`` (the fp32 onnxruntime reference),
``infer/<runtime>-<precision>/accuracy.json`` (each scored column, with its ``paired`` block) and
``perf/<runtime>-<precision>.json`` (each timed column).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoobench.evaluate.paired import PairedStats
from zoobench.evaluate.record import AccuracyRecord, read_accuracy
from zoobench.report.tables import NA, Table, best_of

REFERENCE = "onnxruntime-fp32"


@dataclass
class Column:
    """One runtime × precision: its accuracy (None: not scored) and its best throughput (None: not timed)."""

    name: str
    accuracy: AccuracyRecord | None
    img_s: float | None
    batch: int | None

    @property
    def label(self) -> str:
        return self.name.replace("-", " ", 1)

    @property
    def paired(self) -> PairedStats:
        return PairedStats() if self.accuracy is None else self.accuracy.paired


def load_columns(mdir: Path, perf: dict[str, dict[str, Any]]) -> list[Column]:
    """The reference first, then every scored or timed column in name order."""
    scored = {p.parent.name: read_accuracy(p) for p in sorted((mdir / "infer").glob("*/accuracy.json"))}
    names = [REFERENCE, *sorted((set(scored) | set(perf)) - {REFERENCE})]
    out = []
    for name in names:
        acc = read_accuracy(mdir / "infer" / "accuracy.json") if name == REFERENCE else scored.get(name)
        best = best_of(perf[name]) if name in perf else None
        out.append(Column(name, acc, None if best is None else best[1], None if best is None else best[0]))
    return out


def column_top1(mdir: Path, col: str) -> str | None:
    """``75.20 (n=1000)``: the column's top-1 as its accuracy.json has it (the reference: every image; any other
    column: the held-out images), or None when the column was not scored."""
    acc = read_accuracy(mdir / "infer" / ("accuracy.json" if col == REFERENCE else f"{col}/accuracy.json"))
    if acc is None or acc.top1 is None or acc.random_weights:
        return None
    return f"{acc.top1:.2f} (n={acc.count})"


def has_columns(cols: list[Column]) -> bool:
    return any(c.name != REFERENCE and c.accuracy is not None for c in cols)


def _pct(v: Any) -> str:
    return NA if v is None else f"{v:.2f}"


def engines_table(cols: list[Column]) -> Table:
    """The seeds' accuracy table shape: the reference row, then one row per engine with top-1 and top-5."""
    rows = []
    for c in cols:
        acc = c.accuracy
        if acc is None or acc.top1 is None:
            continue
        in_sample = (acc.extra.get("calibration") or {}).get("in_sample")
        role = "every image (reference)" if c.name == REFERENCE else "held-out images"
        role = "every image (calibrated in-sample)" if in_sample else role
        rows.append([c.label, _pct(acc.top1), _pct(acc.top_k(5)), str(acc.count), role])
    note = (
        "Each engine is scored on the images it was not calibrated on (calibration.json lists both sets), except "
        "where a set under 100 images was too small to hold out (in-sample)."
    )
    return Table(["engine", "Top-1 %", "Top-5 %", "images", "scored on"], rows, title="Accuracy per engine", note=note)


def _delta(p: PairedStats) -> str:
    t1 = p.get("top1")
    if not t1:
        return NA
    lo, hi = t1["ci95_points"]
    return f"{t1['delta_points']:+.2f} [{lo:+.2f}, {hi:+.2f}]"


def _verdict(c: Column) -> str:
    p = c.paired
    v = p.get("verdict") or "agreement only"
    if v == "undecided" and p.get("images_needed"):
        v = f"undecided (~{p['images_needed']:,} images)"
    in_sample = ((c.accuracy.extra if c.accuracy else {}).get("calibration") or {}).get("in_sample")
    return v + ("; calibration: in-sample" if in_sample else "")


def reference_top1(cols: list[Column]) -> float | None:
    """fp32's top-1 on the held-out images (what every Δ is measured against)."""
    for c in cols:
        t1 = c.paired.get("top1")
        if t1:
            return float(t1["reference_pct"])
    ref = cols[0].accuracy if cols else None
    return None if ref is None else ref.top1


def accuracy_speed_table(cols: list[Column]) -> Table:
    """Per column: top-1, Δ vs fp32 with its paired 95% interval, agreement, best img/s, speed-up, verdict."""
    base = cols[0].img_s if cols else None
    rows = []
    for c in cols:
        p = c.paired
        ref = c.name == REFERENCE
        block = p.get("top1")
        top1 = reference_top1(cols) if ref else (None if block is None else block.get("engine_pct"))
        speed = NA if c.img_s is None else f"{c.img_s:.1f} (bs{c.batch})"
        up = NA if c.img_s is None or not base else f"{c.img_s / base:.2f}×"
        agree = "100.0" if ref else (NA if not p else f"{p['top1_agreement_pct']:.1f}")
        verdict = "not scored" if c.accuracy is None else "reference" if ref else _verdict(c)
        rows.append([c.label, _pct(top1), NA if ref else _delta(p), agree, speed, up, verdict])
    drop = next((c.paired.get("max_drop") for c in cols if c.paired.get("max_drop")), None)
    n = next((c.paired.get("count") for c in cols if c.paired.get("count")), None)
    note = (
        f"Top-1 on the {n or 'held-out'} images every column was scored on; Δ vs fp32 with its 95% paired "
        "interval (Newcombe); verdict against the largest allowed drop"
        + (f" ({drop})" if drop else "")
        + ": within / worse / undecided (about how many images would decide)."
    )
    headers = ["engine", "Top-1 %", "Δ vs fp32 [95% CI]", "agree %", "best img/s", "vs fp32", "verdict"]
    return Table(headers, rows, title="Accuracy and speed", note=note)


NO_REFERENCE, SHIP_FP32, SHIP_COLUMN, UNDECIDED = "no-reference", "fp32", "column", "undecided"


@dataclass(frozen=True)
class Recommendation:
    """What to ship, decided from the verdicts and the speeds.

    ``kind``: ``column`` (``column`` is the fastest engine within the drop, faster than fp32), ``fp32`` (``column`` is
    the reference itself: no faster engine is within the drop), ``undecided`` (``column`` is the faster engine the
    images could not decide; ``images_needed`` and ``max_drop_to_decide`` say what would), or ``no-reference`` (fp32
    was not timed). ``text`` is the report's line.
    """

    kind: str
    text: str
    column: Column | None = None
    speedup: float | None = None  # the column's best img/s over fp32's
    images_needed: int | None = None  # undecided: about how many held-out images would decide
    max_drop_to_decide: float | None = None  # undecided: the --max-drop (points) under which it would be within

    @property
    def ships(self) -> bool:
        return self.kind in (SHIP_FP32, SHIP_COLUMN)


def _undecided(c: Column, speedup: float, drop: str) -> Recommendation:
    """An undecided faster column: more images, or a wider --max-drop, would decide it."""
    need = c.paired.get("images_needed")
    more = f"about {need:,} held-out images would decide" if need else "more images would decide"
    low = float(c.paired["top1"]["ci95_points"][0])
    wider = math.floor(-low * 10) / 10 + 0.1  # the interval's lower end lies above -wider
    if wider < 100:
        more += f", or a --max-drop of {wider:g} points would accept it"
    text = (
        f"Not decided: {c.label} is {speedup:.1f}× fp32 with Δtop-1 {_delta(c.paired)}, undecided against "
        f"{drop}; {more}."
    )
    return Recommendation(UNDECIDED, text, c, speedup, need, wider if wider < 100 else None)


def recommend(cols: list[Column]) -> Recommendation:
    """The fastest engine within the drop of fp32, only when the verdicts decide it; otherwise what would."""
    if not cols or cols[0].img_s is None:
        return Recommendation(NO_REFERENCE, "No recommendation: the fp32 onnxruntime reference was not timed.")
    base, fp32 = cols[0], float(cols[0].img_s)
    drop = next((c.paired.get("max_drop") for c in cols if c.paired.get("max_drop")), "the allowed drop")
    unlabeled = [c for c in cols[1:] if c.accuracy is not None and c.paired and c.paired.get("verdict") is None]
    timed = [(float(c.img_s), c) for c in cols[1:] if c.img_s is not None and c.paired.get("verdict")]
    if unlabeled and not timed:
        text = f"Not decided: no labels, so {unlabeled[0].label} has no verdict against fp32; --labels would decide."
        return Recommendation(UNDECIDED, text, unlabeled[0])
    timed.sort(key=lambda t: -t[0])
    best = next(((v, c) for v, c in timed if c.paired["verdict"] == "within" and v > fp32), None)
    floor = best[0] if best else fp32
    open_ = [(v, c) for v, c in timed if c.paired["verdict"] == "undecided" and v > floor]
    if open_:
        return _undecided(open_[0][1], open_[0][0] / fp32, str(drop))
    if best is None:
        text = f"Fastest engine within {drop} of fp32: {base.label} itself (no faster engine is within it)."
        return Recommendation(SHIP_FP32, text, base, 1.0)
    v, c = best
    t1 = c.paired["top1"]
    half = (t1["ci95_points"][1] - t1["ci95_points"][0]) / 2
    text = (
        f"Fastest engine within {drop} of fp32: {c.label} — {v / fp32:.1f}× fp32, "
        f"Δ {t1['delta_points']:+.1f} ± {half:.1f} points."
    )
    return Recommendation(SHIP_COLUMN, text, c, v / fp32)


def recommendation(cols: list[Column]) -> str:
    """One line: the fastest engine within the drop of fp32, only when the verdicts decide it; otherwise what
    would decide it."""
    return recommend(cols).text


def pareto(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both throughput and top-1 (ties kept)."""
    front = []
    for i, (x, y) in enumerate(points):
        if not any((x2 >= x and y2 >= y) and (x2 > x or y2 > y) for x2, y2 in points):
            front.append(i)
    return front


def accuracy_speed_plot(cols: list[Column], path: Path, title: str) -> Path | None:
    """Throughput (x) against top-1 on the held-out images (y, with the paired interval), Pareto front marked."""
    from zoobench.report.plots import _pyplot, _save

    ref1 = reference_top1(cols)
    pts: list[tuple[str, float, float, tuple[float, float]]] = []
    for c in cols:
        t1 = c.paired.get("top1")
        if c.img_s is None or ref1 is None:
            continue
        if c.name == REFERENCE:
            pts.append((c.label, c.img_s, ref1, (0.0, 0.0)))
        elif t1:  # the engine's top-1 interval is fp32's top-1 plus Δ's paired interval
            lo, hi, d = t1["ci95_points"][0], t1["ci95_points"][1], t1["delta_points"]
            y = float(t1["engine_pct"])
            pts.append((c.label, c.img_s, y, (min(y, max(0.0, d - lo)), min(100.0 - y, max(0.0, hi - d)))))
    if len(pts) < 2:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    front = pareto([(p[1], p[2]) for p in pts])
    rank = {i: r for r, i in enumerate(sorted(range(len(pts)), key=lambda k: pts[k][1]))}  # neighbours in x
    for i, (label, x, y, err) in enumerate(pts):
        ax.errorbar(
            [x],
            [y],
            yerr=[[err[0]], [err[1]]],
            fmt="o" if i in front else "s",
            capsize=3,
            color="tab:red" if i in front else "tab:gray",
            zorder=3,
        )
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(6, 4 + 11 * (rank[i] % 3)), fontsize=8)
    fr = sorted((pts[i][1], pts[i][2]) for i in front)
    ax.step([p[0] for p in fr], [p[1] for p in fr], where="post", color="tab:red", alpha=0.6, label="Pareto front")
    ax.set_xlabel("best throughput, img/s")
    ax.set_ylabel("top-1 % (held-out images; bars: 95% paired interval)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    return _save(fig, path)
