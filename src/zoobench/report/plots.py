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
        ax.plot(xs, [tp[b] for b in xs], marker="o", label=column_label(p, c))
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
    top = max((v for p in perf.values() for v in throughput_by_batch(p).values()), default=1.0)
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
