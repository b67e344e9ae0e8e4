"""``zoobench prep``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from zoobench.artifact import resolve_preprocess
from zoobench.cli.app import emit_json, friendly
from zoobench.cli.options import (
    chunk_option,
    decoder_option,
    limit_option,
    variant_option,
    workers_option,
)
from zoobench.console import make_console
from zoobench.models.registry import slug

if TYPE_CHECKING:
    from zoobench.data.cache_types import CacheMeta, PrepResult


@click.command()
@click.option(
    "--data",
    "-d",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="Image folder: flat (the seeds' layout) or class folders (val/n01440764/*.JPEG).",
)
@click.option("--model", "-m", required=True, help="Model name or exported .onnx: decides the preprocessing.")
@variant_option
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(file_okay=False),
    default=None,
    help="Cache directory (default: zoobench-cache/<model>-<preprocessing hash>).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["npy", "bin"]),
    default="npy",
    show_default=True,
    help="npy: uint8 N×3×H×W memmap + meta.json; bin: the seeds' float32 <stem>.bin per image + .info.",
)
@workers_option
@limit_option
@chunk_option
@decoder_option()
@click.option("--strict", is_flag=True, help="Fail on the first image that cannot be used instead of skipping it.")
@click.option("--json", "as_json", is_flag=True, help="Print meta.json (without the image list) to stdout.")
@friendly
def prep(
    data: str,
    model: str,
    variant: str | None,
    out: str | None,
    fmt: str,
    workers: int | None,
    limit: int | None,
    chunk: int,
    decoder: str,
    strict: bool,
    as_json: bool,
) -> None:
    """Decode, resize and crop every image once into a cache that `infer --data CACHE` reads.

    Reused when its preprocessing, decoder and image list match, rebuilt when they do not; an interrupted
    build rerun with the same arguments resumes from its finished chunks whose images are unchanged (an image
    replaced in place redoes only its chunk; images added or removed redo from the first chunk that shifted).

    \b
    Examples:
      zoobench prep --data val/ --model wide_resnet50_2 -o cache/          # uint8 cache for `infer`
      zoobench prep --data val/ --model wrn.onnx --format bin -o bins/     # the seeds' float32 .bin + .info
      zoobench prep --data val/ --model mnasnet1_0 --decoder fast -o cache-fast/   # not bit-exact; see below

    --decoder fast, measured side by side with the reference (2 workers, a 2-core machine shared with other
    work, load average 10-15; benchmarks/prep_throughput.py): 1.36x on 2,000 images (rounds 1.13-1.43), 1.00x on
    600 (under 1000 images the reference decodes them: a fast pool costs more to start than it saves).
    """
    import time

    from zoobench.console import Advance, progress_bar
    from zoobench.data.cache import prep_cache
    from zoobench.data.decode import start_early
    from zoobench.data.fastdecode import check_decoder
    from zoobench.data.settings import PrepSettings

    check_decoder(decoder)  # nvjpeg without a GPU: one line before anything is made
    if decoder != "reference":  # the fast pool's torch import runs while the model and images are resolved
        start_early(workers, decoder, _count(data, limit))
    settings = PrepSettings(fmt=fmt, workers=workers, limit=limit, chunk=chunk, strict=strict, decoder=decoder)
    pp = resolve_preprocess(model, variant)
    outdir = out or _default_outdir(model, pp, fmt, decoder)
    console = make_console()
    t0 = time.perf_counter()
    with progress_bar("prep", console, as_json) as bar:
        task = bar.add_task("prep", total=None, rate="")

        def on_total(total: int, done: int) -> None:
            bar.update(task, total=total, completed=done)

        meta = prep_cache(data, pp, outdir, settings, progress=Advance(bar, task), on_total=on_total)
    dt = time.perf_counter() - t0
    if as_json:
        emit_json({k: v for k, v in meta.items() if k != "images"})
        return
    _say(console, outdir, meta, dt)


def _say(console: Any, outdir: str, meta: PrepResult, dt: float) -> None:
    """What the build did: reused / built / resumed (and what it resumed), skipped files, the decoder's fallbacks."""
    console.print(
        f"[bold]{outdir}[/] {meta['status']}: {meta['count']} images {meta['dtype']} "
        f"{'x'.join(map(str, meta['shape'][1:]))}, {len(meta['skipped'])} skipped, "
        f"preprocessing {meta['preprocess_hash']}, {dt:.1f}s"
    )
    if meta.get("note"):  # resumed N of M images; K replaced since the interrupted build / rebuilt: why
        console.print(meta["note"], markup=False)
    if meta["skipped"]:
        console.print(f"skipped images are listed in {Path(outdir) / 'skipped.csv'}")
    if meta.get("decoder", "reference") != "reference":
        console.print(fallback_line(meta))


def _count(data: str, limit: int | None) -> int:
    """The images prep will decode (a small set gets no fast pool: data.decode.FAST_MIN_IMAGES)."""
    from zoobench.data.datasets import scan_dataset

    n = len(scan_dataset(data)[0])
    return n if limit is None else min(n, limit)


def _default_outdir(model: str, pp: Any, fmt: str, decoder: str) -> str:
    """zoobench-cache/<model>-<preprocessing hash>[-<decoder>]: each decoder's pixels in their own directory."""
    name = slug(model)
    made_by = "" if decoder == "reference" else f"-{decoder}"
    return f"zoobench-cache/{name}-{pp.geometry_hash() if fmt == 'npy' else pp.hash()}{made_by}"


def fallback_line(meta: CacheMeta) -> str:
    """``decoder fast: 2 image(s) decoded by the reference: 1 grayscale JPEG, 1 PNG file``."""
    falls = meta.get("decoder_fallbacks") or {}
    why = ", ".join(f"{n} {r}" for r, n in falls.items())
    return (
        f"decoder {meta['decoder']}: {sum(falls.values())} image(s) decoded by the reference{': ' + why if why else ''}"
    )
