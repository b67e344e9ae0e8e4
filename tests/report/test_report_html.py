"""report.html as a person sees it: self-contained, tables with rows, plots that decode, a non-blank screenshot."""

from __future__ import annotations

import base64
import io
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")


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


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_screenshot_in_headless_chromium_is_not_blank(small_run: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    cmd = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000",
        (small_run / "report.html").resolve().as_uri(),
    ]  # fmt: skip
    subprocess.run(cmd, check=False, capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert img.shape[:2] == (2000, 1280)
    assert _not_blank(shot.read_bytes()) > 10
    # the plots' colours are on the page: matplotlib's default blue line (#1f77b4) is rendered somewhere
    blue = (abs(img[..., 0] - 0x1F) < 40) & (abs(img[..., 1] - 0x77) < 40) & (abs(img[..., 2] - 0xB4) < 40)
    assert blue.sum() > 50
