"""compile: ORT-optimized / QDQ-int8 ONNX, OpenVINO IR (fp32, NNCF int8), metadata, agreement."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zoobench.errors import RuntimeUnavailableError


def test_ort_fp32_keeps_metadata(cnn_onnx: str, tmp_path: Path) -> None:
    from zoobench.compile import compile_engine
    from zoobench.runtimes import load_session

    eng = compile_engine(cnn_onnx, runtime="onnxruntime", precision="fp32", output=str(tmp_path / "o.onnx"))
    assert eng.runtime == "onnxruntime" and eng.precision == "fp32"
    assert eng.model == "torchvision:squeezenet1_1" and eng.preprocess.input_size == (3, 224, 224)
    assert eng.random_weights and "agreement" not in eng.metadata
    x = np.zeros((1, 3, 224, 224), np.float32)
    np.testing.assert_allclose(load_session(eng.path).run(x), load_session(cnn_onnx).run(x), rtol=1e-4, atol=1e-4)


def test_ort_int8_calibrated_on_photos(cnn_onnx: str, tmp_path: Path, photos: tuple[Path, Path]) -> None:
    from zoobench.artifact import read_metadata
    from zoobench.compile import compile_engine

    out = tmp_path / "q.onnx"
    eng = compile_engine(cnn_onnx, runtime="onnxruntime", precision="int8", calibration=str(photos[0]), output=str(out))
    meta = read_metadata(out)
    assert meta["precision"] == "int8" and meta["calibration"]["kind"] == "images"
    agr = meta["agreement"]
    assert agr["count"] == meta["calibration"]["count"] > 0
    # the stored figures are those of the int8 engine vs fp32 on the calibration photos, recomputed here
    from zoobench.evaluate.metrics import agreement
    from zoobench.quantize import load_images, run_all
    from zoobench.runtimes import load_session

    pixels, _ = load_images(photos[0], eng.preprocess, raw=True)
    ref = run_all(load_session(cnn_onnx), pixels, pp=eng.preprocess)
    got = run_all(load_session(str(out)), pixels, pp=eng.preprocess)
    again = agreement(ref, got)
    assert again["top1_agreement_pct"] == agr["top1_agreement_pct"]
    assert again["max_abs_logit_diff"] == pytest.approx(agr["max_abs_logit_diff"], rel=1e-6)
    assert agr["max_abs_logit_diff"] > 0  # int8 really changed the arithmetic
    assert json.loads((tmp_path / "q.agreement.json").read_text()) == agr
    import onnx

    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    assert eng.path == str(out)


def test_int8_without_calibration_says_random(cnn_onnx: str, tmp_path: Path) -> None:
    from zoobench.compile import compile_engine

    said: list[str] = []
    eng = compile_engine(
        cnn_onnx, runtime="onnxruntime", precision="int8", output=str(tmp_path / "r.onnx"), log=said.append
    )
    assert eng.metadata["calibration"]["kind"] == "random" and "UNKNOWN" in eng.metadata["calibration"]["warning"]
    assert any("RANDOM" in s for s in said)
    assert eng.metadata["agreement"]["count"] == 0


def test_ort_fp16_on_cpu_unavailable(cnn_onnx: str, tmp_path: Path) -> None:
    from zoobench.compile import compile_engine

    with pytest.raises(RuntimeUnavailableError):
        compile_engine(cnn_onnx, runtime="onnxruntime", precision="fp16", output=str(tmp_path / "h.onnx"))


def test_openvino_int8_ir_with_sidecar_and_rt_info(cnn_onnx: str, tmp_path: Path, photos: tuple[Path, Path]) -> None:
    ov = pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    from zoobench.artifact import is_model_file, load_engine, sidecar_path
    from zoobench.compile import compile_engine
    from zoobench.engines import resolve_engine
    from zoobench.runtimes import load_session

    out = tmp_path / "m.xml"
    eng = compile_engine(cnn_onnx, runtime="openvino", precision="int8", calibration=str(photos[0]), output=str(out))
    assert out.is_file() and out.with_suffix(".bin").is_file() and sidecar_path(out).is_file()
    assert is_model_file(str(out)) and resolve_engine(str(out)).precision == "int8"
    again = load_engine(str(out))
    assert again.runtime == "openvino" and again.model == "torchvision:squeezenet1_1"
    assert again.metadata["agreement"]["count"] > 0
    rt = ov.Core().read_model(str(out)).get_rt_info(["zoobench", "precision"]).astype(str)
    assert json.loads(rt) == "int8"
    # the default runtime given an IR runs it on OpenVINO, at its recorded precision
    sess = load_session(eng.path)
    assert sess.info().runtime == "openvino" and sess.info().precision == "int8"
    assert sess.run(np.zeros((2, 3, 224, 224), np.float32)).shape == (2, 1000)


def test_openvino_fixed_batch(cnn_onnx: str, tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    from zoobench.compile import compile_engine
    from zoobench.runtimes import load_session

    eng = compile_engine(cnn_onnx, runtime="openvino", precision="fp32", batch_size=2, output=str(tmp_path / "b2.xml"))
    sess = load_session(eng.path)
    assert sess.input_shape[0] == 2 and eng.metadata["batch_size"] == 2


def test_cli_compile(cnn_onnx: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from zoobench.cli import cli

    out = tmp_path / "c.onnx"
    res = CliRunner().invoke(cli, ["compile", cnn_onnx, "--runtime", "onnxruntime", "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output[res.output.index("{") :])["precision"] == "fp32"
    res = CliRunner().invoke(cli, ["compile", str(out), "--runtime", "openvino"])
    assert res.exit_code == 1 and "already compiled" in res.output
