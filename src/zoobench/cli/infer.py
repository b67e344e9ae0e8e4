"""``zoobench infer``."""

from __future__ import annotations

from typing import Any

import click

from zoobench.cli.app import emit_json, friendly
from zoobench.cli.options import (
    check_gate,
    check_model,
    decoder_option,
    gate_option,
    infer_chunk_option,
    limit_option,
    ray_options,
    runtime_choice,
    variant_option,
    weights_option,
    workers_option,
)


@click.command()
@click.argument("model")
@click.option(
    "--data",
    "-d",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="Image folder (flat, the seeds' layout, or class folders val/<wnid>/*.JPEG), processed in name "
    "order; or a cache made by `zoobench prep` (memory-mapped, normalized on the fly).",
)
@click.option(
    "--labels",
    "-l",
    type=click.Path(exists=True, dir_okay=False),
    help="Labels in the seeds' format (`NAME.JPEG 65`); adds a label column and scores the run.",
)
@weights_option
@variant_option
@click.option(
    "--batch-size",
    "-b",
    type=click.IntRange(min=1),
    default=None,
    help="Images per runtime call [default: 16 on CPU runtimes, 64 on GPU runtimes]. Same batch size, same results: "
    "a --ray run matches a local run of the same batch size byte for byte.",
)
@click.option(
    "--runtime",
    type=runtime_choice(),
    default=None,
    help="The runtime [default: the one a compiled engine (.xml, .plan) was made for; else onnxruntime].",
)
@click.option("--threads", type=int, default=None, help="Runtime threads (default: the runtime's own).")
@limit_option
@click.option("--strict", is_flag=True, help="Fail on the first unreadable image instead of skipping it.")
@click.option("-o", "--output", "outdir", type=click.Path(file_okay=False), default="zoobench-infer", show_default=True)
@workers_option
@decoder_option(for_infer=True)
@click.option(
    "--dump",
    type=click.Choice(["txt", "bin", "npy"]),
    default=None,
    help="Also write each image's logits as ais_bench does: OUTDIR/outputs/<stem>_0.<fmt>.",
)
@infer_chunk_option
@ray_options
@click.option("--no-resume", is_flag=True, help="Discard finished chunks of an interrupted run.")
@click.option("--untuned", is_flag=True, help="Ignore the engine's tuned profile (STEM.tuned.json): defaults only.")
@gate_option
@click.option("--json", "as_json", is_flag=True, help="Print summary.json to stdout.")
@friendly
def infer(model: str, data: str, no_resume: bool, untuned: bool, gate: str | None, as_json: bool, **opts: Any) -> None:
    """Offline inference of MODEL (a model name or an exported .onnx) over an image folder or a prep cache.

    Writes OUTDIR/predictions.csv (top-5 ids and probabilities per image), OUTDIR/summary.json
    (counts, stage timings, runtime, environment) and OUTDIR/skipped.csv when images were skipped.
    With --labels (or class folders), also runs `eval` into OUTDIR and prints the gate's verdict; as with `eval`,
    --gate makes a conclusive failure exit 1 (--gate strict: also an undecided gate). An interrupted run rerun with the
    same arguments resumes from its finished chunks (kept in OUTDIR/.partial). With --ray the same
    batches run on a Ray cluster, and the same files are written (summary.json adds where they ran).

    \b
    Examples:
      zoobench infer wrn.onnx --data val/ --labels val_label.txt -o out/      # JPEGs, decoded in workers
      zoobench infer wrn.onnx --data val/ --labels val_label.txt --gate       # exit 1 if the gate fails
      zoobench infer wrn.u8.onnx --data cache/ -b 32 -o out/                  # a prep cache, uint8 engine
      zoobench infer mnasnet1_0 --weights random --data photos/ --dump txt    # ais_bench-style dumps too
      zoobench infer mnasnet1_0 --data val/ --decoder fast -o out/            # the fast decoder (not bit-exact)
      zoobench infer wrn.onnx --data /shared/val --ray auto -o out/           # on the Ray cluster
    """
    from zoobench.cluster.pipeline import backend_for
    from zoobench.infer.settings import InferSettings
    from zoobench.infer.stage import do_infer
    from zoobench.runtimes import resolve_runtime

    opts["runtime"] = resolve_runtime(model, opts["runtime"])  # --runtime onnxruntime on an .xml: exit 2, one line
    settings = _tuned(model, InferSettings(quiet=as_json, resume=not no_resume, **opts), untuned)
    backend = backend_for(settings)  # --ray: the address checked in one line, before any work
    check_model(model, opts["weights"], opts["variant"])  # before OUTDIR is created
    summary = do_infer(model, data, settings, backend=backend)
    if as_json:
        emit_json(summary)
    if gate:
        acc = summary.get("accuracy")
        if acc is None:
            raise click.UsageError("--gate needs labels to score against: --labels FILE, or class folders")
        from zoobench.evaluate.record import AccuracyRecord

        check_gate(AccuracyRecord.from_dict(acc), strict=gate == "strict", printed=not as_json)


def _tuned(model: str, settings: Any, untuned: bool) -> Any:
    """The settings with the session settings of the tuned profile beside an engine file (``zoobench tune``) for
    this runtime, precision and batch size, and one line saying what was applied or why not."""
    from pathlib import Path

    from zoobench.infer.settings import default_batch_size
    from zoobench.perf.profile import profile_path, tuned_for_infer

    if untuned or not Path(model).is_file() or not profile_path(model).is_file():
        return settings  # no profile: the engine file is not read again for its precision
    batch = settings.batch_size or default_batch_size(settings.runtime)
    from zoobench.artifact import load_engine

    precision = settings.precision or load_engine(model).precision  # an int8 engine is its int8 column
    tuned, line = tuned_for_infer(model, settings.runtime, precision, batch)
    if line and not settings.quiet:
        click.echo(line)
    return settings.but(tuned=tuned) if tuned else settings
