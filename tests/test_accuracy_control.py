"""Accuracy-aware int8 (``compile --accuracy-control``): a strict --max-drop keeps operations in float, meets
the drop on held-out images, and the engine's record lists them."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "data"))
from datahelp import make_tiny_onnx, write_jpegs

from zoobench.cli import cli

pytestmark = pytest.mark.skipif(importlib.util.find_spec("nncf") is None, reason="needs nncf (the openvino extra)")


def _fragile_onnx(path: Path) -> Path:
    """Conv → ReLU → GAP → MatMul where one channel is 1000× the others but carries no class signal: int8's
    per-tensor activation range is set by it, the informative channels round to zero, and top-1 collapses."""

    def fragile(w: np.ndarray, fc: np.ndarray) -> None:
        w[0] *= 1000
        fc[0] = 0

    return make_tiny_onnx(path, name="fragile", tweak=fragile)


def test_strict_max_drop_keeps_operations_in_float(tmp_path: Path) -> None:
    pytest.importorskip("skimage")
    model = _fragile_onnx(tmp_path / "fragile.onnx")
    write_jpegs(tmp_path / "val", 16)
    out = tmp_path / "fragile.int8.onnx"
    args = ["compile", str(model), "-r", "onnxruntime", "-p", "int8", "--accuracy-control", "--max-drop", "0.5"]
    res = CliRunner().invoke(cli, [*args, "--data", str(tmp_path / "val"), "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    meta = json.loads(res.output[res.output.index("{") :])
    rec = meta["accuracy_control"]
    assert rec["kept_float"], "some operations must stay in float"
    assert rec["plain"]["held_out_drop_points"] > 0.5  # plain NNCF int8 misses the drop on the held-out half...
    assert rec["aware"]["held_out_drop_points"] <= 0.5 and rec["meets_max_drop"]  # ...the accuracy-aware one meets it
    assert rec["images"]["held_out"] == 8 and rec["metric"] == "top-1 agreement with fp32"
    assert rec["speed_vs_plain"] > 0
    assert meta["quantization"]["tool"] == "nncf.quantize_with_accuracy_control"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-p", "fp32", "--accuracy-control", "--data", "VAL"], "--accuracy-control is for int8 engines"),
        (["-p", "int8", "--accuracy-control"], "--accuracy-control needs --data"),
        (["-p", "int8", "--data", "VAL"], "--data and --labels go with --accuracy-control"),
        (["-p", "int8", "--accuracy-control", "--max-drop", "x", "--data", "VAL"], "--max-drop must be"),
    ],
)
def test_bad_accuracy_control_is_one_line(tmp_path: Path, extra: list[str], message: str) -> None:
    model = _fragile_onnx(tmp_path / "fragile.onnx")
    (tmp_path / "val").mkdir()
    extra = [str(tmp_path / "val") if a == "VAL" else a for a in extra]
    res = CliRunner().invoke(cli, ["compile", str(model), "-r", "openvino", *extra, "-o", str(tmp_path / "o.xml")])
    assert res.exit_code != 0
    assert message in res.output and "Traceback" not in res.output
