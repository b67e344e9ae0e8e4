"""Options and value types that several verbs share, each defined once, validated where they are parsed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from zoobench.evaluate.record import AccuracyRecord

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
run_weights_option = click.option(
    "--weights",
    "-w",
    "weights",
    multiple=True,
    metavar="[MODEL=]PATH|random",
    help="MODEL=PATH: that model's checkpoint (repeat it for each model). A bare PATH serves a single model; "
    "'random' (untrained) and a directory holding the published file names serve every model. Default: the "
    "published file names in $ZOOBENCH_WEIGHTS, checked against the published checksums.",
)


def split_weights(values: tuple[str, ...], models: list[str]) -> tuple[str | None, dict[str, str]]:
    """``run``'s ``--weights``: the value every model shares (``random``, a directory, or a single model's file) and
    each model's own (``MODEL=PATH``). A usage error for a file meant for several models, a model named twice, or
    ``NAME=PATH`` naming no model of the run."""
    from pathlib import Path

    from zoobench.artifact import is_model_file

    shared: str | None = None
    own: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if sep and name in models:
            if name in own:
                raise click.BadParameter(f"{name} is given twice", param_hint="--weights")
            own[name] = path
        elif sep and not Path(value).exists():
            raise click.BadParameter(f"{value!r}: {name!r} is not a model of this run", param_hint="--weights")
        elif shared is not None:
            raise click.BadParameter(
                "give one value for every model (random, or a directory of the published files) and MODEL=PATH "
                "for each model's own file",
                param_hint="--weights",
            )
        else:
            shared = value
    named = [m for m in models if not is_model_file(m) and m not in own]
    if shared and shared != "random" and not Path(shared).is_dir() and len(named) > 1:
        raise click.BadParameter(
            f"{shared} is one model's checkpoint, and {len(named)} models would get it ({', '.join(named)}); "
            "give it to one: --weights MODEL=PATH",
            param_hint="--weights",
        )
    return shared, own


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
    "--tolerance",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Allowed |top-1 - reference|, percentage points.",
)


def check_gate(acc: AccuracyRecord, *, strict: bool, printed: bool) -> None:
    """Exit 1 on a conclusive failure (and, strict, on an undecided gate); warn on an inconclusive one.

    ``printed``: the verdict's line (``gate: FAIL — …``) is already on the terminal, so a failure exits 1 without
    saying it a second time.
    """
    verdict = acc.gate
    reason = acc.verdict.gate_reason or "no reference to gate against"
    if verdict == "fail":
        if printed:
            raise click.exceptions.Exit(1)
        raise click.ClickException(f"accuracy gate failed: {reason}")
    if verdict != "pass":
        if strict:
            raise click.ClickException(f"accuracy gate not passed (strict): {reason}")
        click.echo(f"Warning: accuracy gate not decided: {reason}", err=True)


class _RuntimeChoice(click.Choice):  # type: ignore[type-arg]
    """The registry's runtimes, read when the option is parsed (a runtime registered later, e.g. by a plugin or a
    test, is a valid choice too)."""

    def __init__(self, compiles: bool) -> None:
        self.compiles = compiles
        super().__init__([], case_sensitive=True)

    @property  # type: ignore[override]
    def choices(self) -> list[str]:
        from zoobench.runtimes import RUNTIMES

        return [s.name for s in RUNTIMES.values() if s.suffix or not self.compiles]

    @choices.setter
    def choices(self, _value: Any) -> None:  # click's __init__ assigns it; the registry is the truth
        pass


def runtime_choice(compiles: bool = False) -> click.Choice:
    """The registered runtimes (``zoobench.runtimes.RUNTIMES``), as a click choice: a name that is not one of them
    is a usage error (exit 2) that lists them, and ``--help`` shows them. ``compiles``: only those that compile
    artifacts."""
    return _RuntimeChoice(compiles)


def check_model(model: str, weights: str | None, variant: str | None) -> None:
    """What a verb checks before it creates its output directory: the model (a known name, or a model file that
    loads), its preprocessing variant (:func:`~zoobench.artifact.resolve_preprocess`), and its weights (found, and
    a dry load into the architecture: a truncated file or another architecture's checkpoint is one line, and
    nothing is created)."""
    from zoobench.artifact import is_model_file, resolve_preprocess
    from zoobench.errors import UsageError

    if is_model_file(model) and weights:
        raise UsageError("--weights applies to a model name, not to a model file")
    resolve_preprocess(model, variant)
    if not is_model_file(model):
        from zoobench.models import get_spec
        from zoobench.models.weights import check_weights

        check_weights(get_spec(model), weights)


def check_variant(models: list[str], variant: str | None) -> None:
    """``--preprocess VARIANT`` names a variant of every model given (a usage error otherwise); an unknown model is
    left to the model checks, which name every problem at once."""
    from zoobench.artifact import resolve_preprocess
    from zoobench.errors import ModelNotFoundError

    for model in models if variant else []:
        try:
            resolve_preprocess(model, variant)
        except ModelNotFoundError:
            continue


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
            "--seconds",
            type=click.FloatRange(min=0),
            default=1.0,
            show_default=True,
            help="Perf: minimum timed seconds per cell (runtime × precision × batch) per round.",
        ),
        click.option(
            "--repeats",
            type=click.IntRange(min=1),
            default=3,
            show_default=True,
            help="Perf rounds; each times every cell once, round-robin. img/s is the median; a spread over 5% "
            "is flagged unstable.",
        ),
        click.option(
            "--min-iters",
            type=click.IntRange(min=1),
            default=5,
            show_default=True,
            help="Perf: minimum timed runs per cell per round.",
        ),
        click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True, help="Untimed runs first."),
    ]
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
    help="Decode processes (default: cores, at most 4, and none under 64 images; 0: decode in this process).",
)
chunk_option = click.option(
    "--chunk", type=click.IntRange(min=1), default=512, show_default=True, help="Images per resumable chunk."
)
infer_chunk_option = click.option(
    "--chunk",
    type=click.IntRange(min=1),
    default=None,
    help="Images per resumable chunk (whole batches) [default: 5% of the images, at most 64 images or 4 batches, "
    "at least one batch: a killed run loses little].",
)


def ray_options(fn: Any) -> Any:
    """``--ray``, ``--actors``, ``--cpus-per-actor``: run the inference batches on a Ray cluster (infer and run)."""
    options = [
        click.option(
            "--ray",
            "ray",
            metavar="ADDRESS",
            default=None,
            help="Run the inference on Ray: 'local' starts a Ray instance here, 'auto' joins the cluster this "
            "machine belongs to, HOST:PORT joins that head node. Images or the cache must be at the same path "
            "on every node. Needs `pip install 'zoobench[ray]'`.",
        ),
        click.option(
            "--actors",
            type=click.IntRange(min=1),
            default=None,
            help="With --ray: inference actors, one runtime session each (default: one per node; one per GPU for "
            "GPU runtimes).",
        ),
        click.option(
            "--cpus-per-actor",
            type=click.FloatRange(min=0, min_open=True),
            default=None,
            help="With --ray: CPUs each actor reserves, and its runtime threads (default: half the smallest node's "
            "CPUs reserved, all of them as threads; the other half decodes).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _max_drop(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from zoobench.errors import ZoobenchError
    from zoobench.evaluate.paired import parse_max_drop

    try:
        parse_max_drop(value)
    except ZoobenchError as exc:
        raise click.BadParameter(str(exc)) from None
    return value.strip()


max_drop_option = click.option(
    "--max-drop",
    metavar="POINTS|PCT%",
    default="1.0",
    show_default=True,
    callback=_max_drop,
    help="Largest top-1 drop against fp32 a column may have: points (1.0, the seeds' tolerance) or a "
    "percentage of fp32's top-1 (1%: MLPerf's 99%-of-fp32 rule). Judged with a 95% paired interval.",
)


def decoder_option(for_infer: bool = False) -> Any:
    """``--decoder reference|fast|nvjpeg``: what decodes and resizes the images (prep, infer and run)."""
    from zoobench.data.fastdecode import DECODERS

    return click.option(
        "--decoder",
        type=click.Choice(DECODERS),
        default=None if for_infer else "reference",
        show_default=not for_infer,
        help="reference: PIL, bit-exact with torchvision's transforms (the seeds' bytes, golden tests, accuracy "
        "gates); fast: torchvision's decode_jpeg + uint8 resize, ~2.4x faster per core (bicubic ~1.4x); pixels "
        "differ by at most 1 level for bicubic, and for bilinear max 1 level on 1527 of 2000 images of a photo set "
        "the suite does not use but max 2 levels on 69 of 300 images sized 410x272 (docs/decoder.md); other files, "
        "and every image of a set under 1000 decoded by a pool (the pool costs more to start than it saves), go to "
        "the reference, counted; nvjpeg: the same on a CUDA GPU."
        + (" Default: reference for images; a cache is read as its decoder made it." if for_infer else ""),
    )
