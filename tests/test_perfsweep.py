"""perf: batch × runtime × precision sweep, unavailable combinations, the single-runtime JSON layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def resnet_onnx(tmp_path_factory: pytest.TempPathFactory) -> str:
    pytest.importorskip("torch")
    from zoobench.engine import resolve_engine

    work = tmp_path_factory.getbasetemp() / "resnet18-random"
    return resolve_engine("torchvision:resnet18", weights="random", workdir=work, exporter="torchscript").path


FAST = {"seconds": 0.01, "min_iters": 2, "warmup": 1, "quiet": True}


def test_single_runtime_layout_kept(resnet_onnx: str, tmp_path: Path) -> None:
    from zoobench.workflow import do_perf  # the re-export other callers use

    res = do_perf(resnet_onnx, batch_sizes=[1, 2], outdir=str(tmp_path), runtime="onnxruntime", **FAST)
    assert [r["batch_size"] for r in res["results"]] == [1, 2]
    assert res["results"][0]["latency"]["count"] >= 2 and res["environment"]["cpu"]
    assert res["runtime"]["runtime"] == "onnxruntime" and res["best_batch_size"] in (1, 2)
    assert [c["name"] for c in res["columns"]] == ["onnxruntime fp32"]
    saved = json.loads((tmp_path / "perf.json").read_text())
    assert saved["table"]["columns"] == ["onnxruntime fp32"] and saved["table"]["ratio_vs_reference"] == {}


def test_sweep_with_unavailable_combinations(resnet_onnx: str, tmp_path: Path, photos: tuple[Path, Path]) -> None:
    pytest.importorskip("openvino")
    from zoobench.perfsweep import do_perf

    res = do_perf(
        resnet_onnx,
        batch_sizes=[1, 2],
        outdir=str(tmp_path),
        runtimes=["onnxruntime", "openvino", "torch"],
        precisions=["fp32", "fp16", "int8"],
        calibration=str(photos[0]),
        **FAST,
    )
    cols = {c["name"]: c for c in res["columns"]}
    assert len(cols) == 9
    for name in ("onnxruntime fp32", "onnxruntime int8", "openvino fp32", "openvino int8", "torch fp32"):
        assert cols[name]["available"], cols[name].get("reason")
        assert [r["batch_size"] for r in cols[name]["results"]] == [1, 2]
        assert {"min_ms", "max_ms", "mean_ms", "median_ms", "p90_ms", "p99_ms"} <= set(
            cols[name]["results"][0]["latency"]
        )
    for name in ("onnxruntime fp16", "torch int8"):
        assert not cols[name]["available"] and cols[name]["reason"]
    assert cols["openvino fp32"]["results"][0]["mode"] == "async"
    assert cols["openvino fp32"]["info"]["inference_precision_hint"] == "f32"
    assert cols["onnxruntime int8"]["agreement"]["count"] > 0
    assert cols["openvino int8"]["calibration"]["kind"] == "images"
    tab = res["table"]
    assert tab["ratio_reference"] == "onnxruntime fp32" and tab["batch_sizes"] == [1, 2]
    assert tab["ratio_vs_reference"]["openvino int8"][0] > 0
    assert tab["ratio_vs_reference"]["torch int8"] == [None, None]
    assert tab["best"]["openvino fp32"]["batch_size"] in (1, 2)
    # int8 engines are compiled once into the output dir and reused
    assert (tmp_path / "torchvision_resnet18.onnxruntime.int8.onnx").is_file()


def test_nothing_can_run_is_an_error(resnet_onnx: str) -> None:
    from zoobench.errors import ZoobenchError
    from zoobench.perfsweep import do_perf

    with pytest.raises(ZoobenchError, match="no runtime"):
        do_perf(resnet_onnx, batch_sizes=[1], runtimes=["torch"], precisions=["int8"], **FAST)


def test_cli_perf_sweep(resnet_onnx: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from zoobench.cli import cli

    args = [
        "perf",
        resnet_onnx,
        "--batch-sizes",
        "1",
        "--runtimes",
        "onnxruntime,tensorrt",
        "--precisions",
        "fp32",
        "--seconds",
        "0.01",
        "--min-iters",
        "2",
        "-o",
        str(tmp_path),
    ]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "tensorrt fp32: unavailable" in res.output and "ort fp32" in res.output
    bad = CliRunner().invoke(cli, ["perf", resnet_onnx, "--runtimes", "nope"])
    assert bad.exit_code == 2 and "unknown nope" in bad.output
