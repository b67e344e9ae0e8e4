"""loadgen.json's rows from one test's folder (LoadGen's logs + the SUT's sut.json), and the table printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from zoobench.predictions import RunSummary
from zoobench.scenarios.mllog import performance_row, read_logs
from zoobench.scenarios.records import SutRecord
from zoobench.scenarios.settings import RULES_MODEL, RULES_NOTE, LoadgenSettings


def _validity(loadgen_result: str, sut: SutRecord) -> tuple[str, str | None]:
    """VALID only when LoadGen says so and the SUT had no error (an error makes the test INVALID, with it)."""
    if sut.get("error_count"):
        first = (sut.get("errors") or ["?"])[0]
        return "INVALID", f"{sut['error_count']} SUT error(s), {sut.get('failed_samples', 0)} samples empty: {first}"
    server = sut.get("server")
    if server and server["shed_samples"]:
        shed, after = server["shed_samples"], server["shed_after_ms"]
        return "INVALID", f"overloaded: {shed} requests shed (completed empty after waiting > {after:g} ms)"
    return ("VALID" if loadgen_result == "VALID" else "INVALID"), None


class _Common(TypedDict):
    loadgen_version: object
    sut: dict[str, Any]
    sut_errors: list[Any]


def _common(detail: dict[str, Any], sut: SutRecord) -> _Common:
    return {
        "loadgen_version": detail.get("loadgen_version"),
        "sut": {
            "sessions": sut.get("sessions"),
            "workers": sut.get("workers"),
            "batch": sut.get("batch"),
            "options": sut.get("options"),
            "runtime": sut.get("runtime"),
            **({"server": sut["server"]} if "server" in sut else {}),
        },
        "sut_errors": sut.get("errors") or [],
    }


def test_row(scenario: str, folder: Path, sut: SutRecord) -> dict[str, Any]:
    """A performance test's row: the metric, VALID/INVALID with each check, p50/p90/p99, the SUT's settings."""
    summary, detail = read_logs(folder)
    row = performance_row(scenario, summary, detail)
    row["result"], row["invalid_reason"] = _validity(str(row["result"]), sut)
    return {**row, **_common(detail, sut)}


def accuracy_row(
    folder: Path, sut: SutRecord, names: list[str], labels: dict[str, int], run: RunSummary
) -> tuple[dict[str, Any], tuple[np.ndarray, np.ndarray]]:
    """An accuracy test's row (top-1 / top-5 as eval scores them; result.json and accuracy.json written beside
    LoadGen's files) and its decoded answers ``(ids, answered)`` for the pairing."""
    from zoobench.scenarios.accuracy import decode_log, predictions, score

    _summary, detail = read_logs(folder)
    ids, answered = decode_log(folder / "mlperf_log_accuracy.json", len(names))
    acc = score(predictions(names, ids, answered, run), labels, folder)
    missing = int((~answered).sum())
    result, why = _validity("VALID", sut)
    if missing and result == "VALID":
        result, why = "INVALID", f"{missing} samples without a response"
    row = {
        "metric": "top-1",
        "value": acc.get("top1"),
        "unit": "%",
        "result": result,
        "invalid_reason": why,
        "top1": acc.get("top1"),
        "top5": acc.get("top5"),
        "count": int(answered.sum()),
        "gate": acc.get("gate"),
        "passed": acc.get("passed"),
    }
    return {**row, **_common(detail, sut)}, (ids, answered)


def notes(s: LoadgenSettings, model: str) -> list[str]:
    """What the length means for these rows: the ResNet-50 rules applied to another model, or not compliant."""
    if s.length != "rules":
        return [f"{s.length} length: rows are not rule compliant (rule_compliant: false)"]
    if RULES_MODEL not in model.lower().replace("-", "").replace("_", ""):
        return [f"{RULES_NOTE} (mlperf.conf has no rules for {Path(model).stem})"]
    return []


def document(rows: list[dict[str, Any]], s: LoadgenSettings, model: str, data: str) -> dict[str, Any]:
    from zoobench.env import environment
    from zoobench.perf.profile import machine_facts

    machine = machine_facts()
    return {
        "model": model,
        "data": data,
        "scenarios": list(s.scenarios),
        "mode": s.mode,
        "length": s.length,
        "batch_size": s.batch_size,
        "max_drop": s.max_drop,
        "rows": [{**r, "machine": machine} for r in rows],
        "notes": notes(s, model),
        "machine": machine,
        "environment": environment(),
    }


def print_rows(console: Any, rows: list[dict[str, Any]]) -> None:
    for r in rows:
        if r.get("result") == "unavailable":
            console.print(f"{r['column']}: unavailable — {r.get('reason')}")
            continue
        value = r.get("value")
        text = "—" if value is None else f"{value:.4g} {r.get('unit', '')}"
        extra = (
            f"  p50 {r['p50_ms']} ms p90 {r['p90_ms']} ms p99 {r['p99_ms']} ms" if r.get("p90_ms") is not None else ""
        )
        delta = r.get("delta_vs_fp32_points")
        if delta:
            extra += f"  Δtop-1 vs fp32 {delta.get('top1')} points"
        why = f"  ({r['invalid_reason']})" if r.get("invalid_reason") else ""
        head = f"{r['column']:<18} {r['scenario']:<12} {r['mode']:<11} {r['metric']:<12} {text:<18}"
        console.print(f"{head} {r['result']}{extra}{why}")
