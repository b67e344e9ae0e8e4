"""The infer stage: export if needed, run the loop over a folder or a cache, write predictions.csv, summary.json
and skipped.csv, and hand the predictions to eval in memory."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from zoobench.artifact import Engine
from zoobench.console import Advance, make_console, progress_bar
from zoobench.data.datasets import image_key
from zoobench.env import environment
from zoobench.errors import DataError
from zoobench.evaluate.stage import Scored
from zoobench.export import resolve_engine
from zoobench.infer.chunks import InferenceResult
from zoobench.infer.loop import format_stage_summary, run_folder
from zoobench.infer.source import Source, resolve_input, use_decoder
from zoobench.io import write_json

FINAL_OUTPUTS = ("predictions.csv", "skipped.csv", "summary.json", "result.json", "accuracy.json")


def do_infer(
    model: str,
    data: str,
    *,
    labels: str | None = None,
    weights: str | None = None,
    variant: str | None = None,
    batch_size: int | None = None,
    runtime: str = "onnxruntime",
    threads: int | None = None,
    limit: int | None = None,
    strict: bool = False,
    outdir: str = "zoobench-infer",
    quiet: bool = False,
    engine: Engine | None = None,
    workers: int | None = None,
    dump: str | None = None,
    chunk: int = 512,
    resume: bool = True,
    input_dtype: str | None = None,
    reference: float | tuple[float, float | None] | None = None,
    tolerance: float = 1.0,
    ray: str | None = None,
    actors: int | None = None,
    cpus_per_actor: float | None = None,
    decoder: str | None = None,
) -> dict[str, Any]:
    """Export if needed, infer an image folder or a prep cache, write predictions.csv / summary.json (/ skipped.csv);
    with labels (a file, or class folders) eval the predictions in memory into OUTDIR too.

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

    summary, scored = infer(
        model, data, labels=labels, weights=weights, variant=variant, batch_size=batch_size, runtime=runtime,
        threads=threads, limit=limit, strict=strict, outdir=outdir, quiet=quiet, engine=engine, workers=workers,
        dump=dump, chunk=chunk, resume=resume, input_dtype=input_dtype, ray=ray, actors=actors,
        cpus_per_actor=cpus_per_actor, decoder=decoder,
    )  # fmt: skip
    if scored.label_map:
        summary["accuracy"] = evaluate(scored, Path(outdir), reference=reference, tolerance=tolerance, quiet=quiet)
    return summary


def default_batch_size(runtime: str) -> int:
    """16 on CPU runtimes (the seeds' middle batch); 64 on GPU runtimes, which 16 leaves mostly idle."""
    from zoobench.runtimes import RUNTIMES

    spec = RUNTIMES.get(runtime)
    return 64 if spec is not None and spec.device.startswith("cuda") else 16


def infer(model: str, data: str, **kw: Any) -> tuple[dict[str, Any], Scored]:
    """The infer stage of :func:`do_infer` without eval: its files, and the predictions for eval in memory."""
    from zoobench.data.datasets import read_labels

    console = make_console(kw["quiet"])
    kw["batch_size"] = kw.get("batch_size") or default_batch_size(kw["runtime"])
    out = Path(kw["outdir"])
    if kw.get("ray"):
        from zoobench.cluster.connect import preflight

        if kw["dump"]:
            raise DataError("--dump writes files beside the driver; it is not available with --ray (run it locally)")
        preflight(kw["ray"])
    label_map = read_labels(kw["labels"]) if kw["labels"] else None  # fail on a bad label file before any work
    inp = listed_input(data, kw["limit"])
    use_decoder(inp, kw.get("decoder"), data)  # a wrong decoder for a cache is one line, before any export
    out.mkdir(parents=True, exist_ok=True)
    if label_map is None and inp.folder_labels:
        label_map = inp.folder_labels
    engine = _engine(model, kw, out, console)
    for name in FINAL_OUTPUTS:  # a final file exists only for a run that completed
        (out / name).unlink(missing_ok=True)
    res = _run_loop(engine, data, inp, out, kw, console)
    summary = _write_outputs(engine, data, inp, res, label_map, out, kw)
    console.print(format_stage_summary(res.stages), markup=False)
    console.print(f"{len(res.names)} images inferred, {len(res.skipped)} skipped -> {out / 'predictions.csv'}")
    if engine.random_weights:
        console.print("[yellow]weights: RANDOM INIT — predictions are meaningless[/]")
    expected = {image_key(n) for n in res.names} | {image_key(n) for n, _ in res.skipped}
    return summary, Scored(list(res.names), res.topk_ids, label_map or {}, summary, expected)


def listed_input(data: str, limit: int | None) -> Source:
    """The folder or cache, listed once (the loop gets this listing); no images is one line, before any export."""
    from zoobench.data.datasets import IMAGE_EXTENSIONS

    inp = resolve_input(data, limit)
    if not inp.names:
        why = f"; {len(inp.skipped)} file(s) that are not images" if inp.skipped else ""
        exts = "/".join(sorted(IMAGE_EXTENSIONS))
        raise DataError(f"no images in {data}{why} (looked for {exts}, flat or in class folders)")
    return inp


def _engine(model: str, kw: dict[str, Any], out: Path, console: Any) -> Engine:
    engine = kw["engine"] or resolve_engine(
        model, weights=kw["weights"], variant=kw["variant"], workdir=out, log=console.print
    )
    if kw["input_dtype"] == "uint8":
        from zoobench.export import uint8_engine

        engine = uint8_engine(engine, log=console.print)
    return engine


def _run_loop(engine: Engine, data: str, inp: Source, out: Path, kw: dict[str, Any], console: Any) -> InferenceResult:
    from zoobench.data.cache import clean_temp

    clean_temp(out)
    partial = out / ".partial"
    if not kw["resume"]:
        shutil.rmtree(partial, ignore_errors=True)
    with progress_bar("infer", console, kw["quiet"]) as bar:
        task = bar.add_task("infer", total=len(inp.names), rate="")
        res = _loop(engine, data, inp, out, partial, kw, Advance(bar, task), console)
    shutil.rmtree(partial, ignore_errors=True)
    return res


def _loop(
    engine: Engine, data: str, inp: Source, out: Path, partial: Path, kw: dict[str, Any], progress: Any, console: Any
) -> InferenceResult:
    """This process's pipelined loop, or the same batches on a Ray cluster (``--ray``)."""
    if kw.get("ray"):
        from zoobench.cluster.pipeline import run_ray

        console.print(f"infer on Ray ({kw['ray']})")
        return run_ray(
            engine, data, address=kw["ray"], runtime=kw["runtime"], batch_size=kw["batch_size"],
            threads=kw["threads"], limit=kw["limit"], strict=kw["strict"], progress=progress, chunk=kw["chunk"],
            partial_dir=partial, source=inp, actors=kw.get("actors"), cpus_per_actor=kw.get("cpus_per_actor"),
            decoder=inp.decoder,
        )  # fmt: skip
    return run_folder(
        engine, data, runtime=kw["runtime"], batch_size=kw["batch_size"], threads=kw["threads"],
        limit=kw["limit"], strict=kw["strict"], progress=progress, workers=kw["workers"],
        chunk=kw["chunk"], partial_dir=partial, dump=kw["dump"],
        dump_dir=out / "outputs" if kw["dump"] else None, source=inp, decoder=inp.decoder,
    )  # fmt: skip


def _write_outputs(
    engine: Engine,
    data: str,
    inp: Source,
    res: InferenceResult,
    label_map: dict[str, int] | None,
    out: Path,
    kw: dict[str, Any],
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
        "batch_size": kw["batch_size"],
        "workers": 0 if inp.cache is not None or kw.get("ray") else kw["workers"],
        "images_found": len(inp.names) + len(inp.skipped),
        "images_inferred": len(res.names),
        "skipped": len(res.skipped),
        "skipped_reasons": _reason_counts(res.skipped),
        "dump": kw["dump"],
        "stages": res.stages,
        "runtime": res.runtime,
        "environment": environment(),
    }
    if res.cluster is not None:
        summary["ray"] = res.cluster
    write_json(out / "summary.json", summary)
    return summary


def decoder_record(inp: Source, res: InferenceResult) -> dict[str, Any]:
    """Which decoder made the pixels and the images it handed to the reference, by reason: a cache's (from its
    meta.json, every image), or this run's (images decoded now; a resumed run's earlier chunks are not counted)."""
    if inp.cache is not None:
        return {"name": inp.decoder, "fallbacks": inp.cache.meta.get("decoder_fallbacks", {}), "counted": "cache"}
    return {"name": inp.decoder, "fallbacks": res.fallbacks, "counted": "this run"}


def _reason_counts(skipped: list[tuple[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _name, reason in skipped:
        kind = reason.split(":")[0] if not reason.startswith("image ") else reason.split(": ", 1)[-1].split(" (")[0]
        counts[kind] = counts.get(kind, 0) + 1
    return counts
