"""``run``'s scored columns: every runtime × precision that is timed is also inferred and scored.

The fp32 ONNX Runtime column is the reference: its files stay where they always were, ``<model>/infer/``
(every image scored, result.json as before). Every other column writes ``<model>/infer/<runtime>-<precision>/``
(predictions.csv, summary.json, result.json, accuracy.json). Each column runs one engine, the engine build's
(:func:`zoobench.engines.column_engine`: the uint8-input engine; int8 compiled with ``--input uint8`` on the
held-out calibration images), made once per run: the score stage infers the prep cache through it and the perf
and tune stages time it, and both records carry its file and sha256 (``engine``). A column is scored on the
held-out images only. The folder agrees with itself: its predictions.csv, skipped.csv and summary.json hold
exactly the images its result.json counts (``zoobench eval`` on the folder writes the same result.json); the
calibration images' predictions go to calibration_predictions.csv (their skips to calibration_skipped.csv). Its
accuracy.json adds ``paired``: Δtop-1 / Δtop-5 against the reference on the same held-out images, with the
paired interval and the verdict of :mod:`zoobench.evaluate.paired`. A column that cannot run here is recorded
``unavailable`` with why, and nothing of it is scored.
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
    from zoobench.perf.profile import TuneProfile

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
        held = keep_held_out(preds, job.split, out, labels)
        acc = score_predictions(job, held, labels, out, engine, prec, sha)
        rel = [f"infer/{col}/{n}" for n in ("predictions.csv", "summary.json", "accuracy.json")]
        rel += [f"infer/{col}/{n}" for n in (*CALIBRATION_FILES, "result.json") if (out / n).is_file()]
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


CALIBRATION_FILES = ("calibration_predictions.csv", "calibration_skipped.csv")


def keep_held_out(preds: Predictions, split: Split, out: Path, labels: dict[str, int]) -> Predictions:
    """The column's predictions on the held-out images; its folder's predictions.csv, skipped.csv and summary.json
    are rewritten to hold just those (the images its result.json counts), and the calibration images' rows go to
    calibration_predictions.csv, their skips to calibration_skipped.csv. Unchanged when every image is held out
    (no split, ``--calibration DIR``, in-sample)."""
    from dataclasses import replace

    from zoobench.data.datasets import image_key
    from zoobench.io import write_skipped_csv

    held = {image_key(n) for n in split.held_out}
    rows = [i for i, n in enumerate(preds.names) if image_key(n) in held]
    calib = [i for i, n in enumerate(preds.names) if image_key(n) not in held]
    held_skips = [s for s in preds.skipped or [] if image_key(s[0]) in held]
    calib_skips = [s for s in preds.skipped or [] if image_key(s[0]) not in held]
    if not calib and not calib_skips:
        for stale in CALIBRATION_FILES:  # an earlier run's split
            (out / stale).unlink(missing_ok=True)
        return preds
    _write_rows(preds, rows, labels, out / "predictions.csv")
    _write_rows(preds, calib, labels, out / CALIBRATION_FILES[0])
    write_skipped_csv(out / "skipped.csv", held_skips)
    write_skipped_csv(out / CALIBRATION_FILES[1], calib_skips)
    _held_out_summary(out / "summary.json", len(rows), held_skips, len(calib), len(calib_skips))
    kept: dict[str, Any] = {"names": [preds.names[i] for i in rows], "topk_ids": preds.topk_ids[rows]}
    if preds.topk_probs is not None:
        kept["topk_probs"] = preds.topk_probs[rows]
    if getattr(preds, "logits", None) is not None:  # an InferenceResult's, when infer kept them
        kept["logits"] = preds.logits[rows]  # type: ignore[attr-defined]
    run = replace(preds.run, skipped=len(held_skips)) if preds.run is not None else None
    return replace(preds, skipped=held_skips, run=run, **kept)


def _write_rows(preds: Predictions, rows: list[int], labels: dict[str, int], path: Path) -> None:
    """Those rows of ``preds`` as a predictions.csv (with the label column infer writes)."""
    import numpy as np

    from zoobench.data.datasets import image_key
    from zoobench.evaluate.files import write_predictions

    names = [preds.names[i] for i in rows]
    probs = preds.topk_probs if preds.topk_probs is not None else np.zeros(preds.topk_ids.shape, np.float32)
    write_predictions(path, names, preds.topk_ids[rows], probs[rows], [labels.get(image_key(n)) for n in names])


def _held_out_summary(
    path: Path, inferred: int, skipped: list[tuple[str, str]], calib: int, calib_skipped: int
) -> None:
    """summary.json counts the held-out images, as predictions.csv holds them; the calibration images apart."""
    import json

    from zoobench.infer.stage import reason_counts

    summary = json.loads(path.read_text(encoding="utf-8"))
    summary.update(images_found=inferred + len(skipped), images_inferred=inferred, skipped=len(skipped))
    summary["skipped_reasons"] = reason_counts(skipped)
    summary["calibration_images"] = {"inferred": calib, "skipped": calib_skipped, "predictions": CALIBRATION_FILES[0]}
    write_json(path, summary)


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


def perf_column(stages: ModelStages, rt: str, prec: str, profile: TuneProfile | None = None) -> None:
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
