"""Every perf-log form zoobench reads (docs/perflogs.md), each built from the lines as its source printed them
(figures kept), asserting the figure ``compare`` reads, its batch size, the line it is traced to and where the
batch size came from; then one folder holding a log of each form, read whole by ``compare``.

Sources: ``MZ`` is Ascend/ModelZoo-PyTorch (the commit that still held the quote), ``AIT`` is mjlovesz/sync-ait
@c432ed5 (a mirror of Ascend/ait), ``TOOLS`` is Ascend/tools, ``TRT`` is NVIDIA/TensorRT. Three forms have no public
quote that we found; their lines are built from the tool's print code, with figures that fit its formula (marked
"print code").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoobench.cli import cli
from zoobench.errors import DataError
from zoobench.perf.logforms import FORMS, batch_in_name, resolve_batch
from zoobench.perf.logs import load_log_folder, parse_log

AIT_BASIC = """\
[INFO] acl init success
[INFO] open device 0 success
[INFO] load model pth_resnet50_bs1.om success
[INFO] create model description success
[INFO] try get model batchsize:1
[INFO] warm up 1 done
Inference array Processing: 100%|████████████████████████████████| 1/1 [00:00<00:00, 10.73it/s]
[INFO] -----------------Performance Summary------------------
[INFO] NPU_compute_time (ms): min = 2.4560000896453857, max = 2.4560000896453857, mean = 2.4560000896453857, median = 2.4560000896453857, percentile(99%) = 2.4560000896453857
[INFO] throughput 1000*batchsize.mean(1)/NPU_compute_time.mean(2.4560000896453857): 407.16610891670894
[INFO] ------------------------------------------------------
[INFO] unload model success, model Id is 1
[INFO] end to destroy context
[INFO] end to reset device is 0
[INFO] end to finalize acl
"""
AIT_MULTI = """\
[INFO] -----------------Performance Summary------------------
[INFO] NPU_compute_time (ms): min = 2.4769999980926514, max = 3.937000036239624, mean = 3.5538000106811523, median = 3.7230000495910645, percentile(99%) = 3.936680030822754
[INFO] throughput 1000*batchsize.mean(1)/NPU_compute_time.mean(3.5538000106811523): 281.38893494131406
[INFO] ------------------------------------------------------
[INFO] -----------------Performance Summary------------------
[INFO] NPU_compute_time (ms): min = 3.3889999389648438, max = 3.9230000972747803, mean = 3.616000032424927, median = 3.555000066757202, percentile(99%) = 3.9134000968933105
[INFO] throughput 1000*batchsize.mean(1)/NPU_compute_time.mean(3.616000032424927): 276.54867008654026
[INFO] ------------------------------------------------------
[INFO] unload model success, model Id is 1
[INFO] unload model success, model Id is 1
[INFO] end to destroy context
[INFO] end to destroy context
[INFO] end to reset device is 2
[INFO] end to reset device is 2
[INFO] end to finalize acl
[INFO] end to finalize acl
[INFO] multidevice run end qsize:4 result:1
i:0 device_1 throughput:281.38893494131406 start_time:1676875630.804429 end_time:1676875630.8303885
i:1 device_2 throughput:276.54867008654026 start_time:1676875630.8043878 end_time:1676875630.8326817
[INFO] summary throughput:557.9376050278543
"""
AIT_TRT = """\
[INFO] [05/27/2023-12:05:31] [I] === Performance summary ===
[INFO] [05/27/2023-12:05:31] [I] Throughput: 120.699 qps
[INFO] [05/27/2023-12:05:31] [I] Latency: min = 9.11414 ms, max = 11.7442 ms, mean = 9.81005 ms, median = 9.76404 ms, percentile(90%) = 10.1075 ms, percentile(95%) = 10.1624 ms, percentile(99%) = 11.4742 ms
[INFO] [05/27/2023-12:05:31] [I] Enqueue Time: min = 0.516296 ms, max = 0.598633 ms, mean = 0.531443 ms, median = 0.5271 ms, percentile(90%) = 0.546875 ms, percentile(95%) = 0.564575 ms, percentile(99%) = 0.580566 ms
[INFO] [05/27/2023-12:05:31] [I] H2D Latency: min = 1.55066 ms, max = 1.57336 ms, mean = 1.55492 ms, median = 1.55444 ms, percentile(90%) = 1.55664 ms, percentile(95%) = 1.55835 ms, percentile(99%) = 1.56458 ms
[INFO] [05/27/2023-12:05:31] [I] GPU Compute Time: min = 7.54407 ms, max = 10.1723 ms, mean = 8.23978 ms, median = 8.19409 ms, percentile(90%) = 8.5354 ms, percentile(95%) = 8.59131 ms, percentile(99%) = 9.90002 ms
[INFO] [05/27/2023-12:05:31] [I] D2H Latency: min = 0.0130615 ms, max = 0.0170898 ms, mean = 0.015342 ms, median = 0.0153809 ms, percentile(90%) = 0.0162354 ms, percentile(95%) = 0.0163574 ms, percentile(99%) = 0.0168457 ms
[INFO] [05/27/2023-12:05:31] [I] Total Host Walltime: 3.02405 s
[INFO] [05/27/2023-12:05:31] [I] Total GPU Compute Time: 3.00752 s
"""
DBNET = """\
[INFO] multidevice run end qsize:4 result:0
i:1 device_1 throughput:226.43004497955928 start_time:1690190567.8889167 end_time:1690190570.9299388
i:0 device_0 throughput:222.76300429514114 start_time:1690190568.8170185 end_time:1690190571.819632
[INFO] summary throughput:449.19304927470046
"""
DPN131 = """\
[INFO] PureInfer result saved in ./result/PureInfer_perf_of_dpn131_bs8_in_device_3.txt
-----------------PureInfer Performance Summary------------------
[INFO] ave_throughputRate: 39.3665samples/s, ave_latency: 25.4697ms
----------------------------------------------------------------
"""
ICNET = """\
./benchmark.x86_64 -round=20 -om_path=ICNet_bs1.om -device_id=0 -batch_size=1
ave_throughputRate:20.6958samples/s, ave_latency:48.5792ms
"""
REFINENET = """\
[inference] throughputRate: 56.6365, Interface throughputRate: 77.7378, moduleLatency: 17.4284
"""
REGNETY = """\
trtexec --onnx=RegNetY-1.6GF.onnx --fp16 --threads --shapes=image:1x3x224x224
[05/17/2022-15:33:49] [I] === Performance summary ===
[05/17/2022-15:33:49] [I] Throughput: 231.086 qps
[05/17/2022-15:33:49] [I] Latency: min = 3.29541 ms, max = 9.36523 ms, mean = 4.41086 ms, median = 4.42065 ms, percentile(99%) = 5.40323 ms
[05/17/2022-15:33:49] [I] End-to-End Host Latency: min = 3.48975 ms, max = 10.5285 ms, mean = 6.18173 ms, median = 4.84314 ms, percentile(99%) = 10.337 ms
[05/17/2022-15:33:49] [I] Enqueue Time: min = 3.24353 ms, max = 9.43591 ms, mean = 4.12215 ms, median = 4.23169 ms, percentile(99%) = 4.6792 ms
[05/17/2022-15:33:49] [I] H2D Latency: min = 0.101929 ms, max = 0.130371 ms, mean = 0.1091 ms, median = 0.106384 ms, percentile(99%) = 0.123535 ms
[05/17/2022-15:33:49] [I] GPU Compute Time: min = 3.18799 ms, max = 9.24084 ms, mean = 4.29297 ms, median = 4.3064 ms, percentile(99%) = 5.28589 ms
[05/17/2022-15:33:49] [I] D2H Latency: min = 0.00317383 ms, max = 0.0352936 ms, mean = 0.00878103 ms, median = 0.00585938 ms, percentile(99%) = 0.0248108 ms
"""
RESNET152 = """\
ave_throughputRate = 270.962samples/s, ave_latency = 3.75835ms
"""
SPACH = """\
python3.7.5 ais_infer.py  --model /home/infname63/spach-smlp/sMLPNet-T-batch16-high.om  --batchsize 16 --output ./ --outfmt BIN --loop 100  --output test
[INFO] -----------------Performance Summary------------------
[INFO] H2D_latency (ms): min = 1.8732547760009766, max = 1.8732547760009766, mean = 1.8732547760009766, median = 1.8732547760009766, percentile(99%) = 1.8732547760009766
[INFO] NPU_compute_time (ms): min = 55.18075942993164, max = 55.18075942993164, mean = 55.18075942993164, median = 55.18075942993164, percentile(99%) = 55.18075942993164
[INFO] D2H_latency (ms): min = 0.10800361633300781, max = 0.10800361633300781, mean = 0.10800361633300781, median = 0.10800361633300781, percentile(99%) = 0.10800361633300781
[INFO] throughput (1000*batchsize/NPU_compute_time): 289.95613988090815
"""
TWINS = """\
[INFO] -----------------Performance Summary------------------
[INFO] NPU_compute_time (ms): min = 431.9490051269531, max = 432.24200439453125, mean = 432.0568511962891, median = 432.0480041503906, percentile(99%) = 432.2307962036133
[INFO] throughput 1000*batchsize(64)/NPU_compute_time.mean(432.0568511962891): 148.1286544184991
"""
UFLD = """\
[12/09/2021-15:37:06] [I] throughput: 0 qps
[12/09/2021-15:37:06] [I] walltime: 3.04011 s
[12/09/2021-15:37:06] [I] Enqueue Time
[12/09/2021-15:37:06] [I] min: 0.532959 ms
[12/09/2021-15:37:06] [I] max: 0.609924 ms
[12/09/2021-15:37:06] [I] median: 0.553345 ms
[12/09/2021-15:37:06] [I] GPU Compute
[12/09/2021-15:37:06] [I] min: 12.2784 ms
[12/09/2021-15:37:06] [I] max: 13.4615 ms
[12/09/2021-15:37:06] [I] mean: 12.8239 ms
[12/09/2021-15:37:06] [I] median: 12.8769 ms
[12/09/2021-15:37:06] [I] percentile: 13.2598 ms at 99%
[12/09/2021-15:37:06] [I] total compute time: 3.02645 s
"""
AIS_2022_05 = "[INFO] -----------------Performance Summary------------------\n[INFO] H2D_latency (ms): min = 1.8732547760009766, max = 1.8732547760009766, mean = 1.8732547760009766, median = 1.8732547760009766, percentile(99%) = 1.8732547760009766\n[INFO] NPU_compute_time (ms): min = 55.18075942993164, max = 55.18075942993164, mean = 55.18075942993164, median = 55.18075942993164, percentile(99%) = 55.18075942993164\n[INFO] D2H_latency (ms): min = 0.10800361633300781, max = 0.10800361633300781, mean = 0.10800361633300781, median = 0.10800361633300781, percentile(99%) = 0.10800361633300781\n[INFO] throughput (1000/NPU_compute_time/batchsize): 1.1326411714097975\n[INFO] ------------------------------------------------------\n"

SEED_BENCH = """\
[e2e] throughputRate: 185.903, latency: 268957
[data read] throughputRate: 191.266, moduleLatency: 5.22833
[preprocess] throughputRate: 190.761, moduleLatency: 5.24217
[infer] throughputRate: 187.131, Interface throughputRate: 401.046, moduleLatency: 3.94051
[post] throughputRate: 11.6954, moduleLatency: 85.5035
"""
# print code: TRT@19.12 samples/common/sampleReporting.cpp:111-126 (queries = batch x streams, trtexec.cpp:149;
# logging.h prints tm_mon, 0-based); figures: 16 x 1000 / mean latency
TRT_7_0 = """\
&&&& RUNNING TensorRT.trtexec # ./trtexec --deploy=ResNet50_N2.prototxt --model=ResNet50_fp32.caffemodel --output=prob --batch=16
[11/18/2019-15:18:32] [I] Host latency
[11/18/2019-15:18:32] [I] min: 3.36719 ms
[11/18/2019-15:18:32] [I] max: 3.52563 ms
[11/18/2019-15:18:32] [I] mean: 3.44815 ms
[11/18/2019-15:18:32] [I] median: 3.44717 ms
[11/18/2019-15:18:32] [I] percentile: 3.52563 ms (99%)
[11/18/2019-15:18:32] [I] throughput: 4640.2 qps
[11/18/2019-15:18:32] [I] walltime: 3.00203 s
[11/18/2019-15:18:32] [I] GPU Compute
[11/18/2019-15:18:32] [I] min: 3.24219 ms
[11/18/2019-15:18:32] [I] max: 3.35986 ms
[11/18/2019-15:18:32] [I] mean: 3.2425 ms
[11/18/2019-15:18:32] [I] median: 3.24097 ms
[11/18/2019-15:18:32] [I] percentile: 3.35986 ms (99%)
[11/18/2019-15:18:32] [I] throughput: 4934.4 qps
[11/18/2019-15:18:32] [I] walltime: 2.82349 s
"""
# print code: TRT@v10.13.3 samples/common/sampleReporting.cpp:265, sampleOptions.cpp:2365-2375 and :783 (the
# "Input inference shape :" echo), logging.h:388 (the version in the RUNNING line); figures made up
TRT_10 = """\
&&&& RUNNING TensorRT.trtexec [TensorRT v101303] [b9] # trtexec --onnx=model.onnx --fp16 --shapes=input:32x3x224x224
[11/28/2026-10:00:01] [I] === Inference Options ===
[11/28/2026-10:00:01] [I] Batch: Explicit
[11/28/2026-10:00:01] [I] Input inference shape : input=32x3x224x224
[11/28/2026-10:00:12] [I] === Performance summary ===
[11/28/2026-10:00:12] [I] Throughput: 95.5 qps
"""
SPACH_ARGV = ["ais_infer.py", "--model", "/home/infname63/spach-smlp/sMLPNet-T-batch16-high.om", "--batchsize", "16",
              "--output", "./", "--outfmt", "BIN", "--loop", "100", "--output", "test"]  # fmt: skip
MEAN16 = 55.18075942993164  # the SPACH-SMLP guide's bs16 NPU_compute_time mean


def _stats(mean: float, count: bool) -> dict[str, float]:
    keys = ("min", "max", "mean", "median", "percentile(99%)")
    return {k: mean for k in keys} | ({"count": 1} if count else {})


# print code: TOOLS@63a74de ais-bench_workload/tool/ais_infer/frontend/summary.py:51-90 (sumary.json, no count)
SUMARY_JSON = json.dumps({"filesinfo": {}, "args": SPACH_ARGV, "NPU_compute_time": _stats(MEAN16, False),
                          "H2D_latency": _stats(1.8732547760009766, False),
                          "D2H_latency": _stats(0.10800361633300781, False), "throughput": 289.95613988090815})  # fmt: skip
# print code: TOOLS@9d6da90 ais-bench_workload/tool/ais_bench/ais_bench/infer/summary.py:57-102 (count, list, pid);
# figures: AIT's 01_basic_usage run of pth_resnet50_bs1.om
SUMMARY_JSON = json.dumps({"filesinfo": {}, "args": ["/usr/lib/python3.7/site-packages/ais_bench/__main__.py",
                           "--model", "./pth_resnet50_bs1.om"], "NPU_compute_time": _stats(2.4560000896453857, True),
                           "H2D_latency": _stats(0.0, True), "D2H_latency": _stats(0.0, True),
                           "throughput": 407.16610891670894, "npu_compute_time_list": [2.4560000896453857],
                           "pid": 4242})  # fmt: skip


@dataclass(frozen=True)
class Sample:
    form: str
    name: str  # the file's name in a log folder
    text: str
    batch: int
    img_s: float  # the figure compare reads
    line: int  # the line it is traced to
    batch_from: str
    source: str


SAMPLES = [
    Sample("benchmark-dataset", "perf_vision_batchsize_16_device_0.txt", SEED_BENCH, 16, 401.046, 4, "the file name",
           "SEED_SPEC §3.1 (result/perf_vision_batchsize_16_device_1.txt)"),
    Sample("benchmark-dataset", "perf_vision_batchsize_16_device_1.txt", REFINENET, 16, 77.7378, 1, "the file name",
           "MZ@8cfb3dcdf ACL_PyTorch/contrib/cv/segmentation/RefineNet/README.md:241"),
    Sample("benchmark-pure", "PureInfer_perf_of_resnet152_bs8_in_device_0.txt", RESNET152, 8, 270.962, 1,
           "the om name in the file name", "MZ@73422a855 ACL_PyTorch/contrib/cv/classfication/ResNet152/README.md:243"),
    Sample("benchmark-pure", "dpn131_pure.log", DPN131, 8, 39.3665, 3, "the om name at line 1",
           "MZ@f6d74176b ACL_PyTorch/contrib/cv/classfication/DPN131/README.md:231-234"),
    Sample("benchmark-pure", "icnet_pure.log", ICNET, 1, 20.6958, 2, "'-batch_size=1' at line 1",
           "MZ@a61f4c3cd ACL_PyTorch/contrib/cv/segmentation/ICNet/readme.md:242 and :246"),
    Sample("ais-2022-05", "smlp_inference_tools_bs16.log", AIS_2022_05, 16, 1000 * 16 / MEAN16, 3, "the file name",
           "print code: TOOLS@ec0fc1a ais-bench_workload/tool/inference_tools/frontend/summary.py:71-82"),
    Sample("ais-2022-06", "spach_smlp_ais_infer.log", SPACH, 16, 289.95613988090815, 6, "'--batchsize 16' at line 1",
           "MZ@d1d6d8507 ACL_PyTorch/contrib/cv/classfication/SPACH-SMLP/readme.md:251-256"),
    Sample("ais-2022-09", "twins_svt_l.log", TWINS, 64, 148.1286544184991, 3, "the line",
           "MZ@6a2804a35 ACL_PyTorch/built-in/cv/Twins-SVT-L/README.md:267-269"),
    Sample("ais-2023", "ais_bench_pure.log", AIT_BASIC, 1, 407.16610891670894, 10, "the line",
           "AIT ait/examples/cli/benchmark/01_basic_usage/README.md:21-35"),
    Sample("ais-multi-device", "ais_bench_2dev.log", AIT_MULTI, 1, 557.9376050278543, 20, "the line",
           "AIT ait/components/benchmark/README.md:357-376"),
    Sample("ais-multi-device", "dbnet_bs24_2dev.log", DBNET, 24, 449.19304927470046, 4, "the file name",
           "MZ@8dfc456c2 ACL_PyTorch/built-in/cv/DBNet_MobileNetV3_for_POC/README.md:329-332"),
    Sample("ais-sumary-json", "sumary.json", SUMARY_JSON, 16, 289.95613988090815, 1, "'--batchsize 16' in its args",
           "print code: TOOLS@63a74de ais-bench_workload/tool/ais_infer/frontend/summary.py:51-90"),
    Sample("ais-summary-json", "2023_05_27-12_05_31_summary.json", SUMMARY_JSON, 1, 407.16610891670894, 1,
           "'./pth_resnet50_bs1.om' in its args",
           "print code: TOOLS@9d6da90 ais-bench_workload/tool/ais_bench/ais_bench/infer/summary.py:57-102"),
    Sample("trtexec-7.0", "trt70_caffe.log", TRT_7_0, 16, 4640.2, 8, "'--batch=16' at line 1",
           "print code: TRT@19.12 samples/common/sampleReporting.cpp:111-126"),
    Sample("trtexec-7.1", "ufld_t4_bs16.log", UFLD, 16, 1000 * 16 / 12.8239, 10, "the file name",
           "MZ@114030738 ACL_PyTorch/contrib/cv/segmentation/Ultra-Fast-Lane-Detection/README.md:199-217"),
    Sample("trtexec-8", "regnety_t4.log", REGNETY, 1, 231.086, 3, "'--shapes=image:1x3x224x224' at line 1",
           "MZ@27254e6cd ACL_PyTorch/contrib/cv/classfication/RegNetY-1.6GF/README.md:343, 349-356"),
    Sample("trtexec-10", "trt10_t4.log", TRT_10, 32, 95.5 * 32, 6, "'--shapes=input:32x3x224x224' at line 1",
           "print code: TRT@v10.13.3 samples/common/sampleReporting.cpp:265"),
    Sample("trtexec-ait", "ait_trtexec_bs1.log", AIT_TRT, 1, 120.699, 2, "the file name",
           "AIT ait/examples/cli/benchmark/09_trtexec/README.md:18-26"),
]  # fmt: skip


@pytest.mark.parametrize("s", SAMPLES, ids=[f"{s.form}:{s.name}" for s in SAMPLES])
def test_each_form_gives_the_figure_compare_reads(tmp_path: Path, s: Sample) -> None:
    path = tmp_path / s.name
    path.write_text(s.text, encoding="utf-8")
    fig = parse_log(path)
    assert fig is not None, s.source
    src = fig["source"]
    assert (src["form"], fig["batch_size"], src["line"]) == (s.form, s.batch, s.line), s.source
    assert fig["throughput_img_s"] == pytest.approx(s.img_s, rel=1e-9), s.source
    lines = s.text.splitlines()
    printed = f"throughput: {json.loads(s.text)['throughput']}" if s.name.endswith(".json") else lines[s.line - 1]
    assert src["batch_from"] == s.batch_from and src["text"] == printed.strip()


def test_every_form_has_a_sample_and_a_row_in_the_docs() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "perflogs.md").read_text(encoding="utf-8")
    assert {f.key for f in FORMS} == {s.form for s in SAMPLES}
    for f in FORMS:
        assert f"`{f.key}`" in docs and f.source in docs, f.key  # each form with its source
    for s in SAMPLES:
        assert f"| `{s.form}` | {s.name} | {s.source}" in docs, s.name  # each test log with the quote it is from


def test_a_folder_with_one_log_of_each_form_is_read_whole_and_traced(tmp_path: Path) -> None:
    logs = tmp_path / "all_forms"
    logs.mkdir()
    for s in SAMPLES:
        (logs / s.name).write_text(s.text, encoding="utf-8")
    (logs / "notes.txt").write_text("T4: trtexec --onnx=m.onnx --shapes=image:16x3x224x224\nThroughput 1211.26 fps\n")
    (logs / "msame.log").write_text("Inference average time without first time: 3.64 ms\n")  # a tool not read
    res = CliRunner().invoke(cli, ["compare", str(logs), "seeds:310P", "--model", "resnest50"])
    assert res.exit_code == 0, res.output
    for s in SAMPLES:
        assert f"| {s.name}:{s.line} |" in res.output, s.name  # every figure, each at its file:line
    ours = {r.split(" | ")[0][2:]: r.split(" | ")[1] for r in res.output.splitlines() if r.startswith("| bs")}
    assert {k: v for k, v in ours.items() if v != "-"} == {
        "bs1": "407.2", "bs8": "271.0", "bs16": "401.0", "bs24": "449.2", "bs32": "3056.0", "bs64": "148.1"
    }  # the first file by name of each batch size; the others are listed below the table  # fmt: skip
    assert "not in the table (an earlier file gave bs16; this one reads 77.7 img/s)" in res.output
    notes = [r for r in res.output.splitlines() if "| notes.txt |" in r or "| msame.log |" in r]
    assert len(notes) == 2 and all("not read: no known perf log form; closest:" in r for r in notes)
    assert "closest: trtexec trtexec-" in notes[1]  # 'Throughput 1211.26 fps' is nearest trtexec's line


def test_the_batch_size_order_line_name_argument_json(tmp_path: Path) -> None:
    twins = tmp_path / "twins_bs8.log"  # the line says 64: the name does not override it
    twins.write_text(TWINS)
    assert parse_log(twins)["batch_size"] == 64  # type: ignore[index]
    spach = tmp_path / "spach_b4.log"  # the name comes before the echoed --batchsize 16
    spach.write_text(SPACH)
    assert parse_log(spach)["source"]["batch_from"] == "the file name"  # type: ignore[index]
    assert [
        batch_in_name(n)
        for n in (
            "x_batchsize_16.log",
            "bs16.log",
            "a-b16.txt",
            "m_batch4.om",
            "efficientnet_lite0.log",
            "efficientnet_lite0_b2.log",
            "2023_01_03-06_35_53_summary.json",
        )
    ] == [16, 16, 16, 4, None, 2, None]
    args = [
        "python3 -m ais_bench --model x.om --dymBatch 8",
        "trtexec --optShapes=x:4x3x8x8",
        "[INFO] try get model batchsize:2",
    ]
    for text, bs in zip(args, (8, 4, 2)):
        assert resolve_batch(tmp_path / "run.log", [text])[0] == bs
    assert resolve_batch(tmp_path / "run.json", [""], None, 3) == (3, "the summary JSON")
    anon = tmp_path / "run_summary.json"  # no args, no name: what the JSON records (throughput x mean / 1000)
    anon.write_text(json.dumps({"NPU_compute_time": {"mean": 4.0}, "throughput": 2000.0}))
    assert (parse_log(anon)["batch_size"], parse_log(anon)["source"]["batch_from"]) == (8, "the summary JSON")  # type: ignore[index]


def test_a_log_without_a_batch_is_refused_in_one_line_that_says_how_to_name_it(tmp_path: Path) -> None:
    logs = tmp_path / "npu"
    logs.mkdir()
    (logs / "run.log").write_text(SPACH.splitlines(keepends=True)[1:][0] + SPACH.splitlines(keepends=True)[-1])
    with pytest.raises(DataError) as err:
        parse_log(logs / "run.log")
    assert str(err.value).endswith("name the file with its batch, e.g. run_bs16.log") and "\n" not in str(err.value)
    res = CliRunner().invoke(cli, ["compare", str(logs), "seeds:310P"])  # alone in its folder: the folder's one line
    assert res.exit_code == 1 and res.output.count("\n") == 1 and "e.g. run_bs16.log" in res.output
    (logs / "twins.log").write_text(TWINS)  # beside a readable log, it is named and the rest is read
    ((_model, cols),) = load_log_folder(logs).items()
    assert [r["batch_size"] for r in cols["logs"]["results"]] == [64]
    (skip,) = cols["logs"]["skipped"]
    assert skip["file"] == "run.log" and "e.g. run_bs16.log" in skip["why"]


def test_the_releases_that_printed_a_wrong_or_zero_figure(tmp_path: Path) -> None:
    """inference_tools 2022-05 printed (and saved) 1000/mean/bs; TensorRT 7.1/7.2 print 0 qps for an explicit
    batch: zoobench recomputes 1000 x bs / mean and says so; trtexec with --batch=N already counts images."""
    old = tmp_path / "sumary.json"
    old.write_text(
        json.dumps({"args": SPACH_ARGV, "NPU_compute_time": {"mean": MEAN16}, "throughput": 1000 / MEAN16 / 16})
    )
    fig = parse_log(old)
    assert fig is not None and fig["throughput_img_s"] == pytest.approx(289.95613988090815)
    assert "2022-05" in fig["source"]["note"] and fig["source"]["printed"] == pytest.approx(1.1326411714097975)
    ufld = tmp_path / "ufld_bs16.log"
    ufld.write_text(UFLD)
    assert "0 qps" in parse_log(ufld)["source"]["note"] or "explicit" in parse_log(ufld)["source"]["note"]  # type: ignore[index]
    ufld.write_text(UFLD.replace("[I] mean: 12.8239 ms", "[I] average: 12.8239 ms"))  # no mean to recompute from
    with pytest.raises(DataError, match="a throughput of 0"):
        parse_log(ufld)
    implicit = tmp_path / "trt8_implicit.log"
    implicit.write_text("&&&& RUNNING TensorRT.trtexec [TensorRT v8503] # trtexec --loadEngine=r.engine --batch=8\n"
                        + REGNETY.splitlines()[2] + "\n")  # fmt: skip
    fig = parse_log(implicit)
    assert fig is not None and (fig["batch_size"], fig["throughput_img_s"]) == (8, 231.086)


def test_files_that_are_no_log_are_named_with_the_closest_form_and_the_rest_is_read(tmp_path: Path) -> None:
    logs = tmp_path / "mixed"
    logs.mkdir()
    (logs / "twins_svt_l.log").write_text(TWINS)
    (logs / "console.md").write_text(AIT_BASIC)  # the right lines under a suffix that is not read
    (logs / "model.om").write_bytes(b"\0\1\2" * 100)
    for i in range(12):
        (logs / f"z_note{i:02}.txt").write_text("nothing to see\n")
    perf = load_log_folder(logs)["*"]["logs"]
    assert [r["throughput_img_s"] for r in perf["results"]] == [148.1286544184991]
    why = {s["file"]: s["why"] for s in perf["skipped"]}
    assert why["console.md"].startswith(
        "only .log/.txt/.out/.json files are read; closest: ais_bench / ait benchmark ais-2023 ("
    )
    assert why["model.om"] == "not a perf log (binary)"
    assert why["z_note00.txt"].startswith("no known perf log form; closest: ")
    assert sum("past the first ten" in w for w in why.values()) == 14 - 10  # the others are only named


def test_a_printed_figure_its_own_formula_contradicts_is_read_and_flagged(tmp_path: Path) -> None:
    """MZ@6a2804a35 ACL_PyTorch/contrib/cv/classfication/Starnet_Resnet34/README.md:337: 1000 x 16 / 10.3489 is
    1546.06, the guide prints 112.53 (its line copied from another model's run and edited)."""
    starnet = tmp_path / "starnet.log"
    starnet.write_text(
        "[INFO] throughput 1000*batchsize(16)/NPU_compute_time.mean(10.348920078277589): 112.53087529912726\n"
    )
    fig = parse_log(starnet)
    assert fig is not None and fig["throughput_img_s"] == 112.53087529912726
    assert fig["source"]["note"] == "the line's own formula gives 1546.06"
    res = CliRunner().invoke(cli, ["compare", str(tmp_path), "seeds:310P", "--model", "resnest50"])
    assert "| starnet.log:1 |" in res.output and "(the line's own formula gives 1546.06) |" in res.output


def test_a_dataset_console_and_a_dym_shape_range_log(tmp_path: Path) -> None:
    """benchmark's dataset-mode console (SEED_SPEC §3.1: the perf file's lines between the summary's dashes), the
    batch from the command it echoes; ais_bench's --dymShape_range summary (TOOLS@9d6da90
    ais-bench_workload/tool/ais_bench/ais_bench/infer/miscellaneous.py:152) has no one batch size: refused."""
    console = tmp_path / "vision.log"
    console.write_text(
        "./benchmark.x86_64 -model_type=vision -device_id=0 -batch_size=16 -om_path=x.om -round=20\n"
        "-----------------Performance Summary------------------\n" + SEED_BENCH + "-" * 54 + "\n"
    )
    fig = parse_log(console, per_card=4)
    assert fig is not None and (fig["batch_size"], fig["throughput_img_s"]) == (16, pytest.approx(4 * 401.046))
    assert fig["source"]["batch_from"] == "'-batch_size=16' at line 1" and fig["source"]["line"] == 6
    dym = tmp_path / "dym_bs1.log"
    dym.write_text(AIT_BASIC + "[INFO] -----------------dyshape_range Performance Summary------------------\n")
    with pytest.raises(DataError, match="line 16: an ais_bench --dymShape_range log"):
        parse_log(dym)
