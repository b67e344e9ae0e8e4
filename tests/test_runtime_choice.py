"""``runtime=None`` (the API's and the CLI's default) is the runtime a compiled engine was made for, else
onnxruntime; naming another runtime for a compiled file is a usage error (exit 2) that names the one it needs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "data"))
from datahelp import make_tiny_onnx, write_jpegs

from zoobench.errors import UsageError
from zoobench.runtimes import load_session, resolve_runtime


@pytest.fixture(scope="module")
def tiny_ir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("openvino")
    from zoobench.compile import compile_engine

    work = tmp_path_factory.mktemp("choice")
    onnx = make_tiny_onnx(work / "tiny.onnx")
    return Path(compile_engine(str(onnx), runtime="openvino", output=str(work / "tiny.xml")).path)


def test_no_runtime_is_the_files_else_onnxruntime() -> None:
    assert resolve_runtime("m.xml", None) == "openvino"
    assert resolve_runtime("m.plan", None) == "tensorrt"
    assert resolve_runtime("m.onnx", None) == "onnxruntime"
    assert resolve_runtime("resnet50", None) == "onnxruntime"  # a model name: exported to ONNX
    assert resolve_runtime("m.onnx", "openvino") == "openvino"  # ONNX runs anywhere
    assert resolve_runtime("m.xml", "openvino") == "openvino"


@pytest.mark.parametrize(("path", "asked", "needed"), [("m.xml", "onnxruntime", "openvino"),
                                                       ("m.plan", "onnxruntime", "tensorrt"),
                                                       ("m.xml", "torch", "openvino")])  # fmt: skip
def test_another_runtime_for_a_compiled_file_is_a_usage_error(path: str, asked: str, needed: str) -> None:
    with pytest.raises(UsageError, match=f"compiled for {needed}: run it with --runtime {needed}"):
        resolve_runtime(path, asked)


def test_load_session_runs_an_ir_on_openvino_unless_told_otherwise(tiny_ir: Path) -> None:
    session = load_session(str(tiny_ir))
    assert session.info().runtime == "openvino"
    session.release()
    with pytest.raises(UsageError, match="compiled for openvino"):
        load_session(str(tiny_ir), "onnxruntime")  # asked explicitly: not quietly OpenVINO


def test_cli_infer_an_ir_with_runtime_onnxruntime_exits_2_naming_openvino(tiny_ir: Path, tmp_path: Path) -> None:
    from zoobench.cli import cli

    data = tmp_path / "val"
    write_jpegs(data, 3)
    out = tmp_path / "out"
    args = ["infer", str(tiny_ir), "--data", str(data), "-o", str(out), "--workers", "0"]
    res = CliRunner().invoke(cli, [*args, "--runtime", "onnxruntime"])
    assert res.exit_code == 2, res.output
    assert "compiled for openvino: run it with --runtime openvino" in res.output and not out.exists()
    res = CliRunner().invoke(cli, args)  # no --runtime: the file's
    assert res.exit_code == 0, res.output
    assert json.loads((out / "summary.json").read_text())["runtime"]["runtime"] == "openvino"
