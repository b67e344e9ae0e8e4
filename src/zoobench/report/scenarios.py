"""The Scenarios table of the report and of ``compare``: one row per column (runtime-precision of a zoobench run,
or an MLPerf system × model), cells SingleStream p90 ms, MultiStream p99 ms, Server QPS at p99 within its bound,
Offline samples/s and top-1, each marked VALID/INVALID and with its test length; the Server's batch histogram;
and, for MLPerf logs, where each figure was read (file:line).

A scenario figure has no batch size: it is a row of its own, never a cell of the per-batch tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoobench.report.tables import Table

ORDER = ("SingleStream", "MultiStream", "Server", "Offline")
HEADERS = ["SingleStream p90 ms", "MultiStream p99 ms", "Server QPS (p99 ≤ bound)", "Offline samples/s", "top-1 %"]
LOADGEN_JSON = "loadgen.json"


def loadgen_docs(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """``(model, loadgen.json)`` of a ``zoobench loadgen -o`` folder or of each model of a ``run`` directory
    (``<model>/loadgen/loadgen.json``)."""
    root = Path(path)
    found = [root / LOADGEN_JSON] if (root / LOADGEN_JSON).is_file() else []
    for pattern in (f"loadgen/*/{LOADGEN_JSON}", f"*/loadgen/*/{LOADGEN_JSON}"):  # a run's model dir, a run dir
        found = found or sorted(root.glob(pattern))
    out = []
    for f in found:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        in_run = f.parent.parent.name == "loadgen"  # <model>/loadgen/<column>/loadgen.json: the model's dir name
        out.append((f.parents[2].name if in_run else str(doc.get("model") or root.name), doc))
    return out


def scenario_rows(path: str | Path) -> list[dict[str, Any]]:
    """Every scenario row found under ``path``: MLPerf run folders (published results) or loadgen.json rows."""
    from zoobench.scenarios.published import is_mlperf_folder, read_folder

    if str(path).startswith("seeds:"):
        return []
    if is_mlperf_folder(path):
        return [dict(r) for r in read_folder(path)]
    rows = []
    for model, doc in loadgen_docs(path):
        rows += [{**r, "model": model, "source": "zoobench"} for r in doc.get("rows") or [] if r.get("scenario")]
    return rows


def _length(r: dict[str, Any]) -> str:
    if r.get("source") == "mlperf":
        ms = (r.get("settings") or {}).get("min_duration (ms)")
        return f"min {float(ms) / 1000:g} s" if ms not in (None, "") else "published"
    return str(r.get("length") or "-")


def _cell(r: dict[str, Any]) -> str:
    value = r.get("value")
    if value is None:
        return f"- {r.get('result', '')}".strip()
    text = f"{value:.2f}" if r.get("unit") == "ms" else f"{value:.1f}"
    if r.get("scenario") == "Server" and r.get("latency_bound_ms"):
        text += f" (≤ {r['latency_bound_ms']:g} ms)"
    return f"{text} {r.get('result', '?')} [{_length(r)}]"


def _column(r: dict[str, Any]) -> str:
    if r.get("source") == "mlperf":
        return f"{r['system']} · {r['model']} (MLPerf)"
    return f"{r.get('model', '')} · {r.get('column', '')}"


def scenarios_table(rows_by_run: list[tuple[str, list[dict[str, Any]]]]) -> Table | None:
    """One row per run × column; None when no run has a scenario row."""
    table: dict[tuple[str, str], dict[str, str]] = {}
    for label, rows in rows_by_run:
        for r in rows:
            cells = table.setdefault((label, _column(r)), {})
            if r.get("mode") == "accuracy" and r.get("top1") is not None:
                cells.setdefault("top-1 %", f"{r['top1']:.2f} ({r.get('scenario')})")
            elif r.get("mode", "performance") == "performance" and r.get("scenario") in ORDER:
                cells[HEADERS[ORDER.index(r["scenario"])]] = _cell(r)
    if not table:
        return None
    out = [[label, col, *[cells.get(h, "-") for h in HEADERS]] for (label, col), cells in table.items()]
    notes = {r["note"] for _, rows in rows_by_run for r in rows if r.get("note")}
    note = "Cells: figure, LoadGen's verdict, [test length]. " + " ".join(sorted(notes))
    return Table(["run", "column", *HEADERS], out, title="Scenarios (MLPerf LoadGen)", note=note.strip())


def histogram_table(rows_by_run: list[tuple[str, list[dict[str, Any]]]]) -> Table | None:
    """The Server's batch-size histogram per column (how many batches of each size the SUT ran)."""
    out = []
    for label, rows in rows_by_run:
        for r in rows:
            server = (r.get("sut") or {}).get("server") or {}
            if r.get("scenario") == "Server" and r.get("mode") == "performance" and server:
                hist = ", ".join(f"{k}: {v}" for k, v in (server.get("batch_histogram") or {}).items()) or "-"
                out.append([label, _column(r), str(server.get("policy")), hist, str(server.get("shed_samples", 0))])
    if not out:
        return None
    return Table(["run", "column", "policy", "batch size: batches", "shed"], out, title="Server batch histogram")


def sources_table(rows_by_run: list[tuple[str, list[dict[str, Any]]]]) -> Table | None:
    """Where each MLPerf figure was read (file:line)."""
    out = []
    for label, rows in rows_by_run:
        for r in rows:
            for what, where in (r.get("sources") or {}).items():
                if where:
                    out.append([label, _column(r), r.get("scenario", "?"), what, where])
    if not out:
        return None
    return Table(["run", "column", "scenario", "figure", "from"], out, title="MLPerf figures read from")


def scenario_tables(rows_by_run: list[tuple[str, list[dict[str, Any]]]]) -> list[Table]:
    made = (scenarios_table(rows_by_run), histogram_table(rows_by_run), sources_table(rows_by_run))
    return [t for t in made if t is not None]
