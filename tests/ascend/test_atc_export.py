"""`zoobench ascend MODEL` prints an export line at the guides' opset (11) for atc, and that line works: the file
imports opset 11 (what its metadata says) and agrees with PyTorch. mnasnet1_0 runs in the default suite; the four
full-size models are marked slow."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from zoobench.artifact import read_metadata  # noqa: E402
from zoobench.ascend import command_lines  # noqa: E402
from zoobench.cli import cli  # noqa: E402

SLOW = pytest.mark.slow
MODELS = [
    "mnasnet1_0",
    pytest.param("wide_resnet50_2", marks=SLOW),
    pytest.param("xception", marks=SLOW),
    pytest.param("dino_resnet50", marks=SLOW),
    pytest.param("resnest50", marks=SLOW),
]


@pytest.mark.parametrize("model", MODELS)
def test_the_printed_export_line_writes_opset_11(model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    line = command_lines(model)["export"]
    assert "--opset 11" in line, line
    res = CliRunner().invoke(cli, ["ascend", model])
    assert res.exit_code == 0 and line in res.output.splitlines()
    monkeypatch.chdir(tmp_path)
    args = shlex.split(line)
    assert args[:2] == ["zoobench", "export"]
    res = CliRunner().invoke(cli, [*args[1:], "--weights", "random", "--json"])  # random: no weights here
    assert res.exit_code == 0, res.output
    onnx_file = tmp_path / args[args.index("-o") + 1]
    proto = onnx.load(str(onnx_file), load_external_data=False)
    assert {o.domain: o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")} == {"": 11}
    meta = read_metadata(onnx_file)
    assert meta["opset"] == 11 and meta["parity"]["passed"], meta["parity"]
