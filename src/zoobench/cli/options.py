"""Options and value types that several verbs share, each defined once, validated where they are parsed."""

from __future__ import annotations

from typing import Any

import click

PRECISIONS = ("fp32", "fp16", "bf16", "int8")


def int_list(text: str, what: str = "batch sizes") -> list[int]:
    """Comma-separated positive integers, e.g. batch sizes ``1,4,8``; a usage error (exit 2) otherwise."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise click.BadParameter(f"{what} must be integers >= 1, got {text!r}")
    return values


def name_list(text: str | None, known: tuple[str, ...] | None = None) -> list[str] | None:
    """Comma-separated names, each one of ``known`` when given; None for an empty value."""
    if not text:
        return None
    values = [v.strip() for v in text.split(",") if v.strip()]
    bad = [v for v in values if known and v not in known]
    if bad:
        raise click.BadParameter(f"unknown {', '.join(bad)}; known: {', '.join(known or ())}")
    return values


class ReferenceType(click.ParamType):
    """``TOP1`` or ``TOP1,TOP5``: reference accuracies in percent (0-100)."""

    name = "TOP1[,TOP5]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or isinstance(value, tuple):
            return value
        parts = [p.strip() for p in str(value).split(",")]
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            self.fail(f"{value!r} is not TOP1 or TOP1,TOP5 (percentages, e.g. 78.4,94.1)", param, ctx)
        if len(nums) > 2 or not all(0 <= v <= 100 for v in nums):
            self.fail(f"{value!r}: give one or two percentages between 0 and 100 (TOP1[,TOP5])", param, ctx)
        return (nums[0], nums[1] if len(nums) == 2 else None)


weights_option = click.option(
    "--weights",
    "-w",
    metavar="PATH|random",
    help="Your checkpoint (any file name; a state dict, {'state_dict'|'model': ...}, DDP 'module.' keys), "
    "comma-separated files (DINO: backbone,head), a directory holding the published file names, or 'random'. "
    "Default: the published file name in $ZOOBENCH_WEIGHTS, checked against the published checksum.",
)
variant_option = click.option(
    "--preprocess",
    "variant",
    metavar="VARIANT",
    default=None,
    help="Named preprocessing variant, e.g. 'modelzoo' for the seeds' own pipeline (see `models`).",
)
reference_option = click.option(
    "--reference",
    type=ReferenceType(),
    default=None,
    help="Reference top-1 (and top-5), percent, for the gate. Default: the model's published figure "
    "(custom weights are then compared with the published checkpoint's figure, and the output says so).",
)
tolerance_option = click.option(
    "--tolerance", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
    help="Allowed |top-1 - reference|, percentage points.",
)  # fmt: skip
gate_option = click.option(
    "--gate",
    type=click.Choice(["normal", "strict"]),
    is_flag=False,
    flag_value="normal",
    default=None,
    help="Exit 1 when the gate fails: `--gate` on a conclusive failure only (too few images is a warning), "
    "`--gate strict` also when the images are too few to decide.",
)


def timing_options(fn: Any) -> Any:
    """``--seconds``, ``--repeats``, ``--min-iters``, ``--warmup``: how each perf cell is timed (perf and run)."""
    options = [
        click.option(
            "--seconds", type=click.FloatRange(min=0), default=1.0, show_default=True,
            help="Perf: minimum timed seconds per cell (runtime × precision × batch) per round.",
        ),
        click.option(
            "--repeats", type=click.IntRange(min=1), default=3, show_default=True,
            help="Perf rounds; each times every cell once, round-robin. img/s is the median; a spread over 5% "
            "is flagged unstable.",
        ),
        click.option(
            "--min-iters", type=click.IntRange(min=1), default=5, show_default=True,
            help="Perf: minimum timed runs per cell per round.",
        ),
        click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True, help="Untimed runs first."),
    ]  # fmt: skip
    for option in reversed(options):
        fn = option(fn)
    return fn


per_card_option = click.option(
    "--per-card",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="For benchmark logs: multiply the per-device figure (Interface throughputRate, ave_throughputRate) by "
    "this (4: the guides' 310 card).",
)


# The data-path options that prep, infer and run share.
limit_option = click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N images.")
workers_option = click.option(
    "--workers",
    "-j",
    type=click.IntRange(min=0),
    default=None,
    help="Decode processes (default: cores, at most 4; 0: decode in this process).",
)
chunk_option = click.option(
    "--chunk", type=click.IntRange(min=1), default=512, show_default=True, help="Images per resumable chunk."
)  # fmt: skip


def ray_options(fn: Any) -> Any:
    """``--ray``, ``--actors``, ``--cpus-per-actor``: run the inference batches on a Ray cluster (infer and run)."""
    options = [
        click.option(
            "--ray", "ray", metavar="ADDRESS", default=None,
            help="Run the inference on Ray: 'local' starts a Ray instance here, 'auto' joins the cluster this "
            "machine belongs to, HOST:PORT joins that head node. Images or the cache must be at the same path "
            "on every node. Needs `pip install 'zoobench[ray]'`.",
        ),
        click.option(
            "--actors", type=click.IntRange(min=1), default=None,
            help="With --ray: inference actors, one runtime session each (default: one per node; one per GPU for "
            "GPU runtimes).",
        ),
        click.option(
            "--cpus-per-actor", type=click.FloatRange(min=0, min_open=True), default=None,
            help="With --ray: CPUs each actor reserves, and its runtime threads (default: half the smallest node's "
            "CPUs reserved, all of them as threads; the other half decodes).",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        fn = option(fn)
    return fn


def decoder_option(for_infer: bool = False) -> Any:
    """``--decoder reference|fast|nvjpeg``: what decodes and resizes the images (prep, infer and run)."""
    from zoobench.data.fastdecode import DECODERS

    return click.option(
        "--decoder",
        type=click.Choice(DECODERS),
        default=None if for_infer else "reference",
        show_default=not for_infer,
        help="reference: PIL, bit-exact with torchvision's transforms (the seeds' bytes, golden tests, accuracy "
        "gates); fast: torchvision's decode_jpeg + uint8 resize, ~2.5x faster per core, pixels within 1-2 levels "
        "(README), other files fall back to the reference, counted; nvjpeg: the same on a CUDA GPU."
        + (" Default: reference for images; a cache is read as its decoder made it." if for_infer else ""),
    )
