"""perf: batch × runtime × precision sweep, unavailable combinations, the single-runtime JSON layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FAST = {"seconds": 0.01, "min_iters": 2, "warmup": 1, "quiet": True}


def test_single_runtime_layout_kept(resnet_onnx: str, tmp_path: Path) -> None:
    from zoobench.perf.sweep import do_perf

    res = do_perf(resnet_onnx, batch_sizes=[1, 2], outdir=str(tmp_path), runtimes=["onnxruntime"], **FAST)
    assert [r["batch_size"] for r in res["results"]] == [1, 2]
    assert res["results"][0]["latency"]["count"] >= 2 and res["environment"]["cpu"]
    assert res["runtime"]["runtime"] == "onnxruntime" and res["best_batch_size"] in (1, 2)
    assert [c["name"] for c in res["columns"]] == ["onnxruntime fp32"]
    saved = json.loads((tmp_path / "perf.json").read_text())
    assert saved["table"]["columns"] == ["onnxruntime fp32"] and saved["table"]["ratio_vs_reference"] == {}


def test_sweep_with_unavailable_combinations(resnet_onnx: str, tmp_path: Path, photos: tuple[Path, Path]) -> None:
    pytest.importorskip("openvino")
    from zoobench.perf.sweep import do_perf

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
    assert "torch int8" not in tab["ratio_vs_reference"]  # unavailable: listed with its reason, no ratio
    assert tab["best"]["openvino fp32"]["batch_size"] in (1, 2)
    # int8 engines are compiled once into the output dir and reused
    assert (tmp_path / "torchvision_resnet18.onnxruntime.int8.onnx").is_file()


def test_nothing_can_run_is_an_error(resnet_onnx: str) -> None:
    from zoobench.errors import ZoobenchError
    from zoobench.perf.sweep import do_perf

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


class _Recorder:
    """A session that records which cell ran, in order (no runtime involved)."""

    input_dtype = "float32"

    def __init__(self, name: str, log: list[tuple[str, int]]) -> None:
        self.name, self.log = name, log

    def run(self, batch):  # type: ignore[no-untyped-def]
        import numpy as np

        self.log.append((self.name, len(batch)))
        return np.zeros((len(batch), 10), np.float32)


def test_rounds_visit_every_cell_round_robin() -> None:
    from zoobench.console import make_console
    from zoobench.perf.sweep import _interleaved_rounds

    log: list[tuple[str, int]] = []
    sessions = {"A": _Recorder("A", log), "B": _Recorder("B", log)}
    timing = {"seconds": 0.0, "min_iters": 1, "warmup": 1, "data": "zero"}
    out = _interleaved_rounds(sessions, [1, 2], (3, 4, 4), 3, timing, make_console(True))
    visits = [cell for i, cell in enumerate(log) if i == 0 or log[i - 1] != cell]  # collapse warm-up + timed runs
    assert visits == [("A", 1), ("A", 2), ("B", 1), ("B", 2)] * 3
    assert all(len(r["repeats"]) == 3 and "spread_pct" in r for r in out.values())


def _rounds(rates: list[float], bs: int = 8) -> list:  # type: ignore[type-arg]
    from zoobench.perf.timing import Latency, PerfResult

    lat = Latency.from_values([0.01, 0.02])
    return [PerfResult(bs, lat, bs / r, r, 1, "random", "sync", (0.01, 0.02)) for r in rates]


def test_median_spread_and_unstable_flag() -> None:
    from zoobench.perf.timing import summarize_rounds

    steady = summarize_rounds(_rounds([100.0, 102.0, 98.0]))
    assert steady["throughput_img_s"] == 100.0 and steady["repeats"] == [100.0, 102.0, 98.0]
    assert steady["spread_pct"] == 4.0 and steady["unstable"] is False
    noisy = summarize_rounds(_rounds([100.0, 90.0, 110.0]))
    assert noisy["throughput_img_s"] == 100.0 and noisy["spread_pct"] == 20.0 and noisy["unstable"] is True
    assert noisy["latency"]["count"] == 6  # every round's runs pooled


def test_best_batch_is_the_highest_median_and_noise_ties() -> None:
    from zoobench.perf.table import best_with_ties

    cells = [
        {"batch_size": 1, "throughput_img_s": 80.0, "spread_pct": 1.0},
        {"batch_size": 8, "throughput_img_s": 100.0, "spread_pct": 3.0},
        {"batch_size": 16, "throughput_img_s": 98.0, "spread_pct": 1.0},  # 2% short, within 3% noise
        {"batch_size": 32, "throughput_img_s": 95.0, "spread_pct": 2.0},  # 5% short: not tied
        {"batch_size": 64, "error": "RuntimeError: out of memory"},
    ]
    best = best_with_ties(cells)
    assert best is not None and best["batch_size"] == 8 and best["tied"] == [16]
    single_round = [{**c, "spread_pct": 0.0} for c in cells[:3]]
    assert best_with_ties(single_round)["tied"] == []  # type: ignore[index]


def test_perf_json_and_table_carry_repeats_spread_and_ties(resnet_onnx: str, tmp_path: Path) -> None:
    from zoobench.perf.sweep import do_perf
    from zoobench.report.tables import best_text, cells_by_batch

    res = do_perf(resnet_onnx, batch_sizes=[1, 2], outdir=str(tmp_path), repeats=2, seconds=0.02, min_iters=2)
    saved = json.loads((tmp_path / "perf.json").read_text())
    assert saved["repeats"] == 2
    for r in saved["results"]:
        assert len(r["repeats"]) == 2
        assert r["throughput_img_s"] == pytest.approx(sum(r["repeats"]) / 2, rel=1e-4)  # median of two
        assert isinstance(r["unstable"], bool) and r["spread_pct"] >= 0
    best = saved["table"]["best"]["onnxruntime fp32"]
    assert best["batch_size"] == res["best_batch_size"] and "tied" in best
    assert best_text(saved).startswith(f"{best['throughput_img_s']:.1f} (bs{best['batch_size']}")
    # files written before repeats existed still render
    old = {"results": [{"batch_size": 1, "throughput_img_s": 10.0}, {"batch_size": 4, "throughput_img_s": 30.0}]}
    assert best_text(old) == "30.0 (bs4)" and cells_by_batch(old) == {1: "10.0", 4: "30.0"}
