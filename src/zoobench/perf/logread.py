"""Reading one perf log of the seeds' tools into one figure, in each form of :mod:`zoobench.perf.logforms`.

A figure is ``{"batch_size", "throughput_img_s", "source": {tool, form, file, line, text, batch_from, …}}``:
the line it was read from, and where its batch size came from.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from zoobench.errors import DataError
from zoobench.perf.logforms import NUM, TRT_IMPLICIT, batch_in_name, batch_number, resolve_batch
from zoobench.perf.results import CellResult

Hit = tuple[int, str, re.Match[str]]

BENCH_FILE = re.compile(r"perf_\w+_batchsize_(\d+)_device_(\d+)\.txt$")
PURE_FILE = re.compile(r"PureInfer_perf_of_(.+)_in_device_(\d+)\.txt$")
_INTERFACE = re.compile(rf"Interface throughputRate:\s*{NUM}")
_AVE = re.compile(rf"ave_throughputRate\s*[=:]\s*{NUM}")
_PURE_SAVED = re.compile(r"PureInfer_perf_of_(\S+)_in_device_\d+\.txt")
_AIS_2023 = re.compile(rf"throughput 1000\*batchsize(?:\.mean)?\({NUM}\)/NPU_compute_time\.mean\({NUM}\):\s*{NUM}")
_AIS_2022_06 = re.compile(rf"throughput \(1000\*batchsize/NPU_compute_time\):\s*{NUM}")
_AIS_2022_05 = re.compile(rf"throughput \(1000/NPU_compute_time/batchsize\):\s*{NUM}")
_NPU_MEAN = re.compile(rf"NPU_compute_time \(ms\):.*\bmean = {NUM}")
_AIS_SUM = re.compile(rf"summary throughput:\s*{NUM}")
_DYM_RANGE = re.compile(r"dyshape_range Performance Summary")
_AIS_DEVICE = re.compile(rf"i:\d+ device_\d+ throughput:\s*{NUM}")
_TRT_8 = re.compile(rf"\bThroughput:\s*{NUM}\s*qps")
_TRT_7 = re.compile(rf"\bthroughput:\s*{NUM}\s*qps")
_TRT_GPU = re.compile(r"\[I\] GPU Compute\s*$")
_TRT_MEAN = re.compile(rf"\[I\] mean:\s*{NUM}\s*ms")
TEXT_SUFFIXES = (".log", ".txt", ".out")


def figure(
    bs: int, tps: float, path: Path, hit: tuple[int, str, Any], tool: str, form: str, batch_from: str, **extra: Any
) -> CellResult:
    if not tps > 0:
        raise DataError(f"{path}: line {hit[0]}: a throughput of {tps:g} ({hit[1].strip()!r}); not a figure to compare")
    line = {"tool": tool, "form": form, "file": str(path), "line": hit[0], "text": hit[1].strip()}
    return CellResult(bs, tps, extra={"source": {**line, "batch_from": batch_from, **extra}})


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def find(lines: list[str], pattern: re.Pattern[str], last: bool = False, start: int = 0) -> Hit | None:
    hits = [(no, text, m) for no, text in enumerate(lines, start=1) if no > start and (m := pattern.search(text))]
    return (hits[-1] if last else hits[0]) if hits else None


def _per_device(bs: int, hit: Hit, path: Path, form: str, batch_from: str, per_card: int, **extra: Any) -> CellResult:
    """benchmark's per-device figure, × ``per_card`` (the guides' 310 rule: 4 devices a card)."""
    rate = float(hit[2].group(1))
    tool = "benchmark pure" if form == "benchmark-pure" else "benchmark"
    return figure(bs, rate * per_card, path, hit, tool, form, batch_from, per_device=rate, per_card=per_card, **extra)


def benchmark_file(path: Path, per_card: int) -> CellResult | None:
    """benchmark's result files: ``perf_*_batchsize_*_device_*.txt``, ``PureInfer_perf_of_*_in_device_*.txt``."""
    lines = read_lines(path)
    if m := BENCH_FILE.search(path.name):
        if not (hit := find(lines, _INTERFACE)):
            raise DataError(f"{path}: a benchmark perf file without its 'Interface throughputRate:' line")
        return _per_device(
            int(m.group(1)), hit, path, "benchmark-dataset", "the file name", per_card, device=int(m.group(2))
        )
    if m := PURE_FILE.search(path.name):
        if not (hit := find(lines, _AVE)):
            raise DataError(f"{path}: a benchmark PureInfer file without its 'ave_throughputRate' line")
        bs, where = resolve_batch(path, lines, batch_in_name(m.group(1)))
        return _per_device(
            bs,
            hit,
            path,
            "benchmark-pure",
            "the om name in the file name" if where == "the line" else where,
            per_card,
            device=int(m.group(2)),
        )
    return None


def ais_summary(path: Path) -> CellResult | None:
    """ais_infer's ``sumary.json`` (≤ 2022-09) and ``*_summary.json`` (2022-11 on): ``throughput``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable ais_bench summary ({exc})") from exc
    if not isinstance(data, dict) or "throughput" not in data:
        return None
    form = "ais-sumary-json" if path.name == "sumary.json" else "ais-summary-json"
    tps = float(data["throughput"])
    mean = float((data.get("NPU_compute_time") or {}).get("mean", 0) or 0)
    args = [" ".join(map(str, data.get("args") or []))]
    recorded = round(tps * mean / 1000) if mean else None
    bs, where = resolve_batch(path, args, None, recorded)
    where = where.replace(" at line 1", " in its args")
    hit = (1, f"throughput: {data['throughput']}", None)
    if mean and bs > 1 and abs(tps - 1000 / mean / bs) < abs(tps - 1000 * bs / mean):
        # inference_tools 2022-05 recorded 1000/mean/bs: the figure for bs is 1000*bs/mean
        return figure(
            bs,
            1000 * bs / mean,
            path,
            hit,
            "ais_infer summary",
            "ais-sumary-json",
            where,
            npu_compute_time_ms=mean,
            printed=tps,
            note="recorded as 1000/mean/bs (2022-05)",
        )
    return figure(bs, tps, path, hit, "ais_bench summary", form, where, npu_compute_time_ms=mean)


def console_log(path: Path, per_card: int) -> CellResult | None:
    """A saved console of ais_infer / ais_bench, benchmark or trtexec; None when it has none of their lines."""
    lines = read_lines(path)
    for read in (_ais, _benchmark_console, _trtexec):
        if (fig := read(path, lines, per_card)) is not None:
            return fig
    return None


def _ais(path: Path, lines: list[str], per_card: int) -> CellResult | None:
    if found := find(lines, _DYM_RANGE):  # TOOLS@9d6da90 ais_bench/infer/miscellaneous.py:152
        raise DataError(
            f"{path}: line {found[0]}: an ais_bench --dymShape_range log (one figure per shape, no one "
            "batch size); save each shape's run as its own log"
        )
    if total := find(lines, _AIS_SUM, last=True):  # --device 0,1,…: the devices' figures summed
        per_device = find(lines, _AIS_2023)
        bs, where = resolve_batch(path, lines, batch_number(per_device[2].group(1), path) if per_device else None)
        devices = sum(1 for t in lines if _AIS_DEVICE.search(t))
        return figure(
            bs,
            float(total[2].group(1)),
            path,
            total,
            "ais_bench",
            "ais-multi-device",
            where,
            devices=devices or "summed",
        )
    if hit := find(lines, _AIS_2023):
        form = "ais-2023" if ".mean(" in hit[1].split("/")[0] else "ais-2022-09"
        bs, tps = batch_number(hit[2].group(1), path), float(hit[2].group(3))
        formula = 1000 * float(hit[2].group(1)) / float(hit[2].group(2))  # what the tool computed and printed
        odd = {"note": f"the line's own formula gives {formula:.6g}"} if abs(tps - formula) > 0.01 * formula else {}
        return figure(bs, tps, path, hit, "ais_bench", form, "the line", **odd)
    if hit := find(lines, _AIS_2022_06):
        bs, where = resolve_batch(path, lines)
        return figure(bs, float(hit[2].group(1)), path, hit, "ais_infer", "ais-2022-06", where)
    if hit := find(lines, _AIS_2022_05):  # printed 1000/mean/bs: recomputed from the mean and the batch
        bs, where = resolve_batch(path, lines)
        if not (mean := find(lines, _NPU_MEAN)):
            raise DataError(f"{path}: an ais_infer 2022-05 log without its 'NPU_compute_time (ms): … mean =' line")
        ms = float(mean[2].group(1))
        return figure(
            bs,
            1000 * bs / ms,
            path,
            mean,
            "ais_infer",
            "ais-2022-05",
            where,
            printed=float(hit[2].group(1)),
            note="1000*bs/NPU_compute_time.mean (the release printed 1000/mean/bs)",
        )
    return None


def _benchmark_console(path: Path, lines: list[str], per_card: int) -> CellResult | None:
    if ave := find(lines, _AVE):
        saved = find(lines, _PURE_SAVED)
        on_line = batch_in_name(saved[2].group(1)) if saved else None
        bs, where = resolve_batch(path, lines, on_line)
        where = f"the om name at line {saved[0]}" if saved and on_line else where
        return _per_device(bs, ave, path, "benchmark-pure", where, per_card)
    if infer := find(lines, _INTERFACE):
        bs, where = resolve_batch(path, lines)
        return _per_device(bs, infer, path, "benchmark-dataset", where, per_card)
    return None


def _trtexec(path: Path, lines: list[str], per_card: int) -> CellResult | None:
    """trtexec: ``Throughput: Q qps`` (8.x, 10.x) or ``throughput: Q qps`` (7.x). Q counts executions with an
    explicit batch (× the batch for images/s) and images with an implicit one (``--batch=N``); TensorRT 7.1/7.2
    print 0 for an explicit batch, where the guides' rule 1000 × batch / GPU Compute mean is used."""
    if hit := find(lines, _TRT_8, last=True):
        form = "trtexec-ait" if hit[1].lstrip().startswith("[INFO] [") else "trtexec-8"
        form = "trtexec-10" if any("[TensorRT v1" in t for t in lines[:50]) and form == "trtexec-8" else form
    elif hit := find(lines, _TRT_7):  # 7.0 prints a host and a GPU throughput: the first is the host's
        form = "trtexec-7.1" if any("Enqueue Time" in t or "total compute time" in t for t in lines) else "trtexec-7.0"
    else:
        return None
    bs, where = resolve_batch(path, lines)
    qps = float(hit[2].group(1))
    implicit = any(TRT_IMPLICIT.search(t) for t in lines) or (form.startswith("trtexec-7") and qps > 0)
    if implicit:
        return figure(bs, qps, path, hit, "trtexec", form, where, qps=qps, batch="implicit: qps counts images")
    if qps == 0 and (gpu := find(lines, _TRT_GPU, start=hit[0])) and (mean := find(lines, _TRT_MEAN, start=gpu[0])):
        ms = float(mean[2].group(1))
        return figure(
            bs,
            1000 * bs / ms,
            path,
            mean,
            "trtexec",
            form,
            where,
            printed=hit[1].strip(),
            note="1000*bs/GPU Compute mean (this release printed 0 qps for an explicit batch)",
        )
    return figure(bs, qps * bs, path, hit, "trtexec", form, where, qps=qps)
