"""report.html as a person sees it: self-contained, every table number the run's JSON (read with an HTML parser),
plots that decode; and the same through headless chromium's DOM."""

from __future__ import annotations

import base64
import io
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from pagecheck import CHROMIUM, chromium_dom, number_mismatches, rendered_images


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[int] = []  # rows per table
        self.images: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.tables.append(0)
        elif tag == "tr" and self.tables:
            self.tables[-1] += 1
        elif tag == "img":
            self.images.append(a.get("src") or "")
        elif tag in ("link", "script") and (a.get("href") or a.get("src")):
            self.external.append(str(a.get("href") or a.get("src")))


def _not_blank(png: bytes) -> float:
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32)
    return float(img.std())


def test_html_is_self_contained_with_tables_and_plots(small_run: Path) -> None:
    page = _Page()
    page.feed((small_run / "report.html").read_text(encoding="utf-8"))
    assert not page.external  # opens offline
    assert len(page.tables) >= 10 and all(n >= 2 for n in page.tables)
    assert len(page.images) == 4  # throughput + latency for each of the two models
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert _not_blank(base64.b64decode(src.split(",", 1)[1])) > 5


def test_every_number_in_the_tables_is_the_runs_json(small_run: Path) -> None:
    check = number_mismatches((small_run / "report.html").read_text(encoding="utf-8"), small_run)
    assert check.wrong == []
    # per timed cell (two models x fp32 x bs1, bs2 at least) its img/s and 6 latency figures; Lite0's Top-1..5
    assert check.checked >= 4 * 7 + 5


def _tamper(page: str, model: str, title: str, nth_number: int) -> tuple[str, str]:
    """``page`` with the ``nth_number``-th number cell of ``model``'s ``title`` table changed by one unit."""
    at = page.index(f"<h3>{title}</h3>", page.index(f"<h2>{model}</h2>"))
    for _ in range(nth_number + 1):
        at = page.index('<td class="num">', at) + len('<td class="num">')
    end = page.index("</td>", at)
    old = page[at:end].split()[0]
    wrong = f"{float(old) + 1:.{len(old.split('.')[1]) if '.' in old else 0}f}"
    return page[:at] + wrong + page[at + len(old) :], old


@pytest.mark.parametrize(
    ("model", "title", "nth"),
    [("efficientnet_lite0", "Performance (throughput, images/s)", 0), ("mnasnet1_0", "Latency per batch", 3),
     ("efficientnet_lite0", "Accuracy", 0)],
)  # fmt: skip
def test_the_number_check_fails_on_a_page_with_a_wrong_number(
    small_run: Path, model: str, title: str, nth: int
) -> None:
    page, old = _tamper((small_run / "report.html").read_text(encoding="utf-8"), model, title, nth)
    check = number_mismatches(page, small_run)
    assert len(check.wrong) == 1 and model in check.wrong[0] and repr(old) not in check.wrong[0], check.wrong


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_chromium_renders_the_tables_numbers_and_the_plots(small_run: Path, tmp_path: Path) -> None:
    """The page as headless chromium built it (its DOM): the same numbers, and every plot decoded and not blank."""
    dom = chromium_dom(small_run / "report.html", tmp_path)
    check = number_mismatches(dom, small_run)
    assert check.wrong == [] and check.checked >= 4 * 7 + 5
    images = rendered_images(dom)
    assert len(images) == 4  # throughput + latency for each of the two models
    for decoded, width, height, colours in images:
        assert decoded and width >= 300 and height >= 200 and colours >= 3  # axes, lines, background at least
