"""LoadGen's logs, read back: ``mlperf_log_summary.txt`` (``key : value`` lines) and ``mlperf_log_detail.txt``
(one ``:::MLLOG {json}`` event per line), turned into one row of loadgen.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

from zoobench.errors import DataError

MLLOG = ":::MLLOG "
CHECKS = (
    "Min duration satisfied",
    "Min queries satisfied",
    "Early stopping satisfied",
    "Performance constraints satisfied",
)
PERCENTILES = {"p50_ms": "50.00", "p90_ms": "90.00", "p99_ms": "99.00"}
# the scenario's metric, as LoadGen names it in the detail log, and how zoobench reports it
METRICS = {
    "SingleStream": ("result_90.00_percentile_latency_ns", "p90 latency", "ms"),
    "MultiStream": ("result_99.00_percentile_latency_ns", "p99 latency", "ms"),
    "Offline": ("result_samples_per_second", "samples/s", "samples/s"),
    "Server": ("result_scheduled_samples_per_sec", "QPS at the bound", "queries/s"),
}
SUMMARY_METRICS = {"Offline": "Samples per second", "Server": "Scheduled samples per second"}


def parse_summary(text: str) -> dict[str, str]:
    """Every ``key : value`` line of a summary (the first one of a key wins; the Early Stopping block's bullet
    lines are kept in ``early_stopping``)."""
    out: dict[str, str] = {}
    notes: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("*"):
            notes.append(line.lstrip("* ").strip())
        elif ":" in line and not line.startswith("="):
            key, _, value = line.partition(":")
            out.setdefault(key.strip(), value.strip())
    if notes:
        out["early_stopping"] = " | ".join(notes)
    return out


class MllogEvent(TypedDict, total=False):
    """One ``:::MLLOG`` line of LoadGen's detail log."""

    key: str
    value: Any  # a number, a string or a list, as the key says
    time_ms: float
    namespace: str
    event_type: str
    metadata: dict[str, Any]  # is_error / is_warning, file, line_no


def parse_detail(text: str) -> list[MllogEvent]:
    """The ``:::MLLOG`` events of a detail log, in order; a line that is not one is ignored, a broken one is one
    line of error."""
    events = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.startswith(MLLOG):
            continue
        try:
            events.append(json.loads(line[len(MLLOG) :]))
        except json.JSONDecodeError as exc:
            raise DataError(f"mlperf_log_detail.txt line {n}: not an MLLOG event ({exc.msg})") from None
    return events


def detail_values(events: list[MllogEvent]) -> dict[str, Any]:
    """``key -> value`` of the events (the last one of a key wins), plus ``errors`` / ``warnings``: the values of
    the events marked as such."""
    values: dict[str, Any] = {}
    errors, warnings = [], []
    for ev in events:
        values[ev.get("key", "")] = ev.get("value")
        meta = ev.get("metadata") or {}
        if meta.get("is_error"):
            errors.append(f"{ev.get('key')}: {ev.get('value')}")
        elif meta.get("is_warning"):
            warnings.append(f"{ev.get('key')}: {ev.get('value')}")
    values["errors"], values["warnings"] = errors, warnings
    return values


def read_logs(folder: str | Path) -> tuple[dict[str, str], dict[str, Any]]:
    """The summary and the detail values of one test's folder.

    Raises:
        DataError: LoadGen left no summary there (the test did not finish).
    """
    p = Path(folder)
    summary = p / "mlperf_log_summary.txt"
    if not summary.is_file() or summary.stat().st_size == 0:
        raise DataError(f"{p}: LoadGen wrote no summary (the test did not finish)")
    detail = p / "mlperf_log_detail.txt"
    events = parse_detail(detail.read_text(encoding="utf-8", errors="replace")) if detail.is_file() else []
    return parse_summary(summary.read_text(encoding="utf-8", errors="replace")), detail_values(events)


def performance_row(scenario: str, summary: dict[str, str], detail: dict[str, Any]) -> dict[str, Any]:
    """The scenario's metric, validity with each check, p50/p90/p99 (ms) and query count of a performance test."""
    key, metric, unit = METRICS[scenario]
    value = detail.get(key)
    if value is None and scenario in SUMMARY_METRICS:
        value = _number(summary.get(SUMMARY_METRICS[scenario]))
    row: dict[str, Any] = {
        "metric": metric,
        "value": None if value is None else (float(value) / 1e6 if unit == "ms" else float(value)),
        "unit": unit,
        "result": detail.get("result_validity") or summary.get("Result is", "INVALID"),
        "checks": {c: summary.get(c) for c in CHECKS if c in summary},
        "early_stopping": summary.get("early_stopping"),
        "query_count": detail.get("result_query_count"),
    }
    for name, pct in PERCENTILES.items():
        ns = detail.get(f"result_{pct}_percentile_latency_ns")
        row[name] = None if ns is None else round(float(ns) / 1e6, 4)
    row["loadgen_errors"] = detail.get("errors", [])
    if scenario == "Server":
        bound, qps = detail.get("effective_target_latency_ns"), detail.get("effective_target_qps")
        row["latency_bound_ms"] = None if bound is None else float(bound) / 1e6
        row["target_qps"] = None if qps is None else float(qps)
        row["completed_qps"] = detail.get("result_completed_samples_per_sec")
        row["overlatency_queries"] = detail.get("result_overlatency_query_count")
    return row


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None
