"""The forms of the seeds' tools' perf logs that zoobench reads, where each was printed, and how a log's batch size
is found. The table of forms with their sources and tests is docs/perflogs.md; :mod:`zoobench.perf.logread` reads
them. Sources: TOOLS = github.com/Ascend/tools (ais-bench_workload history), AIT = github.com/mjlovesz/sync-ait
@c432ed5 (a mirror of Ascend/ait), TRT = github.com/NVIDIA/TensorRT, MZ = github.com/Ascend/ModelZoo-PyTorch.

The batch size of a log, in this order (the first that says it wins):

1. the line the figure is on (``throughput 1000*batchsize(16)/…``, an om name ``…_bs16…`` in the line);
2. the file name: ``bs16``, ``batchsize_16``, ``batch16``, ``_b16`` (a registry model's own name, such as
   ``efficientnet_b0``, is not read as a batch);
3. an argument the log echoes: ``--batchsize 16`` / ``--batch-size=16`` / ``-batch_size=16`` / ``--dymBatch 16``,
   trtexec's ``--shapes=x:16x3x224x224`` / ``--optShapes`` / ``Input inference shape: x=16x…`` / ``--batch=16``,
   ais_bench's ``try get model batchsize:16``, else an om file it names (``--model x_bs16.om``);
4. what a summary JSON records (its ``args``, else ``throughput × NPU_compute_time.mean / 1000``).

None of them: the log is refused in one line that says how to name the file.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from zoobench.errors import DataError

NUM = r"(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"  # how Python and C++ print a float (1512.86, 4.5e-05)


@dataclass(frozen=True)
class Form:
    """One printed form: ``key`` (recorded in each figure's source), the tool and its releases, a line as printed
    (for naming the closest form of a file zoobench cannot read), and where the form was found."""

    key: str
    tool: str
    releases: str
    sample: str
    source: str


FORMS: tuple[Form, ...] = (
    Form(
        "benchmark-dataset",
        "benchmark",
        "CANN ≤ 5.x (perf_{type}_batchsize_{bs}_device_{id}.txt or its console)",
        "[infer] throughputRate: 187.131, Interface throughputRate: 401.046, moduleLatency: 3.94051",
        "SEED_SPEC §3.1; MZ@8cfb3dcdf ACL_PyTorch/contrib/cv/segmentation/RefineNet/README.md:241",
    ),
    Form(
        "benchmark-pure",
        "benchmark",
        "CANN ≤ 5.x (PureInfer_perf_of_{om}_in_device_{id}.txt or its console)",
        "[INFO] ave_throughputRate: 157.113samples/s, ave_latency: 6.41437ms",
        "SEED_SPEC §3.1; MZ READMEs of DPN131, ResNet152, ICNet (tests)",
    ),
    Form(
        "ais-2022-05",
        "inference_tools (ais_infer's first release)",
        "Ascend/tools ec0fc1a, 2022-05-24",
        "[INFO] throughput (1000/NPU_compute_time/batchsize): 1.1325",
        "TOOLS@ec0fc1a ais-bench_workload/tool/inference_tools/frontend/summary.py:81",
    ),
    Form(
        "ais-2022-06",
        "ais_infer",
        "Ascend/tools e60cba3 … c368cd3, 2022-06-09 … 2022-07-18",
        "[INFO] throughput (1000*batchsize/NPU_compute_time): 289.95613988090815",
        "TOOLS@e60cba3 ais-bench_workload/tool/inference_tools/frontend/summary.py:81",
    ),
    Form(
        "ais-2022-09",
        "ais_infer",
        "Ascend/tools 63a74de … 4ce01e3, 2022-09-08 … 2022-11-29",
        "[INFO] throughput 1000*batchsize(64)/NPU_compute_time.mean(432.0568511962891): 148.1286544184991",
        "TOOLS@63a74de ais-bench_workload/tool/ais_infer/frontend/summary.py:84",
    ),
    Form(
        "ais-2023",
        "ais_bench / ait benchmark",
        "Ascend/tools 9d6da90 (2023-06) and ait's benchmark",
        "[INFO] throughput 1000*batchsize.mean(1)/NPU_compute_time.mean(2.4560000896453857): 407.16610891670894",
        "TOOLS@9d6da90 ais-bench_workload/tool/ais_bench/ais_bench/infer/summary.py:96",
    ),
    Form(
        "ais-multi-device",
        "ais_bench / ait benchmark",
        "--device 0,1,…: 2023-06 onwards",
        "[INFO] summary throughput:557.9376050278543",
        "TOOLS@9d6da90 ais-bench_workload/tool/ais_bench/ais_bench/infer/__main__.py:410-418",
    ),
    Form(
        "ais-sumary-json",
        "ais_infer",
        "≤ 2022-09: {output}/{date}/sumary.json",
        '{"filesinfo": {}, "args": [...], "NPU_compute_time": {"mean": …}, "throughput": …}',
        "TOOLS@63a74de ais-bench_workload/tool/ais_infer/frontend/summary.py:89",
    ),
    Form(
        "ais-summary-json",
        "ais_infer / ais_bench",
        "2022-11 onwards: {output}/{date}_summary.json",
        '{"filesinfo": {}, "args": [...], "NPU_compute_time": {"mean": …, "count": …}, "throughput": …, "pid": …}',
        "TOOLS@4ce01e3 ais-bench_workload/tool/ais_infer/ais_bench/infer/summary.py:95",
    ),
    Form(
        "trtexec-7.0",
        "trtexec",
        "TensorRT 7.0 (NGC 19.12)",
        "[I] throughput: 4640.2 qps",
        "TRT@19.12 samples/common/sampleReporting.cpp:117",
    ),
    Form(
        "trtexec-7.1",
        "trtexec",
        "TensorRT 7.1, 7.2",
        "[12/09/2021-15:37:06] [I] throughput: 0 qps",
        "TRT@7.1.3 samples/common/sampleReporting.cpp:176",
    ),
    Form(
        "trtexec-8",
        "trtexec",
        "TensorRT 8.0 … 8.6",
        "[05/17/2022-15:33:49] [I] Throughput: 231.086 qps",
        "TRT@8.5.3 samples/common/sampleReporting.cpp:227",
    ),
    Form(
        "trtexec-10",
        "trtexec",
        "TensorRT 10.x",
        "[10/15/2024-03:18:08] [I] Throughput: 1211.26 qps",
        "TRT@v10.13.3 samples/common/sampleReporting.cpp:265",
    ),
    Form(
        "trtexec-ait",
        "ais_bench / ait benchmark --backend trtexec",
        "2023-05 onwards",
        "[INFO] [05/27/2023-12:05:31] [I] Throughput: 120.699 qps",
        "AIT ait/components/benchmark/ais_bench/infer/backends/backend_trtexec.py:142-152",
    ),
)
FORM = {f.key: f for f in FORMS}

_NAME_BATCH = (
    re.compile(r"batch[_-]?size[_-]?(\d+)", re.I),
    re.compile(r"(?<![a-z])bs[_-]?(\d+)", re.I),
    re.compile(r"batch[_-]?(\d+)", re.I),
    re.compile(r"(?<![a-z0-9])b(\d+)(?![a-z0-9])", re.I),
)
_ARGS = (
    re.compile(r"-{1,2}batch[_-]?size[= ]+(\d+)", re.I),  # ais_infer / ais_bench / ait; benchmark's -batch_size=N
    re.compile(r"--dym[_-]?batch[= ]+(\d+)", re.I),
    re.compile(r"--(?:shapes|optShapes)=[^:\s]+:(\d+)(?:x\d+)*"),  # trtexec, explicit batch
    re.compile(r"Input inference shape\s*:\s*[^=\s]+=(\d+)(?:x\d+)*"),  # trtexec's echo of --shapes
    re.compile(r"--batch=(\d+)"),  # trtexec, implicit batch
    re.compile(r"try get model batchsize:\s*(\d+)"),  # ais_bench reads it from the om
)
_OM = re.compile(r"[\w./-]+\.om\b")
TRT_IMPLICIT = re.compile(r"--batch=(\d+)|\[I\] Batch: (\d+)\s*$")


def _strip_models(name: str) -> str:
    """The name without any registry model's own name in it (``efficientnet_b0`` is not batch 0)."""
    from zoobench.models import list_specs

    out = name
    for spec in sorted(list_specs(), key=lambda s: -len(s.name)):
        for variant in {spec.name, spec.name.replace("_", "-"), spec.name.replace("_", ".")}:
            out = re.sub(re.escape(variant), "", out, flags=re.I)
    return out


def batch_in_name(name: str) -> int | None:
    """``bs16``, ``batchsize_16``, ``batch16``, ``_b16`` in a file or om name; None when it has none."""
    text = _strip_models(name)
    for pattern in _NAME_BATCH:
        for m in pattern.finditer(text):
            if int(m.group(1)) > 0:
                return int(m.group(1))
    return None


def batch_in_args(lines: list[str]) -> tuple[int, int, str] | None:
    """(batch, line number, argument) from the first argument of ``_ARGS`` the log echoes, else an om it names."""
    for pattern in _ARGS:
        for no, text in enumerate(lines, start=1):
            if (m := pattern.search(text)) and int(m.group(1)) > 0:
                return int(m.group(1)), no, m.group(0).strip()
    for no, text in enumerate(lines, start=1):
        for om in _OM.findall(text):
            if bs := batch_in_name(Path(om).name):
                return bs, no, om
    return None


def resolve_batch(
    path: Path, lines: list[str], on_line: int | None = None, recorded: int | None = None
) -> tuple[int, str]:
    """(batch size, where it came from), in the module docstring's order; one line when nothing says it."""
    if on_line:
        return on_line, "the line"
    if bs := batch_in_name(path.name):
        return bs, "the file name"
    if found := batch_in_args(lines):
        bs, no, arg = found
        return bs, f"'{arg}' at line {no}"
    if recorded:
        return recorded, "the summary JSON"
    stem, dot, ext = path.name.partition(".")
    raise DataError(
        f"{path}: no batch size in its lines, its name or an argument it echoes; "
        f"name the file with its batch, e.g. {stem}_bs16{dot}{ext}"
    )


def batch_number(text: str, path: Path) -> int:
    """A batch printed in a line (``batchsize.mean(16)``, ``16.0``): one whole number, else one line."""
    value = float(text)
    if value <= 0 or value != int(value):
        raise DataError(f"{path}: the log's batch size {text} is not one whole batch (a dynamic-shape mean?)")
    return int(value)


def closest_form(lines: list[str]) -> tuple[Form, float]:
    """The known form most like any of these lines, and how alike (0..1), to name an unreadable file's near miss."""
    best, score = FORMS[0], 0.0
    sample = [t.strip()[:200] for t in lines[:300] if t.strip()]
    for form in FORMS:
        matcher = difflib.SequenceMatcher(None, b="")
        matcher.set_seq2(form.sample)
        for text in sample:
            matcher.set_seq1(text)
            if matcher.real_quick_ratio() > score and matcher.quick_ratio() > score and (r := matcher.ratio()) > score:
                best, score = form, r
    return best, score
