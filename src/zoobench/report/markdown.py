"""Render report tables as GitHub-flavoured markdown."""

from __future__ import annotations

import os
from pathlib import Path

from zoobench.report.tables import Table


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def table_md(t: Table, *, level: int = 3) -> str:
    """A titled markdown table with its note underneath."""
    out = []
    if t.title:
        out.append(f"{'#' * level} {t.title}\n")
    if t.headers and any(t.headers):
        out.append("| " + " | ".join(_cell(h) for h in t.headers) + " |")
    else:  # a key/value table: markdown needs a header row, keep it blank
        out.append("| " + " | ".join(" " for _ in t.headers) + " |")
    aligns = ["---"] + ["---:" if t.rows and _numeric(t, i) else "---" for i in range(1, len(t.headers))]
    out.append("| " + " | ".join(aligns) + " |")
    for row in t.rows:
        out.append("| " + " | ".join(_cell(c) for c in row) + " |")
    if t.note:
        out.append(f"\n{t.note}")
    return "\n".join(out) + "\n"


def _numeric(t: Table, col: int) -> bool:
    vals = [r[col] for r in t.rows if col < len(r) and r[col] not in ("", "-")]
    return bool(vals) and all(v[:1].isdigit() or v[:1] in "+-" for v in vals)


def kv_md(rows: list[tuple[str, str]], title: str, *, level: int = 3) -> str:
    """A key/value block (the environment)."""
    lines = [f"{'#' * level} {title}\n", "```"]
    width = max((len(k) for k, _ in rows), default=0)
    lines += [f"{k.ljust(width)}  {v}" for k, v in rows]
    lines.append("```")
    return "\n".join(lines) + "\n"


def render_md(blocks: list[tuple], base: Path) -> str:
    """Render report blocks (see :mod:`zoobench.report`) to markdown; images are linked relative to ``base``."""
    out: list[str] = []
    for b in blocks:
        kind = b[0]
        if kind == "h":
            out.append(f"{'#' * b[1]} {b[2]}\n")
        elif kind == "p":
            out.append(f"{b[1]}\n")
        elif kind == "warn":
            out.append(f"> **{b[1]}**\n")
        elif kind == "table":
            out.append(table_md(b[1]))
        elif kind == "img":
            rel = os.path.relpath(b[1], base)
            out.append(f"![{b[2]}]({Path(rel).as_posix()})\n")
        elif kind == "kv":
            out.append(kv_md(b[2], b[1]))
        elif kind == "code":
            out.append(f"```{b[2]}\n{b[1].rstrip()}\n```\n")
    return "\n".join(out)
