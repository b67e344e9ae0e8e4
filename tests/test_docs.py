"""The docs: the CLI reference is generated from the registered commands, the run layout is written once, and
every page is in the site's navigation. The site build needs the docs extra (``make docs``; ``.ci/run`` runs
this file after it); without it the build test skips."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoobench.cli import cli

ROOT = Path(__file__).resolve().parents[1]
LAYOUT = ROOT / "src" / "zoobench" / "assets" / "run_layout.txt"


def test_run_help_prints_the_layout_the_docs_include() -> None:
    out = CliRunner().invoke(cli, ["run", "--help"], terminal_width=200).output
    layout = LAYOUT.read_text(encoding="utf-8").splitlines()
    assert layout[0] == "RUNDIR/" and len(layout) > 10
    for line in layout:
        assert line.rstrip() in out, f"run --help lacks the layout line {line!r}"
    assert '--8<-- "src/zoobench/assets/run_layout.txt"' in (ROOT / "docs" / "run-layout.md").read_text()


def test_every_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert re.search(rf":\s+{re.escape(page.name)}\s*$", config, re.M), f"{page.name} is not in mkdocs.yml's nav"


def _plain(text: str) -> str:
    """Text as the page shows it, whether or not Markdown rendered its backticks: no backticks, single spaces."""
    return " ".join(text.replace("`", "").split())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for name in ("mkdocs", "mkdocs_click", "material"):
        pytest.importorskip(name, reason="the docs extra builds the site: pip install '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_cli_reference_has_every_command_and_its_help(site: Path) -> None:
    page = (site / "cli" / "index.html").read_text(encoding="utf-8")
    text = _plain(html.unescape(re.sub(r"<[^>]+>", "", page)))
    assert cli.commands, "no command registered"
    for name, command in cli.commands.items():
        assert f'id="zoobench-{name}"' in page, f"the CLI reference has no section for `zoobench {name}`"
        first = (command.help or "").strip().splitlines()[0]
        assert first and _plain(first) in text, f"`zoobench {name}`'s help is not in the CLI reference"
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and not getattr(param, "hidden", False):
                    assert opt in text, f"`zoobench {name} {opt}` is not in the CLI reference"


def test_run_layout_page_shows_the_layout(site: Path) -> None:
    page = html.unescape((site / "run-layout" / "index.html").read_text(encoding="utf-8"))
    assert "infer/<runtime>-<precision>/" in page and "calibration.json" in page
