"""``run``'s scored columns: every runtime × precision that is timed is also inferred and scored.

The fp32 ONNX Runtime column is the reference: its files stay where they always were, ``<model>/infer/``
(every image scored, result.json as before). Every other column writes ``<model>/infer/<runtime>-<precision>/``
(predictions.csv, summary.json, result.json, accuracy.json). Each column runs one engine, the engine build's
(:func:`zoobench.engines.column_engine`: the uint8-input engine; int8 compiled with ``--input uint8`` on the
held-out calibration images), made once per run: the score stage infers the prep cache through it and the perf
and tune stages time it, and both records carry its file and sha256 (``engine``). A column is scored on the
held-out images only (calibration images count as unlabeled), and its accuracy.json adds ``paired``: Δtop-1 /
Δtop-5 against the reference on the same images, with the paired interval and the verdict of
:mod:`zoobench.evaluate.paired`. A column that cannot run here is recorded ``unavailable`` with why, and nothing
of it is scored.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from zoobench.artifact import Engine
from zoobench.engines import engine_record
from zoobench.errors import RuntimeUnavailableError, ZoobenchError, is_no_space
from zoobench.infer.settings import InferSettings
from zoobench.io import file_digest, write_json
from zoobench.perf.settings import PerfSettings
from zoobench.predictions import Predictions, RunSummary
from zoobench.run.calibration import Split
from zoobench.run.config import RunConfig
from zoobench.run.ledger import StageBook, hash_inputs
from zoobench.run.stages import ModelStages

if TYPE_CHECKING:
    from zoobench.evaluate.paired import PairedStats

REFERENCE = ("onnxruntime", "fp32")


@dataclass
class ColumnJob:
    """What every scored column of one model shares."""

    mdir: Path
    cfg: RunConfig
    book: StageBook
    column: Callable[[str, str], tuple[Engine, str]]  # the run's engine (and its sha256) of a column, made once
    settings: InferSettings  # the reference's infer settings; each column changes runtime, precision, outdir
    infer_data: str  # the prep cache (or the image folder when prep failed)
    inputs: dict[str, Any]  # the reference infer stage's inputs (data hash, kind, batch, limit, threads)
    split: Split
    log: Callable[[str], None]


def column_names(cfg: RunConfig) -> list[str]:
    """The scored columns besides the reference, in the run's order (none with ``--score none``)."""
    if cfg.score == "none":
        return []
    return [f"{rt}-{p}" for rt, p in cfg.columns() if (rt, p) != REFERENCE]


def score_columns(job: ColumnJob) -> None:
    for name in column_names(job.cfg):
        rt, prec = name.split("-", 1)
        score_column(job, rt, prec)


def score_column(job: ColumnJob, rt: str, prec: str) -> None:
    """One column's stage ``score:<runtime>-<precision>``: engine, infer, score, paired verdict."""
    col, cfg = f"{rt}-{prec}", job.cfg
    out = job.mdir / "infer" / col
    try:
        engine, sha = job.column(rt, prec)
    except (RuntimeUnavailableError, ImportError) as exc:  # not installed, no kernels for this precision here
        shutil.rmtree(out, ignore_errors=True)
        job.book.mark(f"score:{col}", "unavailable", str(exc), job.log)
        return
    except ZoobenchError as exc:  # this column's engine failed (bad calibration data, ...): said, not scored
        if is_no_space(exc):
            raise
        shutil.rmtree(out, ignore_errors=True)
        job.book.mark(f"score:{col}", "error", str(exc), job.log)
        return
    inputs = {
        "engine_sha256": sha,
        **job.inputs,
        "runtime": rt,
        "precision": prec,
        "labels": file_digest(cfg.infer.labels) if cfg.infer.labels else None,
        "split": hash_inputs({"calib": job.split.calibration, "held": job.split.held_out, "f": job.split.folder}),
        "reference_predictions": file_digest(job.mdir / "infer" / "predictions.csv"),
        "max_drop": str(cfg.max_drop),
        "reference": cfg.infer.reference,
        "tolerance": cfg.infer.tolerance,
        "accuracy_control": bool(cfg.accuracy_control) and prec == "int8",
    }

    def run() -> tuple[list[str], str]:
        from zoobench.infer.stage import infer

        settings = job.settings.but(
            outdir=str(out),
            runtime=rt,
            precision=prec,
            labels=cfg.infer.labels,
            ray=None,
            actors=None,
            cpus_per_actor=None,
            input_dtype=None,
        )
        _, preds, labels = infer(engine.model, job.infer_data, settings, engine=engine)
        acc = score_predictions(job, preds, labels, out, engine, prec, sha)
        rel = [f"infer/{col}/{n}" for n in ("predictions.csv", "summary.json", "accuracy.json")]
        if (out / "result.json").is_file():
            rel.append(f"infer/{col}/result.json")
        return rel, acc["paired"].get("verdict_reason", "")

    try:
        job.book.run(f"score:{col}", inputs, run, job.log)
    except (RuntimeUnavailableError, ImportError) as exc:  # not installed, no kernels for this precision here
        shutil.rmtree(out, ignore_errors=True)
        job.book.mark(f"score:{col}", "unavailable", str(exc), job.log)
    except ZoobenchError as exc:  # this column failed (bad calibration data, ...): said, not scored; others go on
        if is_no_space(exc):  # a full disk stops the run (the next columns and models would fail the same way)
            raise
        shutil.rmtree(out, ignore_errors=True)
        job.book.mark(f"score:{col}", "error", str(exc), job.log)


class ColumnControl(TypedDict):
    """Accuracy-aware int8's settings for a column (``control`` of the engine build)."""

    max_drop: str
    data: str
    labels: str | None


def column_control(cfg: RunConfig, prec: str, calibration: str | None) -> ColumnControl | None:
    """Accuracy-aware int8 for a run's column: validated on the calibration images (never the scored ones)."""
    if not (cfg.accuracy_control and prec == "int8" and calibration):
        return None
    return {"max_drop": cfg.max_drop, "data": calibration, "labels": cfg.infer.labels}


def score_predictions(
    job: ColumnJob, preds: Predictions, all_labels: dict[str, int], out: Path, engine: Engine, prec: str, sha: str
) -> dict[str, Any]:
    """result.json / accuracy.json on the held-out images, plus the paired comparison with the reference."""
    from zoobench.data.datasets import image_key
    from zoobench.evaluate.stage import evaluate

    held = {image_key(n) for n in job.split.held_out}
    run = preds.run or RunSummary()
    labels = {k: v for k, v in all_labels.items() if k in held}  # calibration images count as unlabeled
    acc: dict[str, Any] = {"model": run.model}
    if labels:
        gate = job.cfg.infer
        acc = evaluate(preds, labels, out, reference=gate.reference, tolerance=gate.tolerance, quiet=True).to_dict()
    acc["paired"] = paired_with_reference(job, preds.names, preds.topk_ids, labels)
    acc["column"] = {"runtime": engine.metadata.get("runtime") or run.runtime, "precision": prec, "engine": engine.path}
    acc["calibration"] = _calibration_record(job.split, engine, prec)
    acc["engine"] = engine_record(engine, job.mdir, sha)  # the file scored: perf's record names the same
    write_json(out / "accuracy.json", acc)
    return acc


def paired_with_reference(job: ColumnJob, names: list[str], ids: Any, labels: dict[str, int]) -> PairedStats:
    """The paired statistics of a column against the reference column's predictions, on the held-out images
    both inferred (and, with labels, that have one)."""
    import numpy as np

    from zoobench.data.datasets import image_key
    from zoobench.evaluate.files import read_predictions
    from zoobench.evaluate.paired import paired_stats, parse_max_drop

    ref = read_predictions(job.mdir / "infer" / "predictions.csv")
    ref_row = {image_key(n): i for i, n in enumerate(ref.names)}
    held = {image_key(n) for n in job.split.held_out}
    pairs = [
        (ref_row[k], i)
        for i, k in enumerate(image_key(n) for n in names)
        if k in ref_row and k in held and (not labels or k in labels)
    ]
    if not pairs:
        raise ZoobenchError("no held-out image was inferred by both this column and the reference")
    r, c = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    truth = [labels[image_key(names[i])] for i in c] if labels else None
    stats = paired_stats(np.asarray(ref.topk_ids)[r], np.asarray(ids)[c], truth, parse_max_drop(job.cfg.max_drop))
    stats["note_logits"] = "logits are not kept by infer: max |Δlogit| is compile's agreement check (if any)"
    return stats


class _CalibrationRecord(TypedDict, total=False):
    mode: str
    in_sample: bool
    images: int
    folder: str | None
    quantization: Any
    accuracy_control: Any


def _calibration_record(split: Split, engine: Engine, prec: str) -> _CalibrationRecord:
    if prec != "int8":
        return {"mode": "not calibrated"}
    rec: _CalibrationRecord = {"mode": split.mode, "in_sample": split.in_sample, "images": len(split.calibration)}
    if split.mode == "folder":
        rec["folder"] = split.folder
    meta = engine.metadata
    if meta.get("quantization"):
        rec["quantization"] = meta["quantization"]
    if meta.get("accuracy_control"):
        rec["accuracy_control"] = meta["accuracy_control"]
    return rec


def perf_column(stages: ModelStages, rt: str, prec: str, profile: dict[str, Any] | None = None) -> None:
    """One runtime x precision column of one model of a run (``stages``: the run's per-model stages, with its
    ``cfg``, ``mdir``, ``book`` (the stage ledger), ``column(rt, prec)`` (the column's engine, the one its score
    stage scored, and its sha256) and ``log``); a column that cannot run here is recorded as unavailable, with
    why. ``profile``: the tune stage's (run --tune), handed on in memory; else a ``STEM.tuned.json`` beside the
    column's engine."""
    from zoobench.perf.profile import profile_digest
    from zoobench.perf.sweep import do_perf

    cfg, mdir, book, log = stages.cfg, stages.mdir, stages.book, stages.log
    s: PerfSettings = cfg.perf.but(runtimes=[rt], precisions=[prec], workdir=str(mdir / "engine"), quiet=True)
    col, rel = f"{rt}-{prec}", f"perf/{rt}-{prec}.json"
    try:
        engine, sha = stages.column(rt, prec)
        inputs = {
            "engine_sha256": sha,
            "runtime": rt,
            "precision": prec,
            "batch_sizes": list(s.batch_sizes),
            "seconds": s.seconds,
            "repeats": s.repeats,
            "min_iters": s.min_iters,
            "warmup": s.warmup,
            "threads": s.threads,
            "tuned": profile_digest(engine.path, profile),  # the tune stage's profile, or the file beside the engine
        }

        def perf() -> tuple[list[str], str]:  # the column's engine, as scored: built once by the engine build
            res = do_perf(engine.model, s, engine=engine, profile=profile)
            res["engine"] = engine_record(engine, mdir, sha)
            write_json(mdir / rel, res)
            return [rel], f"best {res['best_throughput_img_s']:.1f} img/s at bs{res['best_batch_size']}"

        book.run(f"perf:{col}", inputs, perf, log)
    except (ZoobenchError, ImportError) as exc:  # runtime not installed, precision without kernels here, ...
        if is_no_space(exc):
            raise
        (mdir / rel).unlink(missing_ok=True)
        book.mark(f"perf:{col}", "unavailable", str(exc), log)
