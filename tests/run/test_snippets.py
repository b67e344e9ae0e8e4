"""The loading snippet's preprocessing is zoobench's, pixel for pixel, in every geometry and both input types;
every runtime's snippet is valid Python that imports no zoobench."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from zoobench.data.transforms import preprocess_image, to_chw_uint8
from zoobench.models.spec import Preprocess
from zoobench.run.snippets import LOADER, preprocess_code, snippet

GEOMETRIES = [
    Preprocess(resize=256, interpolation="bicubic"),
    Preprocess(resize=232, interpolation="bilinear", mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 0.75)),
    Preprocess(input_size=(3, 299, 299), resize=342, resize_mode="squash", interpolation="bilinear"),
    Preprocess(input_size=(3, 224, 200), resize=256, interpolation="nearest"),
]


def _functions(pp: Preprocess, dtype: str) -> dict[str, Any]:
    ns: dict[str, Any] = {"np": np, "Image": Image}
    exec(preprocess_code(pp, dtype), ns)  # the snippet's own crop() and batch(), as it writes them
    return ns


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    rng = np.random.default_rng(0)
    out = []
    for i, (w, h) in enumerate([(640, 480), (333, 517), (256, 256), (1001, 299)]):
        p = tmp_path_factory.mktemp("img") / f"{i}.jpg"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(p, quality=90)
        out.append(p)
    return out


@pytest.mark.parametrize("pp", GEOMETRIES, ids=["bicubic", "bilinear", "squash", "nearest-rect"])
def test_snippet_preprocessing_is_zoobenchs(pp: Preprocess, images: list[Path]) -> None:
    u8, f32 = _functions(pp, "uint8"), _functions(pp, "float32")
    for p in images:
        x = u8["batch"](str(p))
        assert x.dtype == np.uint8 and x.shape == (1, *pp.input_size)
        assert np.array_equal(x[0], to_chw_uint8(p, pp))
        y = f32["batch"](str(p))
        assert y.dtype == np.float32 and np.array_equal(y[0], preprocess_image(p, pp))


@pytest.mark.parametrize("runtime", sorted(LOADER))
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_every_runtimes_snippet_is_python_without_zoobench(runtime: str, dtype: str) -> None:
    code = snippet(runtime, "int8", "m.engine", dtype, GEOMETRIES[2], "t")
    tree = ast.parse(code)
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in imported if m.split(".")[0] == "zoobench"}
    assert {
        "numpy",
        "PIL",
        {"onnxruntime": "onnxruntime", "openvino": "openvino"}.get(LOADER[runtime], "tensorrt"),
    } <= imported
    assert 'ENGINE = "m.engine"' in code and ("trtexec --loadEngine=m.engine" in code) == (runtime == "tensorrt")
