"""`export --opset N`: the file has the opset its metadata claims. The dynamo exporter writes 18 and often cannot
convert down; zoobench then uses the TorchScript exporter and says so in one line (never a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from zoobench.artifact import read_metadata  # noqa: E402
from zoobench.cli import cli  # noqa: E402
from zoobench.errors import ExportError  # noqa: E402


def test_opset_11_is_what_the_file_imports_and_the_fallback_says_so(tmp_path: Path) -> None:
    out = tmp_path / "m11.onnx"  # a small real CNN: the fallback is the same for every model, dynamo's try is not
    res = CliRunner().invoke(
        cli, ["export", "torchvision:squeezenet1_1", "-w", "random", "--opset", "11", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output and "Failed to convert" not in res.output
    said = " ".join(res.output.split())  # the console wraps long lines at its width
    assert said.count("note:") == 1 and "note: the dynamo exporter cannot write opset 11 for" in said
    assert "torchvision:squeezenet1_1 (it wrote 18): used the TorchScript exporter" in said
    assert "opset 11 (torchscript)" in res.output and "PASS" in res.output
    from zoobench.export import onnx_opset

    assert onnx_opset(onnx.load(str(out), load_external_data=False)) == 11
    meta = read_metadata(out)
    assert (meta["opset"], meta["exporter"]) == (11, "torchscript") and meta["parity"]["passed"]


def test_a_file_whose_opset_differs_from_its_claim_is_refused() -> None:
    from onnx import helper

    from zoobench.export import _check_opset

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [], [])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    _check_opset(model, 18, "dynamo")
    with pytest.raises(ExportError, match="wrote opset 18, not the 11 asked for"):
        _check_opset(model, 11, "dynamo")
