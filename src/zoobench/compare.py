"""``zoobench compare``: the seeds' cross-hardware table from runs made on different machines or versions.

Each argument is a run directory of ``zoobench run`` (``<model>/perf/<runtime>-<precision>.json``) or a
directory holding the ``perf.json`` of ``zoobench perf -o``. For every model and runtime×precision column
found in the first run and at least one other, one table: rows are batch sizes plus the best batch, columns
are each run's throughput and the ratio of the first run to each other (A/B, A/C, ...); a column that was
scored adds a ``top-1 %`` row (with the images it was scored on).
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

from zoobench.errors import DataError
from zoobench.perf.results import read_perf
from zoobench.perf.table import split_columns
from zoobench.report.compare_notes import column_precision, precision_note, runtime_packages, setting_warnings
from zoobench.report.seeds import quote_text, seed_run
from zoobench.report.tables import (
    Table,
    best_of,
    best_text,
    cells_by_batch,
    column_label,
    load_model_run,
    throughput_by_batch,
)


def load_perf_columns(path: str | Path) -> dict[str, dict[str, dict[str, Any]]]:
    """model -> column (``runtime-precision``) -> perf.json of a run directory (or a perf.json folder)."""
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{path}: not a directory (expected a `zoobench run` directory or a perf output)")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    sweep = read_perf(root / "perf.json")  # None when there is none
    if sweep is not None:
        out[sweep.model or root.name] = split_columns(sweep.to_dict())  # every runtime×precision column
    for d in sorted(x for x in root.iterdir() if x.is_dir() and (x / "perf").is_dir()):
        run = load_model_run(d)
        if run.perf:
            from zoobench.report.accuracy import column_top1

            for col, perf in run.perf.items():  # top-1 beside img/s where the column was scored
                perf["top1_text"] = column_top1(d, col)
            out[run.name] = run.perf
    if not out:
        raise DataError(f"{path}: no perf results found (no */perf/*.json, no perf.json)")
    return out


def load_run(arg: str | Path, per_card: int = 1, model: str | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """A run for ``compare``: ``seeds:DEVICE`` (a guide's quoted column), a run / perf directory, or a folder
    of the seeds' tools' perf logs (``per_card`` multiplies benchmark's per-device figure: 4 for a 310 card;
    ``model`` names the model of a log folder, else it is found in its names or logs)."""
    text = str(arg)
    if text.startswith("seeds:"):
        return seed_run(text[len("seeds:") :])
    root = Path(text)
    if not root.is_dir():
        raise DataError(
            f"{arg}: not a directory (expected a run directory, a perf output, a log folder or seeds:DEVICE)"
        )
    try:
        return load_perf_columns(root)
    except DataError:
        from zoobench.perf.logs import load_log_folder
        from zoobench.scenarios.published import is_mlperf_folder

        if is_mlperf_folder(root) or (root / "loadgen.json").is_file():
            return {}  # scenario rows only (see report.scenarios)

        return load_log_folder(root, per_card, model)


def _quoted(run: dict[str, dict[str, dict[str, Any]]]) -> bool:
    """A pseudo-run of quoted figures or imported logs (no machine settings to compare)."""
    return all(p.get("quoted") or p.get("imported") for cols in run.values() for p in cols.values())


def _column(
    run: dict[str, dict[str, dict[str, Any]]], model: str, col: str, tuned: bool | None = None
) -> dict[str, Any] | None:
    """The run's perf for ``model`` / ``col``; a quoted or imported run has one column, which stands for any.
    When the first run has tuned columns (``tuned`` not None: whether ``col`` is one), the guides' AOE column
    stands for the tuned ones and their other columns for the untuned ones, as the guides pair them."""
    cols = run.get(model) or run.get("*") or {}
    if col in cols:
        return cols[col]
    single = next(iter(cols.values()), None) if len(cols) == 1 else None
    if single is None or not (single.get("quoted") or single.get("imported")):
        return None
    aoe = str((single.get("quoted") or {}).get("device", "")).endswith("AOE")
    return single if tuned is None or not single.get("quoted") or aoe == tuned else None


def _describe(path: str | Path, runs: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    env: dict[str, Any] = {}
    threads: set[int] = set()
    for cols in runs.values():
        for p in cols.values():
            env = p.get("environment") or env
            t = (p.get("runtime") or {}).get("threads")
            if t is not None:
                threads.add(int(t))
    quoted = next((p["quoted"] for cols in runs.values() for p in cols.values() if p.get("quoted")), None)
    return {
        "path": str(path),
        "name": quoted["device"] if quoted else None,  # seeds:DEVICE runs are named after their hardware
        "cpu": env.get("cpu"),
        "cores": env.get("cpu_affinity"),
        "threads": sorted(threads),
        "cpu_features": env.get("cpu_features", []),
        "versions": env.get("versions", {}),
    }


def _cells(perf: dict[str, Any]) -> dict[int, str]:
    """Throughput cells; a quoted figure as the guide printed it."""
    if perf.get("quoted"):
        return {int(r["batch_size"]): r.get("quote") or quote_text(r["throughput_img_s"]) for r in perf["results"]}
    return cells_by_batch(perf)


def _best_cell(perf: dict[str, Any]) -> str:
    best = best_of(perf)
    if perf.get("quoted") and best:
        return f"{quote_text(best[1])} (bs{best[0]})"
    return best_text(perf)


def expand_nodes(path: str | Path) -> list[str | Path]:
    """A ``perf --ray`` output directory -> its nodes' perf directories, in its order; else ``[path]``."""
    index = Path(str(path)) / "nodes.json"
    if str(path).startswith("seeds:") or not index.is_file():
        return [path]
    nodes = json.loads(index.read_text(encoding="utf-8")).get("nodes", {})
    found = [Path(str(path)) / "nodes" / label for label, n in nodes.items() if n.get("perf")]
    if not found:
        raise DataError(f"{path}: no node of this perf --ray run has results (see its nodes.json)")
    return list(found)


def compare_runs(paths: list[str | Path], per_card: int = 1, model: str | None = None) -> dict[str, Any]:
    """The comparison as data: runs (labelled A, B, ...) and one table per model × column.

    A ``perf --ray`` output (its ``nodes.json``) stands for one run per node that has results.
    """
    paths = [q for p in paths for q in expand_nodes(p)]
    if len(paths) < 2:
        raise DataError("compare needs at least two run directories")
    if len(paths) > len(string.ascii_uppercase):
        raise DataError("compare takes at most 26 run directories")
    loaded = [load_run(p, per_card, model) for p in paths]
    labels = list(string.ascii_uppercase[: len(paths)])
    runs = [{"label": lab, **_describe(p, r)} for lab, p, r in zip(labels, paths, loaded)]
    tables = []
    for model, cols in loaded[0].items():
        has_tuned = any(p.get("tuned") for p in cols.values())
        for col, perf_a in cols.items():
            others = [_column(r, model, col, bool(perf_a.get("tuned")) if has_tuned else None) for r in loaded]
            present = [i for i, p in enumerate(others) if p is not None]
            if len(present) < 2:
                continue
            tps = [throughput_by_batch(p) if p else {} for p in others]
            cells = [_cells(p) if p else {} for p in others]
            batches = sorted({b for i in present for b in tps[i]})
            rows = _batch_rows(batches, tps, cells)
            bests = [best_of(p) if p else None for p in others]
            best_vals = [b[1] if b else None for b in bests]
            precisions = [column_precision(p) if p else None for p in others]
            tables.append(
                {
                    "model": model,
                    "column": col,
                    "label": column_label(perf_a, col),
                    "precision": precisions,
                    "precision_note": precision_note(labels, precisions),
                    "rows": rows,
                    "best": {
                        "batch_size": [b[0] if b else None for b in bests],
                        "throughput": best_vals,
                        "cells": [_best_cell(p) if p else None for p in others],
                        "ratio": _ratios(best_vals),
                    },
                    "top1": [p.get("top1_text") if p else None for p in others],
                }
            )
    measured = [r for r, run in zip(runs, loaded) if not _quoted(run)]
    warnings = setting_warnings(measured) if len(measured) > 1 else []
    models_shown = {str(t["model"]) for t in tables}
    from zoobench.report.scenarios import scenario_rows

    scenarios = [(lab, scenario_rows(p)) for lab, p in zip(labels, paths)]
    return {
        "runs": runs,
        "tables": tables,
        "warnings": warnings,
        "sources": _sources(runs, loaded, models_shown),
        "scenarios": scenarios,
    }


def _batch_rows(batches: list[int], tps: list[dict[int, float]], cells: list[dict[int, str]]) -> list[dict[str, Any]]:
    """One row per batch size: each run's throughput and cell text, and the ratios of the first run to the others."""
    rows = []
    for b in batches:
        vals = [t.get(b) for t in tps]
        rows.append({"batch_size": b, "throughput": vals, "cells": [c.get(b) for c in cells], "ratio": _ratios(vals)})
    return rows


def _sources(runs: list[dict[str, Any]], loaded: list[Any], models: set[str]) -> list[dict[str, Any]]:
    """Where each quoted column and each imported log figure of the shown tables came from."""
    out = []
    for r, run in zip(runs, loaded):
        for model, cols in run.items():
            if model not in models and model != "*":
                continue
            for p in cols.values():
                if p.get("quoted"):
                    q = p["quoted"]
                    out.append(
                        {
                            "run": r["label"],
                            "model": model,
                            "batch_size": None,
                            "source": q["source"],
                            "note": q["note"],
                        }
                    )
                elif p.get("imported"):
                    out += _log_sources(r["label"], p)
    return out


def _log_sources(label: str, p: dict[str, Any]) -> list[dict[str, Any]]:
    """A log folder's figures, each at its file:line (those of a batch an earlier file gave, marked so), then one
    row per file of the folder not read, with why."""
    out = []
    for res in [*p["results"], *p.get("also", [])]:
        src = res["source"]
        first = res in p["results"]
        gave = f"an earlier file gave bs{res['batch_size']}; this one reads {res['throughput_img_s']:.1f} img/s"
        text = f"{src['text']} ({src['note']})" if src.get("note") else src["text"]
        note = text if first else f"not in the table ({gave}): {text}"
        out.append(
            {
                "run": label,
                "model": p["model"],
                "batch_size": res["batch_size"],
                "source": f"{Path(src['file']).name}:{src['line']}",
                "note": note,
            }
        )
    for s in p.get("skipped", []):
        out.append(
            {
                "run": label,
                "model": p["model"],
                "batch_size": None,
                "source": s["file"],
                "note": f"not read: {s['why']}",
            }
        )
    return out


def _ratios(vals: list[float | None]) -> list[float | None]:
    """First run over each other run: A/B, A/C, ..."""
    a = vals[0]
    return [None if a is None or v is None or v == 0 else a / v for v in vals[1:]]


def comparison_tables(cmp: dict[str, Any]) -> list[Table]:
    """Renderer-neutral tables: one legend of the runs, then one table per model × column, then where the
    quoted and imported figures came from."""
    legend = Table(
        ["run", "directory", "cpu", "cores", "threads", "zoobench", "runtime versions"],
        [
            [
                r["label"],
                r["path"],
                str(r.get("cpu") or "-"),
                str(r.get("cores") or "-"),
                ", ".join(map(str, r.get("threads") or [])) or "-",
                str(r["versions"].get("zoobench", "-")),
                ", ".join(f"{k} {v}" for k, v in r["versions"].items() if k in runtime_packages()),
            ]
            for r in cmp["runs"]
        ],
        title="Runs",
    )
    out = [legend]
    fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
    if cmp.get("warnings"):
        out.append(Table(["the runs differ in"], [[w] for w in cmp["warnings"]], title="Warning: not like for like"))
    # Ratios of quoted columns only: the guides' own precision (5 decimals), to check them against the guides.
    digits = 5 if all(r.get("name") for r in cmp["runs"]) else 2
    rfmt = lambda v: "-" if v is None else f"{v:.{digits}f}" if v >= 0.1 or digits > 2 else f"{v:.2g}"  # noqa: E731
    for t in cmp["tables"]:
        headers = ["batch", *_value_headers(cmp["runs"]), *_ratio_headers(cmp["runs"])]
        rows = [
            [f"bs{r['batch_size']}", *[c or fmt(v) for c, v in zip(r["cells"], r["throughput"])]]
            + [rfmt(v) for v in r["ratio"]]
            for r in t["rows"]
        ]
        b = t["best"]
        rows.append(["best", *[c or "-" for c in b["cells"]], *[rfmt(v) for v in b["ratio"]]])
        if any(t.get("top1") or []):
            rows.append(["top-1 %", *[c or "-" for c in t["top1"]], *["-"] * len(b["ratio"])])
        out.append(Table(headers, rows, title=f"{t['model']} · {t['label']}", note=t.get("precision_note", "")))
    if not cmp["tables"]:
        out.append(Table([""], [["no model × runtime column is common to the first run and another"]]))
    from zoobench.report.scenarios import scenario_tables

    out += scenario_tables([(lab, rows) for lab, rows in cmp.get("scenarios") or []])
    if cmp.get("sources"):
        rows = [
            [
                s["run"],
                s["model"],
                "-" if s["batch_size"] is None else f"bs{s['batch_size']}",
                s["source"],
                s["note"] or "-",
            ]
            for s in cmp["sources"]
        ]
        out.append(Table(["run", "model", "batch", "from", "note / line"], rows, title="Quoted and imported figures"))
    return out


def _value_headers(runs: list[dict[str, Any]]) -> list[str]:
    """``A img/s``; ``B 310P (quoted)`` for a guide's column."""
    return [f"{r['label']} {r['name']} (quoted)" if r.get("name") else f"{r['label']} img/s" for r in runs]


def _ratio_headers(runs: list[dict[str, Any]]) -> list[str]:
    """``A/B``; a guide's column by its hardware, as the guides head theirs (``A/310P``, ``310P/T4``)."""
    name = lambda r: r.get("name") or r["label"]  # noqa: E731
    return [f"{name(runs[0])}/{name(r)}" for r in runs[1:]]


def write_comparison(cmp: dict[str, Any], outdir: str | Path) -> dict[str, str]:
    """``compare.md``, ``compare.html`` and ``compare.json`` in ``outdir``."""
    from zoobench.io import write_json, write_text
    from zoobench.report.html import render_html
    from zoobench.report.markdown import render_md

    out = Path(outdir)
    blocks: list[tuple[Any, ...]] = [("h", 1, "zoobench comparison")]
    blocks += [("table", t) for t in comparison_tables(cmp)]
    blocks.append(
        ("p", "Throughput in images/s (pure inference, random input); ratios are the first run over each other.")
    )
    md = render_md(blocks, out)
    write_text(out / "compare.md", md)
    write_text(out / "compare.html", render_html(blocks, "zoobench comparison"))
    write_json(out / "compare.json", cmp)
    return {"markdown": str(out / "compare.md"), "html": str(out / "compare.html"), "json": str(out / "compare.json")}


def comparison_markdown(cmp: dict[str, Any]) -> str:
    from zoobench.report.markdown import table_md

    return "\n".join(table_md(t) for t in comparison_tables(cmp))
