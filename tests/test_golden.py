"""Byte-identical outputs across refactors: the files people and the seeds' scripts read.

Fixed inputs (four JPEGs and a labels file under ``tests/golden/``, and a tiny ONNX model whose logits are
element-wise functions of the input pixels, so every CPU computes the same bits) go through the CLI:
``prep --format bin`` (the seeds' float32 ``.bin`` + ``.info``), ``infer`` (predictions.csv) and ``eval``
(result.json). The outputs must equal the files recorded in ``tests/golden/expected/``. A change that
alters one of them on purpose regenerates them with ``ZOOBENCH_REGEN_GOLDEN=1 pytest tests/test_golden.py``
and says why in its commit.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from zoobench.cli import cli

GOLDEN = Path(__file__).parent / "golden"
EXPECTED = GOLDEN / "expected"
REGEN = os.environ.get("ZOOBENCH_REGEN_GOLDEN") == "1"
PREPROCESS = {
    "input_size": [3, 224, 224],
    "resize": 256,
    "resize_mode": "shorter",
    "interpolation": "bilinear",
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
}


def _tiny_onnx(path: Path) -> Path:
    """logits[c] = pixel[c] * w[c] + b[c] over the first 1000 input values: exact in any float unit."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = rng.uniform(0.5, 2.0, 1000).astype(np.float32)
    b = rng.standard_normal(1000).astype(np.float32)
    inits = [
        numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "shape"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "starts"),
        numpy_helper.from_array(np.array([1000], dtype=np.int64), "ends"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
        numpy_helper.from_array(w, "w"),
        numpy_helper.from_array(b, "b"),
    ]
    nodes = [
        helper.make_node("Reshape", ["image", "shape"], ["flat"]),
        helper.make_node("Slice", ["flat", "starts", "ends", "axes"], ["first"]),
        helper.make_node("Mul", ["first", "w"], ["scaled"]),
        helper.make_node("Add", ["scaled", "b"], ["class"]),
    ]
    graph = helper.make_graph(
        nodes,
        "golden",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 224, 224])],
        [helper.make_tensor_value_info("class", TensorProto.FLOAT, ["batch", 1000])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in {"model": "golden", "preprocess": PREPROCESS}.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = f"zoobench.{key}", json.dumps(value)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return path


def _invoke(*args: str) -> None:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, res.output


def _check(name: str, data: bytes) -> None:
    target = EXPECTED / name
    if REGEN:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    assert target.is_file(), f"{target} missing: regenerate with ZOOBENCH_REGEN_GOLDEN=1"
    assert data == target.read_bytes(), f"{name} differs from {target}"


@pytest.fixture(scope="module")
def golden_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("onnx")
    return _tiny_onnx(tmp_path_factory.mktemp("golden") / "golden.onnx")


def test_seed_bin_and_info_are_byte_identical(golden_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "bins"
    _invoke("prep", "--data", str(GOLDEN / "images"), "--model", str(golden_model), "--format", "bin", "-o", str(out))
    bins = sorted(out.glob("*.bin"))
    assert [p.stem for p in bins] == ["astronaut", "chelsea", "coffee", "rocket"]
    digests = "".join(f"{p.name} {hashlib.sha256(p.read_bytes()).hexdigest()}\n" for p in bins)
    _check("bin_sha256.txt", digests.encode())
    infos = sorted(out.glob("*.info"))
    assert len(infos) == 1, [p.name for p in out.iterdir()]
    # The .info lists absolute paths, as the seeds' script writes them: compare with the folder replaced.
    _check("prep.info", infos[0].read_bytes().replace(str(out).encode(), b"OUT"))


def test_predictions_and_result_json_are_byte_identical(golden_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "infer"
    labels = str(GOLDEN / "labels.txt")
    _invoke("infer", str(golden_model), "--data", str(GOLDEN / "images"), "--labels", labels, "-o", str(out), "-j", "0")
    _check("predictions.csv", (out / "predictions.csv").read_bytes())
    _check("result.json", (out / "result.json").read_bytes())
    again = tmp_path / "eval"
    _invoke("eval", str(out), "--labels", labels, "-o", str(again / "result.json"))
    assert (again / "result.json").read_bytes() == (out / "result.json").read_bytes()
