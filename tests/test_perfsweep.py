"""perf: batch × runtime × precision sweep, unavailable combinations, the single-runtime JSON layout."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from zoobench.runtimes.base import Timing

FAST = {"seconds": 0.01, "min_iters": 2, "warmup": 1, "quiet": True}


def test_single_runtime_layout_kept(cnn_onnx: str, tmp_path: Path) -> None:
    from zoobench.perf.sweep import do_perf

    res = do_perf(cnn_onnx, batch_sizes=[1, 2], outdir=str(tmp_path), runtimes=["onnxruntime"], **FAST)
    assert [r["batch_size"] for r in res["results"]] == [1, 2]
    assert res["results"][0]["latency"]["count"] >= 2 and res["environment"]["cpu"]
    fastest = max(res["results"], key=lambda r: r["throughput_img_s"])
    assert res["runtime"]["runtime"] == "onnxruntime" and res["best_batch_size"] == fastest["batch_size"]
    assert [c["name"] for c in res["columns"]] == ["onnxruntime fp32"]
    saved = json.loads((tmp_path / "perf.json").read_text())
    assert saved["table"]["columns"] == ["onnxruntime fp32"] and saved["table"]["ratio_vs_reference"] == {}


def test_sweep_with_unavailable_combinations(cnn_onnx: str, tmp_path: Path, photos: tuple[Path, Path]) -> None:
    pytest.importorskip("openvino")
    from zoobench.perf.sweep import do_perf

    res = do_perf(
        cnn_onnx,
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
    ov = cols["openvino fp32"]["results"]
    assert tab["best"]["openvino fp32"]["batch_size"] == max(ov, key=lambda r: r["throughput_img_s"])["batch_size"]
    # int8 engines are the engine build's uint8-input ones, compiled once (the store) and linked into the output dir
    assert (tmp_path / "torchvision_squeezenet1_1.onnxruntime.int8.u8.onnx").is_file()


def test_nothing_can_run_is_an_error(cnn_onnx: str) -> None:
    from zoobench.errors import ZoobenchError
    from zoobench.perf.sweep import do_perf

    with pytest.raises(ZoobenchError, match="no runtime"):
        do_perf(cnn_onnx, batch_sizes=[1], runtimes=["torch"], precisions=["int8"], **FAST)


def test_cli_perf_sweep(cnn_onnx: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from zoobench.cli import cli

    args = [
        "perf",
        cnn_onnx,
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
    bad = CliRunner().invoke(cli, ["perf", cnn_onnx, "--runtimes", "nope"])
    assert bad.exit_code == 2 and "unknown nope" in bad.output


class _Recorder:
    """A session that records which cell ran, in order (no runtime involved)."""

    input_dtype = "float32"

    def __init__(self, name: str, log: list[tuple[str, int]]) -> None:
        self.name, self.log = name, log

    def in_flight(self) -> None:
        return None  # one request at a time

    def run(self, batch):  # type: ignore[no-untyped-def]
        import numpy as np

        self.log.append((self.name, len(batch)))
        return np.zeros((len(batch), 10), np.float32)


def test_rounds_visit_every_cell_round_robin() -> None:
    from zoobench.console import make_console
    from zoobench.perf.sweep import _interleaved_rounds

    log: list[tuple[str, int]] = []
    sessions = {"A": _Recorder("A", log), "B": _Recorder("B", log)}
    timing = Timing(seconds=0.0, min_iters=1, warmup=1, data="zero")
    out = _interleaved_rounds(sessions, [1, 2], (3, 4, 4), 3, timing, make_console(True))
    visits = [cell for i, cell in enumerate(log) if i == 0 or log[i - 1] != cell]  # collapse warm-up + timed runs
    assert visits == [("A", 1), ("A", 2), ("B", 1), ("B", 2)] * 3
    assert all(len(r.repeats) == 3 and r.spread_pct is not None for r in out.values())


def test_warmup_once_per_cell_then_one_rewarm_run_per_round() -> None:
    from zoobench.console import make_console
    from zoobench.perf.sweep import _interleaved_rounds

    log: list[tuple[str, int]] = []
    timing = Timing(seconds=0.0, min_iters=2, warmup=4, data="zero")
    out = _interleaved_rounds({"A": _Recorder("A", log)}, [1, 2], (3, 4, 4), 3, timing, make_console(True))
    runs = [sum(1 for _ in grp) for _, grp in __import__("itertools").groupby(log)]
    assert runs == [4 + 2, 4 + 2, 1 + 2, 1 + 2, 1 + 2, 1 + 2]  # round 1: full warm-up; later: one re-warm run
    lat = out[("A", 1)].latency
    assert out[("A", 1)].warmup == 4 and lat is not None and lat.count == 6  # 2 timed runs x 3 rounds


def test_round_order_spread_and_failures_from_injected_timings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The timing function is replaced: it records the order of the cells and returns chosen img/s per round."""
    from zoobench.console import make_console
    from zoobench.perf import sweep, timing
    from zoobench.perf.timing import Latency, PerfResult

    planned = {("A", 1): [100.0, 90.0, 110.0], ("B", 1): [50.0, 51.0, 49.0], ("B", 8): [200.0, 204.0, 198.0]}
    sessions = {"A": object(), "B": object()}
    names = {id(v): k for k, v in sessions.items()}
    seen: list[tuple[str, int, int]] = []

    def fake(session, bs, input_size, timing):  # type: ignore[no-untyped-def]
        cell = (names[id(session)], bs)
        seen.append((*cell, timing.warmup))
        if cell not in planned:
            raise RuntimeError("batch 8 does not fit this engine")
        rate = planned[cell][sum(1 for c in seen if c[:2] == cell) - 1]
        return PerfResult(bs, Latency.from_values([bs / rate]), bs / rate, rate, timing.warmup, "zero")

    monkeypatch.setattr(timing, "time_throughput", fake)
    out = sweep._interleaved_rounds(sessions, [1, 8], (3, 4, 4), 3, Timing(warmup=2), make_console(True))
    first = [("A", 1, 2), ("A", 8, 2), ("B", 1, 2), ("B", 8, 2)]
    later = [("A", 1, 1), ("B", 1, 1), ("B", 8, 1)]  # the failed cell is not retried; one re-warm run
    assert seen == first + later + later
    a1, b1, b8 = out[("A", 1)], out[("B", 1)], out[("B", 8)]
    assert a1.repeats == (100.0, 90.0, 110.0) and a1.throughput_img_s == 100.0
    assert a1.spread_pct == 20.0 and a1.unstable is True
    assert b1.throughput_img_s == 50.0 and b1.spread_pct == 4.0 and b1.unstable is False
    assert b8.throughput_img_s == 200.0 and b8.spread_pct == 3.0
    failed = out[("A", 8)]
    assert not failed.ok and failed.error is not None and failed.error.startswith("RuntimeError: batch 8")


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


def test_perf_json_and_table_carry_repeats_spread_and_ties(cnn_onnx: str, tmp_path: Path) -> None:
    from zoobench.perf.sweep import do_perf
    from zoobench.report.tables import best_text, cells_by_batch

    res = do_perf(cnn_onnx, batch_sizes=[1, 2], outdir=str(tmp_path), repeats=2, seconds=0.02, min_iters=2)
    saved = json.loads((tmp_path / "perf.json").read_text())
    assert saved["repeats"] == 2
    for r in saved["results"]:
        assert len(r["repeats"]) == 2
        assert r["throughput_img_s"] == pytest.approx(sum(r["repeats"]) / 2, rel=1e-4)  # median of two
        lo, hi = sorted(r["repeats"])
        assert r["spread_pct"] == pytest.approx(100 * (hi - lo) / r["throughput_img_s"], abs=0.05)
        assert r["unstable"] is (r["spread_pct"] > 5.0)
    best = saved["table"]["best"]["onnxruntime fp32"]
    assert best["batch_size"] == res["best_batch_size"] and "tied" in best
    assert best_text(saved).startswith(f"{best['throughput_img_s']:.1f} (bs{best['batch_size']}")
    # files written before repeats existed still render
    old = {"results": [{"batch_size": 1, "throughput_img_s": 10.0}, {"batch_size": 4, "throughput_img_s": 30.0}]}
    assert best_text(old) == "30.0 (bs4)" and cells_by_batch(old) == {1: "10.0", 4: "30.0"}


def test_title_fits_80_columns_and_cells_mark_unstable() -> None:
    from zoobench.perf.sweep import table_title
    from zoobench.perf.table import cell_text

    assert table_title("resnet50", 3) == "resnet50 · img/s, median of 3 rounds"
    long = table_title("a_very_long_model_name_from_some_onnx_file_exported_by_a_user_" * 2, 3)
    assert len(long) == 80 and long.endswith("… · img/s, median of 3 rounds")
    assert cell_text(412.34, 7.24, True) == "412.3 ±7.2%!"
    assert cell_text(412.34, 7.24, True, long=True) == "412.3 ±7.2% unstable"
    assert cell_text(412.34, 3.0, False, long=True) == "412.3" and cell_text(None, None, False) == "n/a"


def test_multi_column_perf_json_compares_per_column_and_reports_rounds(cnn_onnx: str, tmp_path: Path) -> None:
    """A `perf --runtimes a,b -o DIR` perf.json: compare shows every column, best batches read from the file."""
    pytest.importorskip("openvino")
    from zoobench.compare import compare_runs
    from zoobench.perf.sweep import do_perf
    from zoobench.report.plots import throughput_plot
    from zoobench.report.tables import latency_table

    kw = {**FAST, "repeats": 2, "batch_sizes": [1, 2], "runtimes": ["onnxruntime", "openvino"]}
    for d in ("a", "b"):
        do_perf(cnn_onnx, outdir=str(tmp_path / d), **kw)
    saved = json.loads((tmp_path / "a" / "perf.json").read_text())
    saved["table"]["best"]["openvino fp32"]["tied"] = [99]  # proves compare reads the stored best, not recomputes
    (tmp_path / "a" / "perf.json").write_text(json.dumps(saved))
    cmp = compare_runs([tmp_path / "a", tmp_path / "b"])
    tables = {t["column"]: t for t in cmp["tables"]}
    assert set(tables) == {"onnxruntime-fp32", "openvino-fp32"}
    assert tables["openvino-fp32"]["label"] == "openvino fp32"
    assert tables["openvino-fp32"]["best"]["cells"][0].endswith("; tied: bs99)")
    assert "tied: bs99" not in tables["onnxruntime-fp32"]["best"]["cells"][0]
    col = saved["columns"][1]
    part = {"runtime": col["info"], "results": col["results"]}
    rows = latency_table({"openvino-fp32": part}).rows
    # the spread column: "N.N%", or "N.N% unstable" when a busy machine made the rounds disagree
    assert [len(r[8].split(" / ")) for r in rows] == [2, 2] and re.fullmatch(r"\d+\.\d% ?(unstable)?", rows[0][9])
    assert throughput_plot({"ov": part}, tmp_path / "t.png", "t").stat().st_size > 1000


def test_old_perf_json_renders_in_report_tables_and_plots(tmp_path: Path) -> None:
    from zoobench.report.plots import throughput_plot
    from zoobench.report.tables import latency_table, perf_table

    lat = {"count": 3, "min_ms": 1.0, "max_ms": 3.0, "mean_ms": 2.0, "median_ms": 2.0, "p90_ms": 2.5,
           "p95_ms": 2.7, "p99_ms": 2.9, "stdev_ms": 0.5}  # fmt: skip
    old = {"runtime": {"runtime": "onnxruntime", "precision": "fp32"},
           "results": [{"batch_size": 1, "throughput_img_s": 10.0, "latency": lat},
                       {"batch_size": 4, "throughput_img_s": 30.0, "latency": lat},
                       {"batch_size": 8, "error": "RuntimeError: out of memory"}]}  # fmt: skip
    t = perf_table({"onnxruntime-fp32": old})
    assert t.rows[-1][:2] == ["best", "30.0 (bs4)"] and t.rows[0][1] == "10.0"
    assert [r[8:] for r in latency_table({"onnxruntime-fp32": old}).rows] == [["-", "-"], ["-", "-"]]
    assert throughput_plot({"c": old}, tmp_path / "t.png", "t").is_file()
