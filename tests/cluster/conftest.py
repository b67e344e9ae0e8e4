"""Fixtures for the Ray path: a tiny ONNX classifier, a real-photo JPEG folder with a broken file and labels."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
from datahelp import make_tiny_onnx, write_jpegs

# Looked up, not imported: every pytest-xdist worker collects this folder, one runs its Ray tests (ray.data and
# pandas cost ~1.2 s to import)
RAY_MISSING = importlib.util.find_spec("ray") is None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if RAY_MISSING:
        skip = pytest.mark.skip(reason="the Ray path needs `pip install 'zoobench[ray]'` (in the dev extras)")
        for item in items:
            if Path(str(item.path)).is_relative_to(Path(__file__).parent):
                item.add_marker(skip)


N_IMAGES = 75


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_onnx(tmp_path_factory.mktemp("tiny") / "tiny.onnx")


@pytest.fixture(scope="session")
def val(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """75 JPEGs + one broken file, and a labels file for all of them."""
    pytest.importorskip("skimage")
    root = tmp_path_factory.mktemp("rayval")
    d = root / "val"
    write_jpegs(d, N_IMAGES)
    (d / "ILSVRC2012_val_00000040.JPEG").write_bytes(b"\xff\xd8\xff\xe0 truncated")  # replaces a good one
    labels = root / "val_label.txt"
    labels.write_text("".join(f"{p.name} {i % 10}\n" for i, p in enumerate(sorted(d.iterdir()))))
    return d, labels
