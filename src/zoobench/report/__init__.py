"""Reports a person wants to read, made from the JSON files of a run directory alone.

``write_model_report(RUNDIR/<model>)`` writes ``report.md``, ``report.html`` and ``plots/*.png`` for one
model; ``write_run_report(RUNDIR)`` writes the run's ``report.md`` / ``report.html`` covering every model.
The HTML is self-contained (inline CSS, PNGs embedded as base64): it opens offline, mailed as one file.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zoobench.io import write_text
from zoobench.report.accuracy import (
    accuracy_speed_plot,
    accuracy_speed_table,
    engines_table,
    has_columns,
    load_columns,
    recommendation,
)
from zoobench.report.html import render_html
from zoobench.report.markdown import render_md
from zoobench.report.plots import make_plots
from zoobench.report.seeds import seed_columns
from zoobench.report.tables import (
    ModelRun,
    Table,
    accuracy_table,
    best_of,
    card_table,
    column_label,
    environment_rows,
    gate_text,
    latency_table,
    load_model_run,
    perf_table,
    stages_table,
    unavailable_columns,
)

__all__ = ["model_dirs", "write_model_report", "write_run_report"]

Block = tuple[Any, ...]
PLOTS = ("throughput.png", "latency.png")
ACCURACY_PLOT = "accuracy_speed.png"


def model_dirs(rundir: Path) -> list[Path]:
    """The model directories of a run: those holding ``model.json`` or ``stages.json``."""
    return sorted(
        p
        for p in Path(rundir).iterdir()
        if p.is_dir() and ((p / "model.json").is_file() or (p / "stages.json").is_file())
    )


# Why a model has no accuracy, by its status as `zoobench run` prints it (the same word in both places).
_NOT_MEASURED = {
    "perf-only": "no --data was given (performance only)",
    "no-labels": "no --labels were given, and the images are not in class folders",
}


def _gate(run: ModelRun) -> str:
    if run.status == "error":
        return "error"
    if run.accuracy is None:
        if run.random_weights:
            return "not measured (random weights)"
        return run.status if run.status in _NOT_MEASURED else "not measured"
    return gate_text(run.accuracy, run.random_weights)


def _not_measured(run: ModelRun) -> str:
    """The yellow box of a model without accuracy: why, with the status word the CLI printed."""
    if run.random_weights:
        return "Accuracy was not measured: the model was built with random weights (--weights random)."
    why = _NOT_MEASURED.get(run.status)
    if why:
        return f"Accuracy was not measured ({run.status}): {why}."
    note = str(((run.stages.get("stages") or {}).get("eval") or {}).get("note") or "")
    return "Accuracy was not measured in this run" + (f": {note}." if note else ".")


def model_blocks(run: ModelRun, plots: list[Path], *, level: int = 2) -> list[Block]:
    """The blocks of one model's section."""
    blocks: list[Block] = [("h", level, run.name)]
    if run.status == "error":
        blocks.append(("warn", f"This model failed: {run.stages.get('error', 'unknown error')}"))
    blocks.append(("table", card_table(run)))
    acc = accuracy_table(run)
    if acc is not None:
        blocks.append(("table", acc))
    else:
        blocks.append(("warn", _not_measured(run)))
    blocks += accuracy_blocks(run)
    missing = unavailable_columns(run)
    if run.perf:
        blocks.append(("table", perf_table(run.perf, seed_columns(run.name), run.name)))
        blocks += [("img", p, p.stem) for p in plots]
        blocks.append(("table", latency_table(run.perf)))
    else:
        blocks.append(("warn", "No performance result in this run."))
    for col, why in missing:
        blocks.append(("warn", f"{col}: not measured — {why}"))
    from zoobench.report.scenarios import scenario_rows, scenario_tables

    blocks += [("table", t) for t in scenario_tables([(run.name, scenario_rows(run.path))])]
    if run.stages.get("stages"):
        blocks.append(("table", stages_table(run)))
    env = environment_rows(run)
    if env:
        blocks.append(("kv", "Environment", env))
    return blocks + snippet_blocks(run.path, level + 1)


def accuracy_blocks(run: ModelRun) -> list[Block]:
    """Every scored column beside its speed (report/accuracy.py); nothing when only the reference was scored."""
    cols = load_columns(run.path, run.perf)
    stages = run.stages.get("stages") or {}
    out: list[Block] = []
    for name, st in stages.items():  # a column not scored says why (once, when perf said it already)
        perf = stages.get("perf:" + name[6:], {})
        said = perf.get("status") == st.get("status") == "unavailable"  # its perf line says why already
        if name.startswith("score:") and st.get("status") != "done" and not said:
            out.append(("warn", f"{name[6:]}: not scored — {st.get('note', st.get('status'))}"))
    if not has_columns(cols):  # only the reference: what shipped is fp32 itself, when anything did
        return out + shipped_blocks(run.path)
    out = [("table", engines_table(cols)), ("table", accuracy_speed_table(cols)), *out]
    out.append(("p", recommendation(cols)))
    out += shipped_blocks(run.path)
    plot = run.path / "plots" / ACCURACY_PLOT
    if plot.is_file():
        out.append(("img", plot, plot.stem))
    return out


def shipped_blocks(mdir: Path) -> list[Block]:
    """The engine ``run`` shipped (``ship/card.json``): its file, digest, size, input, and how to load it."""
    try:
        card = json.loads((mdir / "ship" / "card.json").read_text(encoding="utf-8"))
        eng, snip = card["engine"], card["snippet"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    shape = "×".join(str(d) for d in eng.get("input_shape") or [])
    kind = "crop, normalized inside the engine" if eng["input"] == "uint8" else "normalized with the model's mean/std"
    fp32 = " (fp32 itself)" if (card.get("recommendation") or {}).get("kind") == "fp32" else ""
    line = (
        f"Shipped{fp32}: ship/{eng['name']} — {eng['runtime']} {eng['precision']}, sha256 {eng['sha256']}, "
        f"{eng['bytes']:,} bytes, input {eng['input']} {shape} ({kind}); ship/card.json describes it and "
        f"ship/{snip['file']} loads it with {snip['loads_with']} (PIL + numpy, no zoobench; at the end of this "
        "section)."
    )
    return [("p", line)]


def snippet_blocks(mdir: Path, level: int) -> list[Block]:
    """The shipped engine's loading snippet, at the end of the model's section (``ship/predict.py``)."""
    try:
        card = json.loads((mdir / "ship" / "card.json").read_text(encoding="utf-8"))
        file, code = card["snippet"]["file"], card["snippet"]["code"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [("h", level, f"Loading the shipped engine (ship/{file})"), ("code", code, "python")]


def _plots_for(run: ModelRun) -> list[Path]:
    plots = make_plots(run.perf, run.path / "plots", run.name, seed_columns(run.name))
    stale = run.path / "plots" / ACCURACY_PLOT
    stale.unlink(missing_ok=True)
    accuracy_speed_plot(load_columns(run.path, run.perf), stale, f"{run.name}: accuracy and speed per engine")
    return plots


def write_model_report(model_dir: str | Path) -> dict[str, str]:
    """Regenerate ``report.md``, ``report.html`` and the plots of one model directory from its JSON."""
    run = load_model_run(Path(model_dir))
    plots = _plots_for(run)
    blocks: list[Block] = [("p", _stamp())]
    blocks = [("h", 1, f"zoobench report — {run.name}"), *blocks, *model_blocks(run, plots)]
    md, page = run.path / "report.md", run.path / "report.html"
    write_text(md, render_md(blocks, run.path))
    write_text(page, render_html(blocks, f"zoobench — {run.name}"))
    return {"markdown": str(md), "html": str(page), "plots": ",".join(str(p) for p in plots)}


def _stamp() -> str:
    from zoobench import __version__

    return f"Generated by zoobench {__version__} on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC."


def summary_table(runs: list[ModelRun]) -> Table:
    rows = []
    for r in runs:
        acc = r.accuracy
        best = None
        for c, p in r.perf.items():
            b = best_of(p)
            if b and (best is None or b[1] > best[1]):
                best = (b[0], b[1], column_label(p, c))
        rows.append(
            [
                r.name,
                "random" if r.random_weights else str((r.card.get("weights") or {}).get("provenance", "trained")),
                "-" if acc is None or acc.top1 is None or r.random_weights else f"{acc.top1:.2f}",
                "-" if acc is None or not acc.reference.get("top1") else f"{acc.reference['top1']:.3f}",
                _gate(r),
                "-" if best is None else f"{best[1]:.1f} (bs{best[0]}, {best[2]})",
            ]
        )
    return Table(["model", "weights", "Top-1 %", "reference %", "gate", "best throughput img/s"], rows, title="Summary")


def write_run_report(rundir: str | Path, *, model_reports: bool = True) -> dict[str, str]:
    """Regenerate the run's ``report.md`` / ``report.html`` (and, by default, every model's) from JSON."""
    root = Path(rundir)
    runs = [load_model_run(d) for d in model_dirs(root)]
    if model_reports:
        for r in runs:
            write_model_report(r.path)
    meta: dict[str, Any] = {}
    if (root / "run.json").is_file():
        meta = json.loads((root / "run.json").read_text(encoding="utf-8"))
    blocks: list[Block] = [("h", 1, f"zoobench run report — {root.name}"), ("p", _stamp())]
    if meta.get("command"):
        blocks.append(("p", f"Command: {meta['command']}"))
    blocks.append(("table", summary_table(runs)))
    for r in runs:
        plots = [p for p in (r.path / "plots" / n for n in PLOTS) if p.is_file()] if r.perf else []
        blocks += model_blocks(r, plots)
    md, page = root / "report.md", root / "report.html"
    write_text(md, render_md(blocks, root))
    write_text(page, render_html(blocks, f"zoobench run — {root.name}"))
    return {"markdown": str(md), "html": str(page)}
