"""Render report blocks as one self-contained HTML page: inline CSS, images embedded as base64 PNG."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from zoobench.report.tables import Table

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1150px;
       color: #1f2328; padding: 0 1em; line-height: 1.45; }
h1 { border-bottom: 2px solid #d0d7de; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 2em; }
h3 { margin-top: 1.4em; }
table { border-collapse: collapse; margin: .6em 0; font-size: 14px; }
th, td { border: 1px solid #d0d7de; padding: 4px 10px; }
th { background: #f6f8fa; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.pass { background: #dafbe1; color: #116329; font-weight: 600; }
td.fail { background: #ffebe9; color: #a40e26; font-weight: 600; }
td.undecided { background: #fff8c5; color: #7d4e00; }
tr:nth-child(even) td { background-color: #fbfcfd; }
tr.best td { font-weight: 600; border-top: 2px solid #8c959f; }
p.note { color: #57606a; font-size: 13px; margin-top: 0; }
div.warn { background: #fff8c5; border: 1px solid #d4a72c; padding: .6em 1em; border-radius: 6px; }
img { max-width: 100%; border: 1px solid #d0d7de; margin: .4em .4em .4em 0; }
div.plots { display: flex; flex-wrap: wrap; }
div.plots img { width: 540px; }
pre { background: #f6f8fa; padding: .8em; border-radius: 6px; font-size: 13px; white-space: pre-wrap; }
"""


def _e(s: str) -> str:
    return html.escape(str(s), quote=True)


# A number, with its unit, its spread (``412.3 ±7.2% unstable``) or its batch (``447.7 (bs8; tied: bs16)``):
# right-aligned, as every number in the tables.
_NUM = re.compile(r"^[+-]?\d[\d.,]*( ?(%|M|ms))?( ±\d[\d.]*%( unstable|!)?)?( \(bs\d+[^)]*\))?$")


def _cls(cell: str, kv: bool = False) -> str:
    if cell.startswith("PASS"):
        return ' class="pass"'
    if cell.startswith(("FAIL", "error")):
        return ' class="fail"'
    if cell.startswith("inconclusive"):  # too few images: neither green nor red
        return ' class="undecided"'
    if not kv and _NUM.match(cell):
        return ' class="num"'
    return ""


def table_html(t: Table) -> str:
    """One table; a header row only when the headers are not all blank."""
    out = []
    if t.title:
        out.append(f"<h3>{_e(t.title)}</h3>")
    kv = not any(t.headers)
    out.append("<table>")
    if not kv:
        out.append("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in t.headers) + "</tr>")
    for row in t.rows:
        tr = '<tr class="best">' if row and row[0] == "best" else "<tr>"
        out.append(tr + "".join(f"<td{_cls(c, kv)}>{_e(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    if t.note:
        out.append(f'<p class="note">{_e(t.note)}</p>')
    return "\n".join(out)


def img_html(path: Path, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def render_html(blocks: list[tuple], title: str) -> str:
    """A whole page; consecutive images are laid out side by side."""
    body: list[str] = []
    imgs: list[str] = []

    def flush() -> None:
        if imgs:
            body.append('<div class="plots">' + "".join(imgs) + "</div>")
            imgs.clear()

    for b in blocks:
        if b[0] == "img":
            imgs.append(img_html(b[1], b[2]))
            continue
        flush()
        if b[0] == "h":
            body.append(f"<h{b[1]}>{_e(b[2])}</h{b[1]}>")
        elif b[0] == "p":
            body.append(f"<p>{_e(b[1])}</p>")
        elif b[0] == "warn":
            body.append(f'<div class="warn">{_e(b[1])}</div>')
        elif b[0] == "table":
            body.append(table_html(b[1]))
        elif b[0] == "code":
            body.append(f"<pre>{_e(b[1])}</pre>")
        elif b[0] == "kv":
            width = max((len(k) for k, _ in b[2]), default=0)
            text = "\n".join(f"{k.ljust(width)}  {v}" for k, v in b[2])
            body.append(f"<h3>{_e(b[1])}</h3><pre>{_e(text)}</pre>")
    flush()
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
