"""Read report.html's tables with an HTML parser (no browser) and compare their numbers with the run's JSON.

The JSON is read here directly (``model.json``, ``perf/*.json``, ``infer/accuracy.json``), not through the report's
own code, so a number the report computes or formats wrongly is caught. :func:`chromium_dom` gives the page as
headless chromium built it (``--dump-dom``), so the same check runs on what a browser shows.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
THROUGHPUT = "Performance (throughput, images/s)"
LATENCY = "Latency per batch"
LATENCY_KEYS = ("mean_ms", "median_ms", "p90_ms", "p99_ms", "max_ms")  # the table's columns 3..7


@dataclass
class PageTable:
    model: str  # the <h2> above it (the model's name)
    title: str  # the <h3> above it
    rows: list[list[str]] = field(default_factory=list)  # cell texts, the header row first

    def row(self, *first: str) -> list[str]:
        """The row whose leading cells are ``first``."""
        for r in self.rows:
            if tuple(r[: len(first)]) == first:
                return r
        raise KeyError(f"no row {' '.join(first)!r}")

    def column(self, header: str) -> int:
        return self.rows[0].index(header)


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[PageTable] = []
        self.images: list[dict[str, str]] = []
        self._h2 = self._h3 = ""
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h2", "h3", "td", "th"):
            self._text = []
        if tag == "table":
            self.tables.append(PageTable(self._h2, self._h3))
        elif tag == "tr" and self.tables:
            self.tables[-1].rows.append([])
        elif tag == "img":
            self.images.append({k: v or "" for k, v in attrs})

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._text is None or tag not in ("h2", "h3", "td", "th"):
            return
        text, self._text = "".join(self._text).strip(), None
        if tag == "h2":
            self._h2, self._h3 = text, ""
        elif tag == "h3":
            self._h3 = text
        else:
            self.tables[-1].rows[-1].append(text)


def parse(page: str) -> _Tables:
    p = _Tables()
    p.feed(page)
    return p


def _number(cell: str) -> float:
    m = re.match(r"[+-]?\d[\d,]*(\.\d+)?", cell)
    if m is None:
        raise ValueError(f"not a number: {cell!r}")
    return float(m.group(0).replace(",", ""))


@dataclass
class Check:
    checked: int = 0
    wrong: list[str] = field(default_factory=list)

    def expect(self, where: str, cell: Any, value: float, digits: int) -> None:
        """``cell`` (a table cell, or a callable giving one) shows ``value`` rounded to ``digits``."""
        self.checked += 1
        try:
            text = cell() if callable(cell) else cell
            shown = _number(text)
        except (KeyError, ValueError, IndexError) as exc:
            self.wrong.append(f"{where}: {exc}")
            return
        if abs(shown - value) > 0.5 * 10**-digits + 1e-9:
            self.wrong.append(f"{where}: the page says {text!r}, the JSON says {value}")


def _cell(table: PageTable | None, first: tuple[str, ...], col: int | str) -> str:
    """The cell in the row starting with ``first``, at column ``col`` (an index or a header)."""
    if table is None:
        raise KeyError("no such table")
    return table.row(*first)[col if isinstance(col, int) else table.column(col)]


def _perf_numbers(check: Check, model: str, tables: dict[str, PageTable], perf: dict[str, Any]) -> None:
    rt = perf["runtime"]
    label = f"{rt['runtime']} {rt['precision']}"
    thr, lat = tables.get(THROUGHPUT), tables.get(LATENCY)
    for r in perf["results"]:
        if "error" in r:
            continue
        b, where = f"bs{r['batch_size']}", f"{model} {label} bs{r['batch_size']}"
        check.expect(f"{where} img/s", partial(_cell, thr, (b,), f"{label} img/s"), r["throughput_img_s"], 1)
        check.expect(f"{where} iters", partial(_cell, lat, (label, b), 2), r["latency"]["count"], 0)
        for i, key in enumerate(LATENCY_KEYS, 3):
            check.expect(f"{where} {key}", partial(_cell, lat, (label, b), i), r["latency"][key], 2)


def number_mismatches(page: str, rundir: Path) -> Check:
    """Every throughput, latency and Top-k figure the run's JSON holds, looked up in the page's tables."""
    tables = parse(page).tables
    check = Check()
    for card in sorted(rundir.glob("*/model.json")):
        mdir, model = card.parent, json.loads(card.read_text())["model"]
        mine = {t.title: t for t in tables if t.model == model}
        for f in sorted((mdir / "perf").glob("*.json")):
            _perf_numbers(check, model, mine, json.loads(f.read_text()))
        acc_file = mdir / "infer" / "accuracy.json"
        if acc_file.is_file():
            acc = json.loads(acc_file.read_text())
            for k in range(1, 6):
                check.expect(
                    f"{model} Top-{k}", partial(_cell, mine.get("Accuracy"), (f"Top-{k}",), 1), acc[f"top{k}"], 2
                )
    return check


# What the browser made of each image, written into the DOM once the page has loaded.
_PROBE = """<script>
window.addEventListener("load", () => {
  for (const img of document.images) {
    const c = document.createElement("canvas");
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext("2d"); g.drawImage(img, 0, 0);
    const seen = new Set();
    try {
      const px = c.width && c.height ? g.getImageData(0, 0, c.width, c.height).data : [];
      for (let i = 0; i < px.length; i += 4 * 97) seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
    } catch (e) { seen.clear(); }  // an unreadable canvas counts as blank
    img.setAttribute("data-rendered", `${img.complete} ${img.naturalWidth}x${img.naturalHeight} ${seen.size}`);
  }
});
</script>"""


def chromium_dom(page: Path, tmp: Path) -> str:
    """The DOM headless chromium built from ``page``; each <img> carries ``data-rendered="true WxH COLOURS"``
    (decoded, its size, how many distinct colours a sample of its pixels has)."""
    probed = tmp / "probed.html"
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    cmd = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp / 'profile'}", "--virtual-time-budget=10000", "--dump-dom", probed.resolve().as_uri(),
    ]  # fmt: skip
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0 and "<table" in out.stdout, out.stderr[-2000:]
    return out.stdout


def rendered_images(dom: str) -> list[tuple[bool, int, int, int]]:
    """(decoded, width, height, colours) of each image, as the probe wrote them into the DOM."""
    out = []
    for img in parse(dom).images:
        done, size, colours = img.get("data-rendered", "false 0x0 0").split()
        w, h = size.split("x")
        out.append((done == "true", int(w), int(h), int(colours)))
    return out
