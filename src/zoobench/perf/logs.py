"""Perf logs of the seeds' tools as runs: a folder of ``benchmark`` / ``ais_bench`` / ``trtexec`` output becomes
perf.json-shaped columns that ``compare`` (and ``report``) put beside zoobench's own.

Read, per file (SEED_SPEC §3):
- ``perf_vision_batchsize_{bs}_device_{id}.txt`` (benchmark, dataset mode): the ``[infer]`` line's
  ``Interface throughputRate`` (per device; × ``per_card`` for the guides' 310-card rule, 4 devices a card);
- ``PureInfer_perf_of_{om}_in_device_{id}.txt`` (benchmark, pure inference): ``ave_throughputRate`` (per
  device, × ``per_card`` too), the batch from the om name's ``bs{N}``;
- a saved ais_bench console log: ``throughput 1000*batchsize…(B)/NPU_compute_time…: T``, or the multi-device
  ``summary throughput:T`` (already summed over the devices);
- a saved benchmark console log: its ``ave_throughputRate`` (pure inference; the batch from the om name in
  ``PureInfer result saved in …``) or its ``Interface throughputRate`` (the batch from the log's file name);
- ais_bench's ``*_summary.json``: ``throughput``; the batch from its ``args`` (``--batchsize``), else
  ``throughput × NPU_compute_time.mean / 1000``;
- a trtexec log: ``Throughput: Q qps`` × the batch of its ``--shapes`` (else of the file name).

Every figure records the file and line it was read from. A file named as a benchmark perf file but without its
line, or a folder with no perf log at all, is one clear line; other files (dumps, notes) are left alone.

The model: ``model`` when given (``--model``); else the registry name found in the file names or in the om /
onnx paths the logs mention; else in the folder's name; else ``*``, which stands for any model.
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
_PURE_SAVED = re.compile(r"PureInfer_perf_of_(\S+)_in_device_\d+\.txt")
_AIS = re.compile(r"throughput 1000\*batchsize(?:\.mean)?\((\d+)\)/NPU_compute_time\.mean\([\d.]+\):\s*([\d.]+)")
_AIS_SUM = re.compile(r"summary throughput:\s*([\d.]+)")
_TRT = re.compile(r"Throughput:\s*([\d.]+)\s*qps")
_SHAPES = re.compile(r"(?:--shapes=|[Ss]hapes?:\s*)\S*?[:=](\d+)x\d+x\d+x\d+")
_BS = re.compile(r"bs_?(\d+)", re.I)
_MODEL_FILE = re.compile(r"[\w./-]+\.(?:om|onnx)\b|PureInfer_perf_of_\S+")  # what the logs ran


def _figure(bs: int, tps: float, path: Path, line_no: int, text: str, tool: str, **extra: Any) -> dict[str, Any]:
    return {"batch_size": bs, "throughput_img_s": tps, "source": {"tool": tool, "file": str(path),
            "line": line_no, "text": text.strip(), **extra}}  # fmt: skip


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def _find(path: Path, pattern: re.Pattern[str], last: bool = False) -> tuple[int, str, re.Match[str]] | None:
    hits = [(no, text, m) for no, text in enumerate(_lines(path), start=1) if (m := pattern.search(text))]
    return (hits[-1] if last else hits[0]) if hits else None


def _batch_from_name(name: str, path: Path) -> int:
    m = _BS.search(name)
    if not m:
        raise DataError(f"{path}: no batch size in the log or in the name {name!r} (expected ..._bs<N>...)")
    return int(m.group(1))


def _per_device(
    bs: int, rate: float, path: Path, hit: tuple[int, str, Any], tool: str, per_card: int, **extra: Any
) -> dict[str, Any]:
    """benchmark's per-device figure, × ``per_card`` (the guides' 310 rule: 4 devices a card)."""
    no, text, _ = hit
    return _figure(bs, rate * per_card, path, no, text, tool, per_device=rate, per_card=per_card, **extra)


def parse_log(path: Path, per_card: int = 1) -> dict[str, Any] | None:
    """One figure from one file, or None when the file is not a perf log (see the module docstring)."""
    if m := _BENCH.search(path.name):
        if not (hit := _find(path, _INTERFACE)):
            raise DataError(f"{path}: a benchmark perf file without its 'Interface throughputRate:' line")
        return _per_device(int(m.group(1)), float(hit[2].group(1)), path, hit, "benchmark", per_card,
                           device=int(m.group(2)))  # fmt: skip
    if m := _PURE.search(path.name):
        if not (hit := _find(path, _AVE)):
            raise DataError(f"{path}: a benchmark PureInfer file without its 'ave_throughputRate' line")
        bs = _batch_from_name(m.group(1), path)
        return _per_device(bs, float(hit[2].group(1)), path, hit, "benchmark pure", per_card, device=int(m.group(2)))
    if path.name.endswith("summary.json"):
        return _ais_summary(path)
    if path.suffix in (".log", ".txt", ".out"):
        return _console_log(path, per_card)
    return None


def _ais_summary(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable ais_bench summary ({exc})") from exc
    if not isinstance(data, dict) or "throughput" not in data:
        return None
    mean = float((data.get("NPU_compute_time") or {}).get("mean", 0) or 0)
    args = " ".join(map(str, data.get("args") or []))
    found = re.search(r"--batchsize[= ](\d+)", args)
    if found:
        bs = int(found.group(1))
    else:
        bs = round(float(data["throughput"]) * mean / 1000) if mean else _batch_from_name(path.name, path)
    return _figure(bs, float(data["throughput"]), path, 1, f"throughput: {data['throughput']}", "ais_bench summary",
                   npu_compute_time_ms=mean)  # fmt: skip


def _console_log(path: Path, per_card: int) -> dict[str, Any] | None:
    if ais := _find(path, _AIS):
        if total := _find(path, _AIS_SUM, last=True):
            no, text, found = total
            return _figure(int(ais[2].group(1)), float(found.group(1)), path, no, text, "ais_bench", devices="summed")
        no, text, found = ais
        return _figure(int(found.group(1)), float(found.group(2)), path, no, text, "ais_bench")
    if ave := _find(path, _AVE):
        saved = _find(path, _PURE_SAVED)
        bs = _batch_from_name(saved[2].group(1) if saved else path.name, path)
        return _per_device(bs, float(ave[2].group(1)), path, ave, "benchmark pure", per_card)
    if infer := _find(path, _INTERFACE):
        bs = _batch_from_name(path.name, path)
        return _per_device(bs, float(infer[2].group(1)), path, infer, "benchmark", per_card)
    if trt := _find(path, _TRT, last=True):
        no, text, found = trt
        shapes = _find(path, _SHAPES)
        bs = int(shapes[2].group(1)) if shapes else _batch_from_name(path.name, path)
        return _figure(bs, float(found.group(1)) * bs, path, no, text, "trtexec", qps=float(found.group(1)))
    return None


def load_log_folder(
    folder: str | Path, per_card: int = 1, model: str | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """model -> {"logs": perf.json-shaped dict} from a folder of perf logs; one line when nothing is a perf log."""
    root = Path(folder)
    figures = [f for p in sorted(root.iterdir()) if p.is_file() and (f := parse_log(p, per_card)) is not None]
    if not figures:
        names = ", ".join(p.name for p in sorted(root.iterdir())[:5]) or "empty"
        raise DataError(
            f"{folder}: no zoobench run, perf.json or known perf log here ({names}); known logs: benchmark "
            "perf_vision_batchsize_*_device_*.txt and PureInfer_perf_of_*_in_device_*.txt, ais_bench or benchmark "
            "console logs (.log/.txt), ais_bench *_summary.json, trtexec logs"
        )
    by_bs: dict[int, dict[str, Any]] = {}
    for f in figures:
        first = by_bs.setdefault(f["batch_size"], f)  # the first file (by name) for a batch size
        if first is not f:
            first["source"].setdefault("not_used", []).append(Path(f["source"]["file"]).name)
    tools = sorted({f["source"]["tool"] for f in figures})
    name = model or _model_of(root, figures)
    perf = {
        "model": name,
        "runtime": {"runtime": "logs", "precision": ", ".join(tools)},
        "results": [by_bs[b] for b in sorted(by_bs)],
        "environment": {"cpu": f"perf logs in {root.name}, not measured by zoobench", "versions": {}},
        "imported": True,
    }
    return {name: {"logs": perf}}


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())  # mnasnet1.0 == mnasnet1_0


def _models_in(text: str, names: list[str]) -> set[str]:
    hay = _norm(text)
    found = [n for n in names if _norm(n) in hay]
    return {n for n in found if not any(n != o and _norm(n) in _norm(o) for o in found)}  # the longest name


def _model_of(root: Path, figures: list[dict[str, Any]]) -> str:
    """The registry model the logs are of: file names and the om/onnx paths in them, else the folder name."""
    from zoobench.models import list_specs

    names = [s.name for s in list_specs()]
    found: set[str] = set()
    for f in figures:
        path = Path(f["source"]["file"])
        mentioned = " ".join(_MODEL_FILE.findall("\n".join(_lines(path)[:400])))
        found |= _models_in(path.name, names) | _models_in(mentioned, names)
    if len(found) > 1:
        raise DataError(f"{root}: logs of several models ({', '.join(sorted(found))}); one folder per model")
    return found.pop() if found else next(iter(_models_in(root.name, names)), "*")
