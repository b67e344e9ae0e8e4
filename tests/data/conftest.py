"""Fixtures for the data path: a tiny ONNX classifier with zoobench metadata, small real-photo JPEG folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from datahelp import make_tiny_onnx, write_jpegs


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_onnx(tmp_path_factory.mktemp("tiny") / "tiny.onnx")


@pytest.fixture
def jpeg_folder(tmp_path: Path) -> Path:
    pytest.importorskip("skimage")
    d = tmp_path / "val"
    write_jpegs(d, 40)
    return d
