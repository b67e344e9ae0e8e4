"""Perf logs of benchmark / ais_bench / trtexec as runs, written from SEED_SPEC §3's examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoobench.cli import cli
from zoobench.compare import compare_runs
from zoobench.errors import DataError
from zoobench.perf.logs import load_log_folder, parse_log

BENCH = """[e2e] throughputRate: 185.903, latency: 268957
[data read] throughputRate: 191.266, moduleLatency: 5.22833
[preprocess] throughputRate: 190.761, moduleLatency: 5.24217
[infer] throughputRate: 187.131, Interface throughputRate: 401.046, moduleLatency: 3.94051
[post] throughputRate: 11.6954, moduleLatency: 85.5035
"""
AIS = """[INFO] -----------------Performance Summary------------------
[INFO] NPU_compute_time (ms): min = 0.661, max = 0.661, mean = 0.661, median = 0.661, percentile(99%) = 0.661
[INFO] throughput 1000*batchsize.mean(1)/NPU_compute_time.mean(0.661): 1512.86
[INFO] ------------------------------------------------------
"""
AIS_OLD_MULTI = """[INFO] throughput 1000*batchsize(4)/NPU_compute_time.mean(2.5): 1600.0
[INFO] i:0 device_0 throughput:1600.0 start_time:1.0 end_time:2.0
[INFO] i:1 device_1 throughput:1590.0 start_time:1.0 end_time:2.0
[INFO] summary throughput:3190.0
"""
TRT = """&&&& RUNNING TensorRT.trtexec [TensorRT v7203] # trtexec --onnx=mnasnet1.0.onnx --fp16 --shapes=image:16x3x224x224 --threads
[I] Throughput: 290.97 qps
[I] Latency: min = 3.3 ms, max = 3.6 ms, mean = 3.43677 ms
"""


def test_each_format_with_its_batch_and_the_line_it_came_from(tmp_path: Path) -> None:
    f = tmp_path / "perf_vision_batchsize_16_device_1.txt"
    f.write_text(BENCH)
    fig = parse_log(f)
    assert fig is not None and fig["batch_size"] == 16 and fig["throughput_img_s"] == 401.046
    assert fig["source"]["line"] == 4 and "Interface throughputRate: 401.046" in fig["source"]["text"]
    fig4 = parse_log(f, per_card=4)  # the guides' 310 rule: 4 devices a card
    assert (
        fig4 is not None
        and fig4["throughput_img_s"] == pytest.approx(1604.184)
        and fig4["source"]["per_device"] == 401.046
    )

    pure = tmp_path / "PureInfer_perf_of_wide_resnet50_2_bs4_in_device_0.txt"
    pure.write_text("ave_throughputRate = 157.113samples/s, ave_latency = 6.41437ms\n")
    fig = parse_log(pure)
    assert fig is not None and (fig["batch_size"], fig["throughput_img_s"]) == (4, 157.113)

    ais = tmp_path / "bs1.log"
    ais.write_text(AIS)
    fig = parse_log(ais)
    assert fig is not None and (fig["batch_size"], fig["throughput_img_s"], fig["source"]["line"]) == (1, 1512.86, 3)

    multi = tmp_path / "bs4_2dev.log"
    multi.write_text(AIS_OLD_MULTI)
    fig = parse_log(multi)
    assert fig is not None and (fig["batch_size"], fig["throughput_img_s"]) == (4, 3190.0)
    assert fig["source"]["devices"] == 2 and fig["source"]["line"] == 4

    summary = tmp_path / "bs8_summary.json"
    summary.write_text(
        json.dumps({"filesinfo": {}, "NPU_compute_time": {"mean": 4.0, "count": 10}, "throughput": 2000.0})
    )
    fig = parse_log(summary)
    assert fig is not None and (fig["batch_size"], fig["throughput_img_s"]) == (8, 2000.0)  # 2000 × 4 ms / 1000

    trt = tmp_path / "trtexec_b16.log"
    trt.write_text(TRT)
    fig = parse_log(trt)
    assert fig is not None and fig["batch_size"] == 16 and fig["throughput_img_s"] == pytest.approx(290.97 * 16)

    other = tmp_path / "notes.txt"
    other.write_text("nothing to see\n")
    assert parse_log(other) is None


def test_a_log_folder_is_a_run_and_unknown_folders_are_one_line(tmp_path: Path) -> None:
    logs = tmp_path / "mnasnet1_0_310_logs"
    logs.mkdir()
    for bs, rate in ((1, 776.7525), (16, 1501.37)):
        (logs / f"perf_vision_batchsize_{bs}_device_0.txt").write_text(BENCH.replace("401.046", str(rate)))
    run = load_log_folder(logs, per_card=4)
    perf = run["mnasnet1_0"]["logs"]
    assert [(r["batch_size"], r["throughput_img_s"]) for r in perf["results"]] == [(1, 3107.01), (16, 6005.48)]
    cmp = compare_runs([str(logs), "seeds:310"], per_card=4)
    (t,) = cmp["tables"]
    assert [r["ratio"][0] for r in t["rows"] if r["batch_size"] == 16] == pytest.approx([1.0])
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.md").write_text("hello")
    res = CliRunner().invoke(cli, ["compare", str(logs), str(empty)])
    assert (
        res.exit_code == 1
        and res.output.count("\n") == 1
        and "no zoobench run, perf.json or known perf log" in res.output
    )


def test_report_on_a_log_folder_quotes_the_guides_and_traces_each_figure(tmp_path: Path) -> None:
    logs = tmp_path / "xception_logs"
    logs.mkdir()
    (logs / "perf_vision_batchsize_1_device_0.txt").write_text(BENCH.replace("401.046", "158.623"))
    res = CliRunner().invoke(cli, ["report", str(logs), "--per-card", "4"])
    assert res.exit_code == 0, res.output
    md = (logs / "report.md").read_text()
    assert "| bs1 | 634.5 " in md and "310 img/s (quoted)" in md  # 158.623 x 4, beside the guide's 634.492
    assert "perf_vision_batchsize_1_device_0.txt:4" in md and "not measured by zoobench" in md
    assert (logs / "report.html").is_file()
    (logs / "notes.txt").write_text("run on the 310 box, see wiki\n")  # not a log: listed with why
    (logs / "perf_vision_batchsize_1_device_1.txt").write_text(BENCH)  # bs1 again: listed, not used
    assert CliRunner().invoke(cli, ["report", str(logs), "--per-card", "4"]).exit_code == 0
    md = (logs / "report.md").read_text()
    assert "| bs1 | 634.5 " in md  # the first file by name is still the figure
    assert "Files not read" in md and "| notes.txt | no known perf log form" in md
    assert "Also read" in md and "| bs1 | 1604.2 | perf_vision_batchsize_1_device_1.txt:4 |" in md
    res = CliRunner().invoke(cli, ["report", str(tmp_path)])  # neither a run nor logs: one line
    assert res.exit_code == 1 and "not a zoobench run directory" in res.output and res.output.count("\n") == 1


PURE_CONSOLE = """[INFO] Dataset number: 19 finished cost 25.448ms
[INFO] PureInfer result saved in ./result/PureInfer_perf_of_dino_resnet50_bs4_in_device_0.txt
-----------------PureInfer Performance Summary------------------
[INFO] ave_throughputRate: 157.113samples/s, ave_latency: 6.41437ms
----------------------------------------------------------------
"""


def test_pure_inference_logs_per_card_and_console(tmp_path: Path) -> None:
    """benchmark's pure-inference mode, as a result file and as a saved console: per device, × 4 per 310 card."""
    pure = tmp_path / "PureInfer_perf_of_xception_bs16_in_device_2.txt"
    pure.write_text("ave_throughputRate = 198.865samples/s, ave_latency = 5.02854ms\n")
    fig = parse_log(pure, per_card=4)
    assert fig is not None and fig["batch_size"] == 16 and fig["throughput_img_s"] == pytest.approx(795.46)
    assert fig["source"]["per_device"] == 198.865 and fig["source"]["device"] == 2 and fig["source"]["line"] == 1
    console = tmp_path / "run.log"
    console.write_text(PURE_CONSOLE)
    fig = parse_log(console)
    assert fig is not None and (fig["batch_size"], fig["throughput_img_s"]) == (4, 157.113)  # bs from the om name
    assert fig["source"]["tool"] == "benchmark pure" and fig["source"]["line"] == 4
    with pytest.raises(DataError, match=r"several models.*dino_resnet50.*xception"):
        load_log_folder(tmp_path)  # xception in a file name, dino_resnet50 in the console's om path
    assert list(load_log_folder(tmp_path, model="xception")) == ["xception"]  # --model decides


def test_the_model_comes_from_the_logs_else_the_option(tmp_path: Path) -> None:
    logs = tmp_path / "npu"
    logs.mkdir()
    (logs / "bs1_summary.json").write_text(json.dumps({
        "args": ["ais_bench", "--model=./resnest50_bs1.om", "--batchsize=1", "--output=./"],
        "NPU_compute_time": {"mean": 2.2}, "throughput": 454.5,
    }))  # fmt: skip
    (logs / "t4.log").write_text(TRT.replace("16x3", "4x3"))  # trtexec --onnx=mnasnet1.0.onnx: another model
    with pytest.raises(DataError, match="several models"):
        load_log_folder(logs)
    (logs / "t4.log").unlink()
    (fig,) = load_log_folder(logs)["resnest50"]["logs"]["results"]
    assert fig["batch_size"] == 1 and fig["source"]["npu_compute_time_ms"] == 2.2  # --batchsize from its args
    trt = tmp_path / "gpu"
    trt.mkdir()
    (trt / "b4.log").write_text(TRT.replace("16x3", "4x3"))
    assert list(load_log_folder(trt)) == ["mnasnet1_0"]  # mnasnet1.0.onnx in the command line it logged
    anon = tmp_path / "anon"
    anon.mkdir()
    (anon / "bs8.log").write_text(AIS.replace("mean(1)", "mean(8)"))
    assert list(load_log_folder(anon)) == ["*"]  # nothing names it: stands for any model
    res = CliRunner().invoke(cli, ["compare", str(anon), "seeds:310P", "--model", "resnest50"])
    assert res.exit_code == 0, res.output
    assert "### resnest50 · logs ais_bench" in res.output and "| bs8 | 1512.9 | 1630 | 0.93 |" in res.output
    assert "bs8.log:3" in res.output  # the imported figure, traced to its file and line
    res = CliRunner().invoke(cli, ["compare", str(anon), "seeds:310P", "--model", "resnet9"])
    assert res.exit_code == 1 and "unknown model 'resnet9'" in res.output and res.output.count("\n") == 1


def test_a_perf_file_without_its_line_is_one_clear_line(tmp_path: Path) -> None:
    logs = tmp_path / "wrn_logs"
    logs.mkdir()
    (logs / "perf_vision_batchsize_4_device_0.txt").write_text("[e2e] throughputRate: 185.903, latency: 268957\n")
    res = CliRunner().invoke(cli, ["compare", str(logs), "seeds:310"])
    assert res.exit_code == 1 and res.output.count("\n") == 1
    assert "benchmark perf file without its 'Interface throughputRate:' line" in res.output
    assert res.output.startswith("Error: ") and "DataError" not in res.output and "Traceback" not in res.output
