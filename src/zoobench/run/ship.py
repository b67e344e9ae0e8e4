"""The engine to ship: ``RUNDIR/<model>/ship/``, made from the report's recommendation (``report/accuracy.py``).

When a column is recommended (or fp32 itself), ``ship/`` holds that column's scored engine — the very file its
accuracy was measured on, hard-linked from ``engine/`` (copied across filesystems), with OpenVINO's ``.bin`` and
zoobench's ``.zoobench.json`` sidecar where it has them — its ``card.json`` (what it is, how accurate, how fast,
where measured) and ``predict.py``, the loading snippet of :mod:`zoobench.run.snippets`. When nothing is decided,
nothing ships: ``ship/`` is removed and the run says what would decide. ``ship/`` is rebuilt beside itself and
swapped in by renames, so a rerun whose recommendation changed leaves nothing stale (a crash between the two
renames leaves no ``ship/``, never a mix; the next run clears the leftovers).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from zoobench.engines.recipe import EngineFileRecord
from zoobench.errors import ZoobenchError
from zoobench.evaluate.record import AccuracyRecord
from zoobench.io import file_digest, write_json, write_text
from zoobench.report.accuracy import REFERENCE, Column, Recommendation, load_columns, recommend
from zoobench.run.snippets import LOADER, describe_preprocess, snippet

SHIP, CARD, SCRIPT = "ship", "card.json", "predict.py"
TORCH_NOTE = (
    "the ONNX the torch column was built from (zoobench rebuilt it in torch from its weights); "
    "load it with ONNX Runtime"
)


@dataclass(frozen=True)
class EngineFile:
    """A column's scored engine: where it lies now, its path relative to the model's run folder, its digest,
    size and input type (``uint8``: the N×3×H×W crop, normalized inside; ``float32``: normalized outside)."""

    path: Path
    file: str
    sha256: str
    bytes: int
    input: str

    def record(self) -> EngineFileRecord:
        return {"file": self.file, "sha256": self.sha256, "bytes": self.bytes, "input": self.input}


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _infer_dir(mdir: Path, col: str) -> Path:
    return mdir / "infer" if col == REFERENCE else mdir / "infer" / col


def _recorded(mdir: Path, rec: dict[str, Any] | None) -> EngineFile | None:
    e = (rec or {}).get("engine")
    if not isinstance(e, dict) or not e.get("sha256"):
        return None
    return EngineFile(mdir / e["file"], str(e["file"]), str(e["sha256"]), int(e["bytes"]), str(e["input"]))


def scored_engine(mdir: Path, col: str) -> EngineFile:
    """The engine ``col`` was scored with: the ``engine`` record of its accuracy.json (the one perf timed, by the
    same digest), else perf's.

    Raises:
        ZoobenchError: the engine is missing, or the file perf timed is not the file that was scored.
    """
    scored = _recorded(mdir, _read(_infer_dir(mdir, col) / "accuracy.json"))
    timed = _recorded(mdir, _read(mdir / "perf" / f"{col}.json"))
    if scored and timed and scored.sha256 != timed.sha256:
        raise ZoobenchError(f"{col}: perf timed {timed.file} but {scored.file} was scored; rerun to ship one file")
    found = scored or timed
    if found is None:
        raise ZoobenchError(f"{col}: no engine is recorded in its accuracy.json or perf record; rerun to ship it")
    if not found.path.is_file():
        raise ZoobenchError(f"{col}: its engine {found.file} is missing")
    return found


def companions(engine: Path) -> list[Path]:
    """The files that travel with an engine: OpenVINO's weights beside an ``.xml``, zoobench's sidecar."""
    out = [engine.with_suffix(".bin")] if engine.suffix.lower() == ".xml" else []
    out.append(engine.with_name(f"{engine.stem}.zoobench.json"))
    return [p for p in out if p.is_file()]


class _Interval(TypedDict):
    pct: float
    ci95: list[float]


class _Throughput(TypedDict):
    img_s: float | None
    batch_size: int | None
    speedup_vs_fp32: float | None
    timed: str
    timed_engine_sha256: str | None
    machine: object


class ShipCard(TypedDict):
    """``ship/card.json``: the shipped engine, how to feed it, how accurate and fast it is."""

    model: str
    recommendation: dict[str, Any]
    engine: dict[str, Any]
    weights: Any
    preprocessing: dict[str, Any]
    labels: dict[str, str] | None
    accuracy: dict[str, Any]
    vs_fp32: dict[str, Any]
    throughput: _Throughput
    zoobench_version: str
    snippet: dict[str, str]


def _interval(pct: float | None, n: int) -> _Interval | None:
    from zoobench.evaluate.paired import wilson

    if pct is None or not n:
        return None
    lo, hi = wilson(round(pct * n / 100), n)
    return {"pct": round(float(pct), 4), "ci95": [round(100 * lo, 2), round(100 * hi, 2)]}


def _vs_fp32(col: Column) -> dict[str, Any]:
    if col.name == REFERENCE:
        return {"verdict": "reference", "delta_top1_points": 0.0, "note": "fp32 itself: no faster engine is within"}
    p = col.paired
    out = {k: p.get(k) for k in ("verdict", "max_drop", "max_drop_points", "count", "top1_agreement_pct")}
    for k in ("top1", "top5"):
        if p.get(k):
            out[f"delta_{k}_points"], out[f"{k}_ci95_points"] = p[k]["delta_points"], p[k]["ci95_points"]
    out["reason"] = p.get("verdict_reason")
    return out


def _throughput(mdir: Path, col: Column, rec: Recommendation) -> _Throughput:
    perf = _read(mdir / "perf" / f"{col.name}.json") or {}
    timed = _recorded(mdir, perf)  # the file perf timed, where its record says (the shipped one: same sha256)
    return {
        "img_s": col.img_s,
        "batch_size": col.batch,
        "speedup_vs_fp32": rec.speedup,
        "timed": f"best median of the perf rounds (perf/{col.name}.json)",
        "timed_engine_sha256": None if timed is None else timed.sha256,
        "machine": perf.get("environment"),
    }


def ship_card(mdir: Path, rec: Recommendation, eng: EngineFile, labels: str | None) -> ShipCard:
    """``card.json``: the model, weights, preprocessing, labels, accuracy with its interval, Δ vs fp32 with the
    verdict, img/s at the chosen batch, the machine, zoobench's version, the engine and its loading snippet."""
    from zoobench import __version__
    from zoobench.artifact import load_engine

    col = rec.column
    assert col is not None
    model = _read(mdir / "model.json") or {}
    engine = load_engine(str(eng.path))
    rt, prec = col.name.split("-", 1)
    acc = col.accuracy
    n = (acc.count if acc else None) or 0
    title = f"{engine.model}: the {col.label} engine zoobench {__version__} recommends ({eng.path.name})"
    code = snippet(rt, prec, eng.path.name, eng.input, engine.preprocess, title, SCRIPT)
    shape = ["N", *engine.preprocess.input_size]
    return {
        "model": engine.model,
        "recommendation": {"kind": rec.kind, "column": col.name, "text": rec.text},
        "engine": {
            **eng.record(),
            "name": eng.path.name,
            "runtime": rt,
            "precision": prec,
            "input_shape": shape,
            "companions": [p.name for p in companions(eng.path)],
            "companion_bytes": sum(p.stat().st_size for p in companions(eng.path)),
            **({"note": TORCH_NOTE} if rt == "torch" else {}),
        },
        "weights": model.get("weights") or engine.metadata.get("weights"),
        "preprocessing": {
            **engine.preprocess.to_dict(),
            "hash": engine.preprocess.hash(),
            "text": describe_preprocess(engine.preprocess),
        },
        "labels": None if not labels else {"file": str(Path(labels).resolve()), "sha256": file_digest(labels)},
        "accuracy": {
            "images": n,
            "scored_on": _scored_on(col.name, acc),
            "top1": _interval(acc.top1 if acc else None, n),
            "top5": _interval(acc.top_k(5) if acc else None, n),
        },
        "vs_fp32": _vs_fp32(col),
        "throughput": _throughput(mdir, col, rec),
        "zoobench_version": __version__,
        "snippet": {"file": SCRIPT, "loads_with": LOADER[rt], "code": code},
    }


def _scored_on(name: str, acc: AccuracyRecord | None) -> str:
    """Which images the column's figures count: every image (the reference, or int8 calibrated in-sample on a set
    too small to hold any out) or the held-out ones."""
    if name == REFERENCE or (acc is not None and (acc.extra.get("calibration") or {}).get("in_sample")):
        return "every image"
    return "held-out images"


def _not_shippable(mdir: Path, rec: Recommendation) -> str | None:
    """Why nothing ships although the line may name an engine: no accuracy measured, or random weights."""
    col = rec.column
    if not rec.ships or col is None:
        return rec.text
    acc = col.accuracy.to_dict() if col.accuracy else {}
    if acc.get("random_weights") or ((_read(mdir / "model.json") or {}).get("weights") or {}).get("random"):
        return "random weights: accuracy is not a verdict, nothing to ship"
    if acc.get("top1") is None:
        return "accuracy was not measured (--data and --labels would decide)"
    return None


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another filesystem, or one without hard links
        shutil.copy2(src, dst)


def _swap_in(mdir: Path, fill: Callable[[Path], None] | None) -> None:
    """Build the new ``ship/`` beside the old one (None: none), then swap it in; leftovers are cleared first."""
    for stale in mdir.glob(".ship.*"):
        shutil.rmtree(stale, ignore_errors=True)
    final, new, old = mdir / SHIP, mdir / f".ship.new-{os.getpid()}", mdir / f".ship.old-{os.getpid()}"
    if fill is not None:
        new.mkdir()
        fill(new)
    if final.exists():
        os.replace(final, old)
    if fill is not None:
        os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)


def clear_ship(mdir: Path) -> None:
    """No ``ship/`` (a failed run ships nothing: its records may not agree with each other)."""
    _swap_in(mdir, None)


def _fill(new: Path, eng: EngineFile, card: ShipCard) -> None:
    for f in (eng.path, *companions(eng.path)):
        _link(f, new / f.name)
    write_text(new / SCRIPT, card["snippet"]["code"])
    write_json(new / CARD, card)


def ship_model(mdir: Path, labels: str | None, log: Callable[[str], None]) -> ShipCard | None:
    """Write ``ship/`` for the recommended engine (returns its card), or remove it and say what would decide."""
    from zoobench.report.tables import load_model_run

    rec = recommend(load_columns(mdir, load_model_run(mdir).perf))
    why = _not_shippable(mdir, rec)
    if why is None and rec.column is not None:
        try:
            eng = scored_engine(mdir, rec.column.name)
            card = ship_card(mdir, rec, eng, labels)
        except ZoobenchError as exc:
            why = str(exc)
        else:
            _swap_in(mdir, lambda new: _fill(new, eng, card))
            what = "fp32 itself" if rec.kind == "fp32" else rec.column.label
            log(
                f"  ship: {SHIP}/{eng.path.name} ({what}; sha256 {eng.sha256[:12]}, {eng.bytes / 1e6:.1f} MB, "
                f"{eng.input} input)"
            )
            return card
    _swap_in(mdir, None)
    log(f"  ship: nothing — {why}")
    return None
