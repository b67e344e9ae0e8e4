"""Other systems' MLPerf results, read from a submission's folder layout:
``results/<system>/<model>/<Scenario>/performance/run_1/`` holding ``mlperf_log_summary.txt`` and, where present,
``mlperf_log_detail.txt``. Each run gives one scenario row (the scenario's metric, VALID/INVALID, p50/p90/p99, the
test's settings), every figure traced to the file and line it was read from.

MLPerf's image-classification benchmark is ResNet-50 v1.5 on ImageNet at its own preprocessing: its figures are
not these models', only a scale to set beside them (:data:`NOTE`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

from zoobench.errors import DataError
from zoobench.scenarios.mllog import MLLOG

NOTE = (
    "MLPerf's image classification is ResNet-50 v1.5 (its own weights and preprocessing): its figures are not "
    "these models' and set only a scale beside them"
)
SUMMARY = "mlperf_log_summary.txt"
DETAIL = "mlperf_log_detail.txt"
# the scenario's metric: (summary key, detail key, name, unit, ns -> ms)
METRIC = {
    "SingleStream": ("90.00 percentile latency (ns)", "result_90.00_percentile_latency_ns", "p90 latency", "ms"),
    "MultiStream": ("99.00 percentile latency (ns)", "result_99.00_percentile_latency_ns", "p99 latency", "ms"),
    "Server": ("Scheduled samples per second", "result_scheduled_samples_per_sec", "QPS at the bound", "queries/s"),
    "Offline": ("Samples per second", "result_samples_per_second", "samples/s", "samples/s"),
}
SETTINGS = (
    "target_qps",
    "target_latency (ns)",
    "samples_per_query",
    "min_duration (ms)",
    "min_query_count",
    "performance_sample_count",
)
PERCENTILES = {"p50_ms": "50.00", "p90_ms": "90.00", "p99_ms": "99.00"}


class PublishedRow(TypedDict, total=False):
    """One published MLPerf run as a scenario row: each figure with the file:line it was read from."""

    system: str
    model: str
    scenario: str
    mode: str
    source: str  # "mlperf"
    note: str
    sources: dict[str, str | None]  # figure -> "file:line"
    logs: str
    metric: str | None
    value: float | None
    unit: str | None
    result: str
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    settings: dict[str, str]
    latency_bound_ms: float | None


def summary_lines(text: str) -> dict[str, tuple[str, int]]:
    """``key -> (value, line number)`` of a summary's ``key : value`` lines (the first of a key wins)."""
    out: dict[str, tuple[str, int]] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if ":" in line and not line.startswith(("*", "=")):
            key, _, value = line.partition(":")
            out.setdefault(key.strip(), (value.strip(), n))
    return out


def detail_lines(text: str) -> dict[str, tuple[Any, int]]:
    """``key -> (value, line number)`` of a detail log's MLLOG events (the last of a key wins; broken lines are
    skipped: a published log is read as far as it can be)."""
    out: dict[str, tuple[Any, int]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith(MLLOG):
            try:
                ev = json.loads(line[len(MLLOG) :])
            except json.JSONDecodeError:
                continue
            out[str(ev.get("key"))] = (ev.get("value"), n)
    return out


def is_mlperf_folder(path: str | Path) -> bool:
    """Whether ``path`` holds MLPerf run folders (``.../performance/run_*/mlperf_log_summary.txt``)."""
    root = Path(path)
    return root.is_dir() and next(root.glob(f"**/performance/run_*/{SUMMARY}"), None) is not None


def read_folder(path: str | Path) -> list[PublishedRow]:
    """One row per run folder under ``path`` (a submission, its ``results/`` or one system's folder).

    Raises:
        DataError: no MLPerf summary under ``path``.
    """
    root = Path(path)
    rows = [read_run(p.parent, root) for p in sorted(root.glob(f"**/performance/run_*/{SUMMARY}"))]
    if not rows:
        raise DataError(f"{path}: no MLPerf results (expected results/<system>/<model>/<Scenario>/performance/run_1/)")
    return rows


def _figure(key_s: str, key_d: str, summary: dict[str, Any], detail: dict[str, Any], files: tuple[str, str]) -> Any:
    """``(value, "file:line")`` from the detail log when it has the key, else from the summary; (None, None)."""
    if key_d in detail:
        return detail[key_d][0], f"{files[1]}:{detail[key_d][1]}"
    if key_s in summary:
        return summary[key_s][0], f"{files[0]}:{summary[key_s][1]}"
    return None, None


def read_run(folder: Path, root: Path) -> PublishedRow:
    """One MLPerf run folder's row: system / model / scenario from its path (the summary's scenario wins)."""
    rel = folder.relative_to(root).parts
    parts = list(rel[:-2])  # ... / <system> / <model> / <Scenario>
    summary = summary_lines((folder / SUMMARY).read_text(encoding="utf-8", errors="replace"))
    detail_file = folder / DETAIL
    detail = detail_lines(detail_file.read_text(encoding="utf-8", errors="replace")) if detail_file.is_file() else {}
    files = (str(folder / SUMMARY), str(detail_file))
    scenario = summary.get("Scenario", (parts[-1] if parts else "?", 0))[0]
    sources: dict[str, str | None] = {}
    row: PublishedRow = {
        "system": parts[-3] if len(parts) >= 3 else (summary.get("SUT name", ("?", 0))[0]),
        "model": parts[-2] if len(parts) >= 2 else "?",
        "scenario": scenario,
        "mode": "performance",
        "source": "mlperf",
        "note": NOTE,
        "sources": sources,
        "logs": str(folder),
    }
    if scenario not in METRIC:
        row["metric"], row["value"], row["unit"], row["result"] = None, None, None, "unknown scenario"
        return row
    key_s, key_d, metric, unit = METRIC[scenario]
    value, where = _figure(key_s, key_d, summary, detail, files)
    row["metric"], row["unit"], row["value"] = metric, unit, _scaled(value, unit)
    sources["value"] = where
    result, where = _figure("Result is", "result_validity", summary, detail, files)
    row["result"], sources["result"] = result or "?", where
    p = {name: _percentile(pct, summary, detail, files) for name, pct in PERCENTILES.items()}
    row["p50_ms"], row["p90_ms"], row["p99_ms"] = p["p50_ms"][0], p["p90_ms"][0], p["p99_ms"][0]
    sources.update({name: where for name, (_, where) in p.items()})
    settings = {k: summary[k][0] for k in SETTINGS if k in summary}
    row["settings"] = settings
    sources["settings"] = f"{files[0]}:{summary[SETTINGS[0]][1]}" if SETTINGS[0] in summary else None
    if scenario == "Server":
        row["latency_bound_ms"] = _scaled(settings.get("target_latency (ns)"), "ms")
    return row


def _percentile(
    pct: str, summary: dict[str, Any], detail: dict[str, Any], files: tuple[str, str]
) -> tuple[float | None, str | None]:
    ns, where = _figure(f"{pct} percentile latency (ns)", f"result_{pct}_percentile_latency_ns", summary, detail, files)
    return _scaled(ns, "ms"), where


def _scaled(value: Any, unit: str) -> float | None:
    """A figure as a number: nanoseconds to ms for a latency; None when it does not read as one."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number / 1e6, 4) if unit == "ms" else number
