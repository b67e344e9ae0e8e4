"""Helpers for the data-path tests: a tiny ONNX classifier with zoobench metadata, small real-photo JPEG folders."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from zoobench.models.spec import Preprocess

TINY_PP = Preprocess(input_size=(3, 32, 32), resize=36)


def make_tiny_onnx(
    path: Path,
    pp: Preprocess = TINY_PP,
    *,
    name: str = "tiny",
    tweak: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> Path:
    """Conv(3→8, k3, s2) → ReLU → GlobalAveragePool → MatMul(8×1000): 1000 logits, dynamic batch. ``tweak`` may
    change the conv and fc weights in place before they are written; ``name`` is the recorded model name."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w_arr = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    fc_arr = rng.standard_normal((8, 1000)).astype(np.float32)
    if tweak is not None:
        tweak(w_arr, fc_arr)
    w, fc = numpy_helper.from_array(w_arr, "w"), numpy_helper.from_array(fc_arr, "fc")
    shape = numpy_helper.from_array(np.array([-1, 8], np.int64), "shape")
    nodes = [
        helper.make_node("Conv", ["image", "w"], ["c"], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["g"]),
        helper.make_node("Reshape", ["g", "shape"], ["f"]),
        helper.make_node("MatMul", ["f", "fc"], ["class"]),
    ]
    h, wd = pp.crop_size
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["-1", 3, h, wd])],
        [helper.make_tensor_value_info("class", TensorProto.FLOAT, ["-1", 1000])],
        [w, fc, shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    for k, v in {"preprocess": pp.to_dict(), "model": name, "num_classes": 1000, "weights": {"random": True}}.items():
        model.metadata_props.add(key=f"zoobench.{k}", value=json.dumps(v))
    onnx.save(model, str(path))
    return path


def photo_arrays() -> list[np.ndarray]:
    import skimage.data as sd

    return [sd.astronaut(), sd.chelsea(), sd.coffee(), sd.rocket()]


def write_jpegs(folder: Path, n: int, size: tuple[int, int] = (80, 60), prefix: str = "ILSVRC2012_val_") -> list[Path]:
    """``n`` small JPEGs made from real photos (varied crops and flips), named like ImageNet val."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    photos = photo_arrays()
    out = []
    for i in range(n):
        arr = photos[i % len(photos)]
        h, w = arr.shape[:2]
        top, left = (i * 7) % (h // 4), (i * 13) % (w // 4)
        crop = arr[top : top + h * 3 // 4, left : left + w * 3 // 4]
        if i % 2:
            crop = crop[:, ::-1]
        img = Image.fromarray(np.ascontiguousarray(crop)).resize(size, Image.Resampling.BILINEAR)
        p = folder / f"{prefix}{i + 1:08d}.JPEG"
        img.save(p, quality=90)
        out.append(p)
    return out
