"""A report for a folder of the seeds' tools' perf logs (benchmark, ais_bench, trtexec): the imported figures
beside the guides' quoted columns, each traced to the file and line it was read from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoobench.io import write_text
from zoobench.report.html import render_html
from zoobench.report.markdown import render_md
from zoobench.report.seeds import seed_columns
from zoobench.report.tables import Table, perf_table


def write_logs_report(folder: str | Path, per_card: int = 1, model: str | None = None) -> dict[str, str]:
    """``report.md`` / ``report.html`` in ``folder`` from its perf logs (see :mod:`zoobench.perf.logs`)."""
    from zoobench.perf.logs import load_log_folder
    from zoobench.report import _stamp

    root = Path(folder)
    ((model, cols),) = load_log_folder(root, per_card, model).items()
    perf = cols["logs"]
    blocks: list[tuple[Any, ...]] = [("h", 1, f"zoobench report — perf logs in {root.name}"), ("p", _stamp())]
    blocks.append(("warn", "Imported from the tools' own logs, not measured by zoobench; see where each came from."))
    blocks.append(("table", perf_table({"logs": perf}, seed_columns(model), model)))
    rows = [
        [
            f"bs{r['batch_size']}",
            f"{r['throughput_img_s']:.1f}",
            r["source"]["tool"],
            f"{Path(r['source']['file']).name}:{r['source']['line']}",
            r["source"]["text"],
        ]
        for r in perf["results"]
    ]
    blocks.append(("table", Table(["batch", "img/s", "tool", "file:line", "line"], rows, title="Sources")))
    blocks.extend(_not_used(perf))
    md, page = root / "report.md", root / "report.html"
    write_text(md, render_md(blocks, root))
    write_text(page, render_html(blocks, f"zoobench — perf logs in {root.name}"))
    return {"markdown": str(md), "html": str(page)}


def _not_used(perf: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The figures of a batch size an earlier file already gave, and the files that were not read, with why."""
    out: list[tuple[Any, ...]] = []
    also = [
        [
            f"bs{r['batch_size']}",
            f"{r['throughput_img_s']:.1f}",
            f"{Path(r['source']['file']).name}:{r['source']['line']}",
        ]
        for r in perf.get("also", [])
    ]
    if also:
        out.append(
            ("table", Table(["batch", "img/s", "file:line"], also, title="Also read (the first file by name is used)"))
        )
    skipped = [[s["file"], s["why"]] for s in perf.get("skipped", [])]
    if skipped:
        out.append(("table", Table(["file", "why it was not read"], skipped, title="Files not read")))
    return out
