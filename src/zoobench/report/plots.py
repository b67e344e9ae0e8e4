"""PNG plots of a model's perf results (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from zoobench.io import write_bytes
from zoobench.models.seed_figures import DEVICE_PRECISION
from zoobench.report.tables import column_label, throughput_by_batch


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    write_bytes(path, buf.getvalue())
    return path


def _legend_below(ax: Any) -> None:
    """Legends under the axes, so no line is hidden behind one."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8, frameon=False)


def _batch_axis(ax: Any, batches: list[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(batches)
    ax.set_xticklabels([str(b) for b in batches])
    ax.set_xlabel("batch size")
    ax.grid(True, which="major", alpha=0.3)


def _round_range(perf: dict[str, Any], tp: dict[int, float]) -> tuple[dict[int, float], dict[int, float]]:
    """The slowest and fastest round's img/s per batch (cells without rounds are left out)."""
    low: dict[int, float] = {}
    high: dict[int, float] = {}
    for r in perf.get("results", []):
        reps = r.get("repeats")
        if int(r["batch_size"]) in tp and isinstance(reps, list) and reps:
            low[int(r["batch_size"])], high[int(r["batch_size"])] = float(min(reps)), float(max(reps))
    return low, high


def _unstable(perf: dict[str, Any], batch: int) -> bool:
    return any(r.get("unstable") and int(r["batch_size"]) == batch for r in perf.get("results", []))


def throughput_figure(
    perf: dict[str, dict[str, Any]], title: str, seeds: dict[str, dict[int, float]] | None = None
) -> Any:
    """Throughput (img/s) against batch size, one line per runtime×precision. With the guides' quoted hardware
    columns (``seeds``: device -> img/s per batch), two more panels: those columns on their own scale, and this
    machine's first column over each of them (the table's ratio columns). Never twin axes: two scales on one plot
    make lines that differ 100-fold seem to track each other."""
    plt = _pyplot()
    seeds = {d: fps for d, fps in (seeds or {}).items() if fps}
    n = 3 if seeds else 1
    fig, axes = plt.subplots(n, 1, figsize=(7.0, 4.0 * n), squeeze=False)
    batches = _measured_panel(axes[0][0], perf)
    axes[0][0].set_title(title + (": this machine (measured)" if seeds else ""))
    if seeds:
        _quoted_panel(axes[1][0], seeds)
        _ratio_panel(axes[2][0], perf, seeds)
        batches |= {b for fps in seeds.values() for b in fps}
    for row in axes:
        _batch_axis(row[0], sorted(batches))
        _legend_below(row[0])
    fig.tight_layout()
    return fig


def throughput_plot(
    perf: dict[str, dict[str, Any]], path: Path, title: str, seeds: dict[str, dict[int, float]] | None = None
) -> Path:
    """:func:`throughput_figure`, saved as a PNG."""
    return _save(throughput_figure(perf, title, seeds), path)


def _measured_panel(ax: Any, perf: dict[str, dict[str, Any]]) -> set[int]:
    """Our columns, with each cell's slowest..fastest round as error bars and unstable cells circled."""
    batches: set[int] = set()
    for c, p in perf.items():
        tp = throughput_by_batch(p)
        xs = sorted(tp)
        batches.update(xs)
        low, high = _round_range(p, tp)
        ys = [tp[b] for b in xs]
        yerr = [
            [max(0.0, ys[i] - low.get(b, ys[i])) for i, b in enumerate(xs)],  # rounds are stored rounded
            [max(0.0, high.get(b, ys[i]) - ys[i]) for i, b in enumerate(xs)],
        ]
        bars = " (bars: slowest..fastest round)" if low else ""
        ax.errorbar(xs, ys, yerr=yerr, marker="o", capsize=3, label=column_label(p, c) + bars)
        shaky = [b for b in xs if _unstable(p, b)]
        if shaky:
            label = f"{column_label(p, c)}: unstable (spread > 5%)"
            ax.plot(shaky, [tp[b] for b in shaky], "o", mfc="none", mec="red", ms=11, label=label)
    ax.set_ylabel("images / s")
    top = max((v for p in perf.values() for v in _round_range(p, throughput_by_batch(p))[1].values()), default=0.0)
    top = max([top, *(v for p in perf.values() for v in throughput_by_batch(p).values())], default=1.0)
    ax.set_ylim(0, top * 1.15)
    return batches


def _quoted_panel(ax: Any, seeds: dict[str, dict[int, float]]) -> None:
    """The guides' hardware columns, as the table quotes them (fp16), on their own scale."""
    for dev, fps in seeds.items():
        xs = sorted(fps)
        ax.plot(xs, [fps[b] for b in xs], linestyle="--", marker="x", label=f"{dev}, {DEVICE_PRECISION.get(dev, '')}")
    ax.set_ylabel("images / s")
    ax.set_ylim(0, max(v for fps in seeds.values() for v in fps.values()) * 1.15)
    ax.set_title("the guides' hardware (quoted from the guides, not measured here)")


def _ratio_panel(ax: Any, perf: dict[str, dict[str, Any]], seeds: dict[str, dict[int, float]]) -> None:
    """This machine's first column over each quoted column, per batch (log scale: 1 = as fast)."""
    first = next(iter(perf.items()), None)
    ours = throughput_by_batch(first[1]) if first else {}
    label = column_label(first[1], first[0]) if first else ""
    for dev, fps in seeds.items():
        xs = [b for b in sorted(fps) if b in ours and fps[b] > 0]
        if xs:
            ax.plot(xs, [ours[b] / fps[b] for b in xs], marker="o", label=f"{label} / {dev}")
    from matplotlib.ticker import FuncFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_ylabel("ratio (1 = as fast)")
    ax.set_title(f"this machine's {label} over each guide column" if label else "ratio")


def latency_plot(perf: dict[str, dict[str, Any]], path: Path, title: str) -> Path:
    """Latency per batch against batch size: median (solid) with the p90..p99 band, per column."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 4.0))
    batches: set[int] = set()
    for c, p in perf.items():
        rows = sorted(p.get("results", []), key=lambda r: r["batch_size"])
        xs = [int(r["batch_size"]) for r in rows]
        batches.update(xs)
        med = [r["latency"]["median_ms"] for r in rows]
        (line,) = ax.plot(xs, med, marker="o", label=f"{column_label(p, c)} p50")
        ax.plot(
            xs,
            [r["latency"]["p99_ms"] for r in rows],
            linestyle="--",
            color=line.get_color(),
            label=f"{column_label(p, c)} p99 (band: p90..p99)",
            alpha=0.8,
        )
        ax.fill_between(
            xs,
            [r["latency"]["p90_ms"] for r in rows],
            [r["latency"]["p99_ms"] for r in rows],
            color=line.get_color(),
            alpha=0.15,
        )
    _batch_axis(ax, sorted(batches))
    ax.set_ylabel("ms per batch")
    top = max((r["latency"]["p99_ms"] for p in perf.values() for r in p.get("results", [])), default=1.0)
    ax.set_ylim(0, top * 1.15)
    ax.set_title(title)
    _legend_below(ax)
    return _save(fig, path)


def make_plots(
    perf: dict[str, dict[str, Any]], outdir: Path, model: str, seeds: dict[str, dict[int, float]] | None
) -> list[Path]:
    """Write ``throughput.png`` and ``latency.png`` into ``outdir``; none when there is no perf result. ``seeds``:
    the guide's quoted hardware columns (device -> img/s per batch), drawn in panels of their own."""
    if not perf:
        return []
    return [
        throughput_plot(perf, outdir / "throughput.png", f"{model}: throughput vs batch size", seeds),
        latency_plot(perf, outdir / "latency.png", f"{model}: latency percentiles per batch"),
    ]
