"""The infer stage: export if needed, run the loop over a folder or a cache, write predictions.csv, summary.json
and skipped.csv, and hand the predictions to eval in memory."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Protocol, TypedDict

from zoobench.artifact import Engine
from zoobench.console import Advance, make_console, progress_bar
from zoobench.data.datasets import image_key
from zoobench.data.decode import start_early
from zoobench.engines import resolve_engine
from zoobench.env import environment
from zoobench.errors import DataError
from zoobench.infer.chunks import InferenceResult
from zoobench.infer.loop import RunIO, format_stage_summary, run_folder
from zoobench.infer.settings import InferSettings
from zoobench.infer.source import Source, resolve_input, use_decoder
from zoobench.io import dir_lock, write_json
from zoobench.predictions import RunSummary

FINAL_OUTPUTS = ("predictions.csv", "skipped.csv", "summary.json", "result.json", "accuracy.json")


class Backend(Protocol):
    """Where the batches run, given the listed input and the run's :class:`~zoobench.infer.loop.RunIO`. None is
    this process (:func:`~zoobench.infer.loop.run_folder`); the caller passes another, e.g. the Ray pipeline's
    (``zoobench.cluster.pipeline.backend_for``), so infer/ never imports what runs above it."""

    def __call__(
        self, engine: Engine, data_dir: str, settings: InferSettings, *, source: Source, io: RunIO
    ) -> InferenceResult: ...


def do_infer(
    model: str,
    data: str,
    settings: InferSettings | None = None,
    *,
    engine: Engine | None = None,
    backend: Backend | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Export if needed, infer an image folder or a prep cache, write predictions.csv / summary.json (/ skipped.csv);
    with labels (a file, or class folders) eval the predictions in memory into OUTDIR too.

    ``settings`` says how (see :class:`InferSettings`); a caller without one (the Python API, tests) passes its
    fields as keyword ``options`` instead. ``engine``: an engine already loaded (no export).

    Finished chunks are kept in OUTDIR/.partial until the run completes, so a rerun resumes; with ``dump``
    each image's logits are also written as ais_bench does into OUTDIR/outputs. ``input_dtype="uint8"`` runs
    the uint8-input twin of a float export (``STEM.u8.onnx``, made once): the crops go in unnormalized.
    ``ray`` (``local``, ``auto`` or ``HOST:PORT``) runs the batches on a Ray cluster instead of this process
    (``actors`` / ``cpus_per_actor`` override the plan); the files written are the same. ``decoder`` decodes
    the images (``reference`` by default; ``fast``/``nvjpeg``: :mod:`zoobench.data.fastdecode`); a cache is
    read as its decoder made it. summary.json records the decoder and its fallbacks to the reference.

    Returns:
        summary.json's content, with ``accuracy`` (accuracy.json's) when there were labels.
    """
    from zoobench.evaluate.stage import evaluate

    s = InferSettings.given(settings, options)
    summary, preds, labels = infer(model, data, s, engine=engine, backend=backend)
    if labels:
        summary["accuracy"] = evaluate(
            preds, labels, Path(s.outdir), reference=s.reference, tolerance=s.tolerance, quiet=s.quiet
        ).to_dict()
    return summary


def infer(
    model: str, data: str, settings: InferSettings, *, engine: Engine | None = None, backend: Backend | None = None
) -> tuple[dict[str, Any], InferenceResult, dict[str, int]]:
    """The infer stage of :func:`do_infer` without eval: its files; the predictions (with the run's facts) and the
    labels (the label file's, or the class folders'; empty: none) for eval in memory."""
    from zoobench.data.datasets import read_labels
    from zoobench.runtimes import resolve_runtime

    s = settings.but(runtime=resolve_runtime(engine.path if engine else model, settings.runtime))
    console = make_console(s.quiet)
    out = Path(s.outdir)
    if s.ray and backend is None:
        raise DataError("infer on Ray needs its backend: pass backend=zoobench.cluster.pipeline.backend_for(settings)")
    label_map = read_labels(s.labels) if s.labels else None  # fail on a bad label file before any work
    inp = listed_input(data, s.limit)
    use_decoder(inp, s.decoder, data)  # a wrong decoder for a cache is one line, before any export
    if inp.cache is None and not s.ray:  # the fast pool's torch import runs beside the export / engine load
        start_early(s.workers, inp.decoder, len(inp.names))
    out.mkdir(parents=True, exist_ok=True)
    if label_map is None and inp.folder_labels:
        label_map = inp.folder_labels
    engine = _engine(model, engine, s, out, console)
    if s.batch_size is None:  # a static-batch engine's own, else the runtime's default; recorded in summary.json
        s = s.but(batch_size=int(engine.metadata.get("batch_size") or s.batch))
    with dir_lock(out, console.print):  # a second infer into OUTDIR waits, then resumes or redoes
        for name in FINAL_OUTPUTS:  # a final file exists only for a run that completed
            (out / name).unlink(missing_ok=True)
        res = _run_loop(engine, data, inp, out, s, console, backend or run_folder)
        summary = _write_outputs(engine, data, inp, res, label_map, out, s)
    console.print(format_stage_summary(res.stages), markup=False)
    console.print(f"{len(res.names)} images inferred, {len(res.skipped)} skipped -> {out / 'predictions.csv'}")
    if engine.random_weights:
        console.print("[yellow]weights: RANDOM INIT — predictions are meaningless[/]")
    res.run = RunSummary.of(summary)
    return summary, res, label_map or {}


def listed_input(data: str, limit: int | None) -> Source:
    """The folder or cache, listed once (the loop gets this listing); no images is one line, before any export."""
    from zoobench.data.datasets import IMAGE_EXTENSIONS

    inp = resolve_input(data, limit)
    if not inp.names:
        why = f"; {len(inp.skipped)} file(s) that are not images" if inp.skipped else ""
        exts = "/".join(sorted(IMAGE_EXTENSIONS))
        raise DataError(f"no images in {data}{why} (looked for {exts}, flat or in class folders)")
    return inp


def _engine(model: str, given: Engine | None, s: InferSettings, out: Path, console: Any) -> Engine:
    engine = given or resolve_engine(model, weights=s.weights, variant=s.variant, workdir=out, log=console.print)
    if s.input_dtype == "uint8":
        from zoobench.engines import uint8_engine

        engine = uint8_engine(engine, log=console.print)
    return engine


def _run_loop(
    engine: Engine, data: str, inp: Source, out: Path, s: InferSettings, console: Any, backend: Backend
) -> InferenceResult:
    from zoobench.data.cache import clean_temp

    clean_temp(out)
    partial = out / ".partial"
    if not s.resume:
        shutil.rmtree(partial, ignore_errors=True)
    with progress_bar("infer", console, s.quiet) as bar:
        task = bar.add_task("infer", total=len(inp.names), rate="")
        io = RunIO(partial, out / "outputs" if s.dump else None, Advance(bar, task), console.print)
        res = backend(engine, data, s, source=inp, io=io)
    shutil.rmtree(partial, ignore_errors=True)
    return res


def _write_outputs(
    engine: Engine,
    data: str,
    inp: Source,
    res: InferenceResult,
    label_map: dict[str, int] | None,
    out: Path,
    s: InferSettings,
) -> dict[str, Any]:
    from zoobench.evaluate.files import write_predictions
    from zoobench.io import write_skipped_csv

    row_labels = [label_map.get(image_key(n)) for n in res.names] if label_map is not None else None
    write_predictions(out / "predictions.csv", res.names, res.topk_ids, res.topk_probs, row_labels)
    write_skipped_csv(out / "skipped.csv", res.skipped)
    summary = {
        "model": engine.model,
        "engine": engine.path,
        "input_dtype": engine.input_dtype,
        "weights": engine.metadata.get("weights"),
        "random_weights": engine.random_weights,
        "preprocess": engine.preprocess.to_dict(),
        "num_classes": int(engine.metadata.get("num_classes", 1000)),
        "data": str(Path(data).resolve()),
        "data_kind": "cache" if inp.cache is not None else "images",
        "decoder": decoder_record(inp, res),
        "batch_size": s.batch_size,
        "workers": 0 if inp.cache is not None or s.ray else s.workers,
        "images_found": len(inp.names) + len(inp.skipped),
        "images_inferred": len(res.names),
        "skipped": len(res.skipped),
        "skipped_reasons": reason_counts(res.skipped),
        "dump": s.dump,
        "stages": res.stages,
        "runtime": res.runtime,
        "environment": environment(),
    }
    if res.cluster is not None:
        summary["ray"] = res.cluster
    if s.tuned is not None:  # the tuned profile's session settings this run used
        summary["tuned"] = s.tuned
    write_json(out / "summary.json", summary)
    return summary


class DecoderRecord(TypedDict):
    """``decoder`` in result.json: its name, the images it handed to the reference by reason, and whose count."""

    name: str | None
    fallbacks: dict[str, int]
    counted: str


def decoder_record(inp: Source, res: InferenceResult) -> DecoderRecord:
    """Which decoder made the pixels and the images it handed to the reference, by reason: a cache's (from its
    meta.json, every image), or this run's (images decoded now; a resumed run's earlier chunks are not counted)."""
    if inp.cache is not None:
        return {"name": inp.decoder, "fallbacks": inp.cache.meta.get("decoder_fallbacks", {}), "counted": "cache"}
    return {"name": inp.decoder, "fallbacks": res.fallbacks, "counted": "this run"}


def reason_counts(skipped: list[tuple[str, str]]) -> dict[str, int]:
    """summary.json's ``skipped_reasons``: how many images were skipped, by kind of reason."""
    counts: dict[str, int] = {}
    for _name, reason in skipped:
        kind = reason.split(":")[0] if not reason.startswith("image ") else reason.split(": ", 1)[-1].split(" (")[0]
        counts[kind] = counts.get(kind, 0) + 1
    return counts
