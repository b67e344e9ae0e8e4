"""Perf logs of the seeds' tools as runs: a folder of ``benchmark`` / ``ais_infer`` / ``ais_bench`` / ``trtexec``
output becomes perf.json-shaped columns that ``compare`` (and ``report``) put beside zoobench's own.

Every form read, per tool and release, with its source and its test: docs/perflogs.md
(:mod:`zoobench.perf.logforms` lists them and finds a log's batch size; :mod:`zoobench.perf.logread` reads them).
benchmark's figures are per device (× ``per_card`` for the guides' 310-card rule, 4 devices a card).

Every figure records the file and line it was read from, and where its batch size came from. In a folder, a file
that is not a perf log, or a log refused (no batch size, no figure line), is named in one line (with the closest
known form) and the rest of the folder is still read; a folder with no readable log at all is one clear line.
When two logs give the same batch size, the first by name is the table's; the others are listed with their lines.

The model: ``model`` when given (``--model``); else the registry name found in the file names or in the om /
onnx paths the logs mention; else in the folder's name; else ``*``, which stands for any model.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from zoobench.errors import DataError
from zoobench.perf.logforms import closest_form
from zoobench.perf.logread import TEXT_SUFFIXES, ais_summary, benchmark_file, console_log, read_lines

_MODEL_FILE = re.compile(r"[\w./-]+\.(?:om|onnx)\b|PureInfer_perf_of_\S+")  # what the logs ran
_SHOWN = 10  # unreadable files compared with the known forms; the rest are only named


def parse_log(path: Path, per_card: int = 1) -> dict[str, Any] | None:
    """One figure from one file, or None when the file is not a perf log; one line when it is one zoobench
    cannot use (no batch size, no figure line)."""
    fig = benchmark_file(path, per_card)
    if fig is None and (path.name.endswith("summary.json") or path.name == "sumary.json"):
        fig = ais_summary(path)
    elif fig is None and path.suffix.lower() in TEXT_SUFFIXES:
        fig = console_log(path, per_card)
    return None if fig is None else fig.to_dict()  # as perf.json holds a cell, with its ``source``


def _unread(path: Path) -> str:
    """Why a file is not read, with the known form its lines come closest to."""
    try:
        head = path.read_bytes()[:200_000]
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if b"\0" in head[:4096]:
        return "not a perf log (binary)"
    form, score = closest_form(head.decode("utf-8", errors="replace").splitlines())
    closest = f"closest: {form.tool} {form.key} ({score:.0%} alike: {form.sample!r})"
    if path.suffix.lower() not in (*TEXT_SUFFIXES, ".json"):
        return f"only .log/.txt/.out/.json files are read; {closest}"
    return f"no known perf log form; {closest}"


def read_folder(root: Path, per_card: int) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """(the figures, one note per file not read) of a folder's files."""
    figures: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for p in sorted(x for x in root.iterdir() if x.is_file()):
        try:
            fig = parse_log(p, per_card)
        except DataError as exc:
            skipped.append({"file": p.name, "why": str(exc).removeprefix(f"{p}: "), "refused": "yes"})
            continue
        if fig is not None:
            figures.append(fig)
        elif len(skipped) < _SHOWN:
            skipped.append({"file": p.name, "why": _unread(p)})
        else:
            skipped.append({"file": p.name, "why": "no known perf log form (not compared past the first ten)"})
    return figures, skipped


def load_log_folder(
    folder: str | Path, per_card: int = 1, model: str | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """model -> {"logs": perf.json-shaped dict} from a folder of perf logs (``skipped``: one note per file not
    read; ``also``: figures of a batch size an earlier file gave); one line when no file is a readable log."""
    root = Path(folder)
    figures, skipped = read_folder(root, per_card)
    if not figures:
        refused = next((s for s in skipped if s.get("refused")), None)
        if refused:  # the one reason a perf log was not read says more than "nothing here"
            raise DataError(f"{root / refused['file']}: {refused['why']}")
        names = ", ".join(p.name for p in sorted(root.iterdir())[:5]) or "empty"
        raise DataError(
            f"{folder}: no zoobench run, perf.json or known perf log here ({names}); known logs: benchmark "
            "perf_vision_batchsize_*_device_*.txt and PureInfer_perf_of_*_in_device_*.txt, ais_infer / ais_bench / "
            "benchmark / trtexec console logs (.log/.txt/.out), ais_bench *_summary.json (see docs/perflogs.md)"
        )
    by_bs: dict[int, dict[str, Any]] = {}
    also = []
    for f in figures:
        first = by_bs.setdefault(f["batch_size"], f)  # the first file (by name) for a batch size
        if first is not f:
            first["source"].setdefault("not_used", []).append(Path(f["source"]["file"]).name)
            also.append(f)
    tools = sorted({f["source"]["tool"] for f in figures})
    name = model or _model_of(root, figures)
    perf = {
        "model": name,
        "runtime": {"runtime": "logs", "precision": ", ".join(tools)},
        "results": [by_bs[b] for b in sorted(by_bs)],
        "also": also,
        "skipped": skipped,
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
        mentioned = " ".join(_MODEL_FILE.findall("\n".join(read_lines(path)[:400])))
        found |= _models_in(path.name, names) | _models_in(mentioned, names)
    if len(found) > 1:
        raise DataError(f"{root}: logs of several models ({', '.join(sorted(found))}); one folder per model")
    return found.pop() if found else next(iter(_models_in(root.name, names)), "*")
