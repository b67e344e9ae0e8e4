"""PNG plots of a model's perf results (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from zoobench.io import write_bytes
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


def throughput_plot(
    perf: dict[str, dict[str, Any]], path: Path, title: str, seed: dict[int, float] | None = None
) -> Path:
    """Throughput (img/s) against batch size, one line per runtime×precision (+ the seeds' NPU, dashed)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 4.0))
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
            ax.plot(
                shaky,
                [tp[b] for b in shaky],
                "o",
                mfc="none",
                mec="red",
                ms=11,
                label=f"{column_label(p, c)}: unstable (spread > 5%)",
            )
    if seed:
        xs = sorted(seed)
        ax2 = ax.twinx()
        ax2.plot(
            xs,
            [seed[b] for b in xs],
            color="grey",
            linestyle="--",
            marker="x",
            label="seeds: Ascend 310P, quoted (right axis)",
        )
        ax2.set_ylabel("seed NPU img/s")
        ax2.set_ylim(0, max(seed.values()) * 1.15)
        ax2.legend(loc="upper right", fontsize=8, framealpha=0.8)
        batches.update(xs)
    _batch_axis(ax, sorted(batches))
    ax.set_ylabel("images / s")
    top = max((v for p in perf.values() for v in _round_range(p, throughput_by_batch(p))[1].values()), default=0.0)
    top = max([top, *(v for p in perf.values() for v in throughput_by_batch(p).values())], default=1.0)
    ax.set_ylim(0, top * 1.15)
    ax.set_title(title)
    _legend_below(ax)
    return _save(fig, path)


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


def make_plots(perf: dict[str, dict[str, Any]], outdir: Path, model: str, seed: dict[int, float] | None) -> list[Path]:
    """Write ``throughput.png`` and ``latency.png`` into ``outdir``; none when there is no perf result."""
    if not perf:
        return []
    return [
        throughput_plot(perf, outdir / "throughput.png", f"{model}: throughput vs batch size", seed),
        latency_plot(perf, outdir / "latency.png", f"{model}: latency percentiles per batch"),
    ]
