"""Perf logs of the seeds' tools as runs: a folder of ``benchmark`` / ``ais_bench`` / ``trtexec`` output becomes
perf.json-shaped columns that ``compare`` (and ``report``) put beside zoobench's own.

Read, per file (SEED_SPEC §3):
- ``perf_vision_batchsize_{bs}_device_{id}.txt`` (benchmark, dataset mode): the ``[infer]`` line's
  ``Interface throughputRate`` (per device; × ``per_card`` for the guides' 310-card rule, 4 devices a card);
- ``PureInfer_perf_of_{om}_in_device_{id}.txt`` (benchmark, pure inference): ``ave_throughputRate``, the batch
  from the om name's ``bs{N}``;
- a saved ais_bench console log: ``throughput 1000*batchsize…(B)/NPU_compute_time…: T``, or the multi-device
  ``summary throughput:T``;
- ais_bench's ``*_summary.json``: ``throughput``; the batch is ``throughput × NPU_compute_time.mean / 1000``;
- a trtexec log: ``Throughput: Q qps`` × the batch of its ``--shapes``.

Every figure records the file and line it was read from. A file of none of these formats is one clear line.
The model is the registry name found in the folder's name or in the om names, else ``*`` (matches any model).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from zoobench.errors import DataError

_BENCH = re.compile(r"perf_\w+_batchsize_(\d+)_device_(\d+)\.txt$")
_PURE = re.compile(r"PureInfer_perf_of_(.+)_in_device_(\d+)\.txt$")
_INTERFACE = re.compile(r"Interface throughputRate:\s*([\d.]+)")
_AVE = re.compile(r"ave_throughputRate\s*[=:]\s*([\d.]+)")
_AIS = re.compile(r"throughput 1000\*batchsize(?:\.mean)?\((\d+)\)/NPU_compute_time\.mean\([\d.]+\):\s*([\d.]+)")
_AIS_SUM = re.compile(r"summary throughput:\s*([\d.]+)")
_TRT = re.compile(r"Throughput:\s*([\d.]+)\s*qps")
_SHAPES = re.compile(r"--shapes=\S*?:(\d+)x\d+x\d+x\d+")
_BS = re.compile(r"bs_?(\d+)", re.I)


def _figure(bs: int, tps: float, path: Path, line_no: int, text: str, tool: str, **extra: Any) -> dict[str, Any]:
    return {"batch_size": bs, "throughput_img_s": tps, "source": {"tool": tool, "file": str(path),
            "line": line_no, "text": text.strip(), **extra}}  # fmt: skip


def _find(path: Path, pattern: re.Pattern[str]) -> tuple[int, str, re.Match[str]] | None:
    for no, text in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        m = pattern.search(text)
        if m:
            return no, text, m
    return None


def _batch_from_name(name: str, path: Path) -> int:
    m = _BS.search(name)
    if not m:
        raise DataError(f"{path}: no batch size in the name {name!r} (expected ..._bs<N>...)")
    return int(m.group(1))


def parse_log(path: Path, per_card: int = 1) -> dict[str, Any] | None:
    """One figure from one file, or None when the file is not a perf log (see the module docstring)."""
    if (m := _BENCH.search(path.name)) and (hit := _find(path, _INTERFACE)):
        no, text, found = hit
        per_device = float(found.group(1))
        return _figure(int(m.group(1)), per_device * per_card, path, no, text, "benchmark",
                       per_device=per_device, per_card=per_card, device=int(m.group(2)))  # fmt: skip
    if (m := _PURE.search(path.name)) and (hit := _find(path, _AVE)):
        no, text, found = hit
        return _figure(_batch_from_name(m.group(1), path), float(found.group(1)), path, no, text, "benchmark pure")
    if path.suffix == ".json" and path.name.endswith("summary.json"):
        return _ais_summary(path)
    if path.suffix in (".log", ".txt"):
        return _console_log(path)
    return None


def _ais_summary(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable ais_bench summary ({exc})") from exc
    if not isinstance(data, dict) or "throughput" not in data:
        return None
    mean = float((data.get("NPU_compute_time") or {}).get("mean", 0) or 0)
    bs = round(float(data["throughput"]) * mean / 1000) if mean else _batch_from_name(path.name, path)
    return _figure(bs, float(data["throughput"]), path, 1, f"throughput: {data['throughput']}", "ais_bench summary",
                   npu_compute_time_ms=mean)  # fmt: skip


def _console_log(path: Path) -> dict[str, Any] | None:
    ais = _find(path, _AIS)
    total = _find(path, _AIS_SUM)
    if total and ais:
        no, text, found = total
        return _figure(int(ais[2].group(1)), float(found.group(1)), path, no, text, "ais_bench", devices="summed")
    if ais:
        no, text, found = ais
        return _figure(int(found.group(1)), float(found.group(2)), path, no, text, "ais_bench")
    trt = _find(path, _TRT)
    if trt:
        no, text, found = trt
        shapes = _find(path, _SHAPES)
        bs = int(shapes[2].group(1)) if shapes else _batch_from_name(path.name, path)
        return _figure(bs, float(found.group(1)) * bs, path, no, text, "trtexec", qps=float(found.group(1)))
    return None


def load_log_folder(folder: str | Path, per_card: int = 1) -> dict[str, dict[str, dict[str, Any]]]:
    """model -> {"logs": perf.json-shaped dict} from a folder of perf logs; one line when nothing is a perf log."""
    root = Path(folder)
    figures = [f for p in sorted(root.iterdir()) if p.is_file() and (f := parse_log(p, per_card)) is not None]
    if not figures:
        names = ", ".join(p.name for p in sorted(root.iterdir())[:5]) or "empty"
        raise DataError(
            f"{folder}: no zoobench run, perf.json or known perf log here ({names}); known logs: benchmark "
            "perf_vision_batchsize_*_device_*.txt and PureInfer_perf_of_*_in_device_*.txt, ais_bench console "
            "logs and *_summary.json, trtexec logs"
        )
    by_bs: dict[int, dict[str, Any]] = {}
    for f in figures:
        by_bs.setdefault(f["batch_size"], f)  # the first file (by name) for a batch size
    tools = sorted({f["source"]["tool"] for f in figures})
    model = _model_of(root, figures)
    perf = {
        "model": model,
        "runtime": {"runtime": "logs", "precision": ", ".join(tools)},
        "results": [by_bs[b] for b in sorted(by_bs)],
        "environment": {"cpu": f"perf logs in {root.name}", "versions": {}},
        "imported": True,
    }
    return {model: {"logs": perf}}


def _model_of(root: Path, figures: list[dict[str, Any]]) -> str:
    from zoobench.models import list_specs

    names = sorted((s.name for s in list_specs()), key=len, reverse=True)
    haystack = [root.name] + [Path(f["source"]["file"]).name for f in figures]
    for name in names:
        if any(name.replace("_", "").lower() in h.replace("_", "").lower() for h in haystack):
            return name
    return "*"
