"""runtimes / compile / perf: what can run here, compiled engines, and the batch × runtime × precision sweep."""

from __future__ import annotations

import click

from zoobench.cli import cli, emit_json, friendly
from zoobench.console import make_console


def parse_ints(text: str) -> list[int]:
    """Comma-separated positive integers, e.g. batch sizes ``1,4,8``."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise click.BadParameter(f"batch sizes must be >= 1, got {text!r}")
    return values


def parse_names(text: str | None, known: tuple[str, ...] | None = None) -> list[str] | None:
    if not text:
        return None
    values = [v.strip() for v in text.split(",") if v.strip()]
    bad = [v for v in values if known and v not in known]
    if bad:
        raise click.BadParameter(f"unknown {', '.join(bad)}; known: {', '.join(known or ())}")
    return values


@cli.command(name="runtimes")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly
def runtimes_cmd(as_json: bool) -> None:
    """List the runtimes: installed or not, version, devices and precisions here, and how to install.

    \b
    Examples:
      zoobench runtimes
      zoobench runtimes --json | jq '.[] | select(.available) | .runtime'
    """
    from zoobench.runtimes import runtime_status

    rows = runtime_status()
    if as_json:
        emit_json(rows)
        return
    from rich.table import Table

    from zoobench.console import make_console

    t = Table(title="zoobench runtimes", title_justify="left")
    for col in ("runtime", "available", "version", "devices", "precisions", "install / reason"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            r["runtime"],
            "[green]yes[/]" if r["available"] else "[red]no[/]",
            str(r["version"] or "-").split("-")[0],
            ", ".join(r["devices"]) or "-",
            ", ".join(r["precisions"]) or "-",
            r.get("reason", "") + ("" if r["available"] else f"  ({r['install']})"),
        )
    make_console(stderr=False).print(t)


@cli.command(name="compile")
@click.argument("model")
@click.option(
    "--runtime",
    "-r",
    type=click.Choice(["onnxruntime", "openvino", "tensorrt"]),
    default="onnxruntime",
    show_default=True,
)
@click.option(
    "--precision", "-p", type=click.Choice(["fp32", "fp16", "bf16", "int8"]), default="fp32", show_default=True
)
@click.option("--batch-size", "-b", type=int, default=None, help="Fix the batch (default: dynamic).")
@click.option(
    "--calibration",
    type=click.Path(exists=True, file_okay=False),
    help="Image folder for int8 calibration and the agreement check (model's own preprocessing).",
)
@click.option(
    "--agreement-data",
    type=click.Path(exists=True, file_okay=False),
    help="Image folder for the fp32 agreement check (default: --calibration).",
)
@click.option("--weights", "-w", metavar="PATH|random", help="Weights when MODEL is a name.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Artifact path (default: MODEL.RUNTIME.PRECISION.{onnx,xml,plan} beside the ONNX).",
)
@click.option(
    "--input",
    "input_kind",
    type=click.Choice(["float", "uint8"]),
    default=None,
    help="uint8: the engine takes the uint8 crop (what `prep` caches) and normalizes inside. Default: as MODEL.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the engine's metadata.")
@friendly
def compile_cmd(
    model: str,
    runtime: str,
    precision: str,
    batch_size: int | None,
    calibration: str | None,
    agreement_data: str | None,
    weights: str | None,
    output: str | None,
    input_kind: str | None,
    as_json: bool,
) -> None:
    """Compile MODEL (a name or an exported .onnx) for a runtime and precision, keeping its metadata.

    \b
    onnxruntime: fp32 = ORT-optimized ONNX; int8 = static QDQ quantization (per-channel)
    openvino:    IR .xml/.bin; bf16 where the CPU has it; int8 = NNCF post-training quantization
    tensorrt:    serialized plan (NVIDIA GPU)
    int8 without --calibration is calibrated on random data: accuracy unknown, and said so.
    Non-fp32 engines are compared with fp32 (top-1 agreement, top-5 overlap, max logit difference).

    \b
    Example: zoobench compile resnet50.onnx --runtime openvino --precision int8 --calibration val/
    """
    from zoobench.compile import compile_engine

    console = make_console()
    engine = compile_engine(
        model,
        runtime=runtime,
        precision=precision,
        batch_size=batch_size,
        calibration=calibration,
        agreement_data=agreement_data,
        output=output,
        weights=weights,
        log=console.print,
        input_dtype=input_kind,
    )
    if as_json:
        emit_json({"engine": engine.path, **engine.metadata})
        return
    console.print(
        f"[bold]{engine.path}[/]  {runtime} {precision}, {engine.input_dtype} input  "
        f"({engine.metadata.get('compile_seconds')} s)"
    )


@cli.command()
@click.argument("model")
@click.option("--weights", "-w", metavar="PATH|random", help="Weights when MODEL is a name ('random' for perf work).")
@click.option(
    "--batch-sizes",
    "--batch-size",
    "-b",
    "batch_sizes",
    default="1",
    show_default=True,
    help="Batch sizes, comma-separated, e.g. 1,4,8,16,32,64.",
)
@click.option("--runtimes", "runtimes", default=None, help="Runtimes, comma-separated (default: --runtime).")
@click.option("--runtime", default="onnxruntime", show_default=True, help="The runtime when --runtimes is not given.")
@click.option(
    "--precisions",
    "precisions",
    default=None,
    help="Precisions, comma-separated: fp32,fp16,bf16,int8 (default: the engine's, fp32 for an export).",
)
@click.option(
    "--calibration",
    type=click.Path(exists=True, file_okay=False),
    help="Image folder to calibrate int8 engines compiled for the sweep (else random data, flagged).",
)
@click.option(
    "--seconds",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Minimum timed seconds per cell (runtime × precision × batch) per round.",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Rounds; each times every cell once, round-robin. img/s is the median; spread over 5% is flagged.",
)
@click.option(
    "--min-iters",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Minimum timed runs per cell per round.",
)
@click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True)
@click.option("--data", "data_kind", type=click.Choice(["random", "zero"]), default="random", show_default=True)
@click.option("--threads", type=int, default=None)
@click.option(
    "-o",
    "--output",
    "outdir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write OUTDIR/perf.json (and exported / compiled models).",
)
@click.option("--json", "as_json", is_flag=True)
@friendly
def perf(
    model: str,
    weights: str | None,
    batch_sizes: str,
    runtimes: str | None,
    runtime: str,
    precisions: str | None,
    calibration: str | None,
    seconds: float,
    repeats: int,
    min_iters: int,
    warmup: int,
    data_kind: str,
    threads: int | None,
    outdir: str | None,
    as_json: bool,
) -> None:
    """Pure-inference latency and throughput of MODEL per batch size, runtime and precision.

    Rows are batch sizes plus the best batch; columns are runtime × precision, then ratios vs the first
    column. A combination that cannot run here is listed as unavailable with the reason. Every cell is
    timed in --repeats rounds interleaved across cells (so drift on a shared machine hits all alike); a
    cell shows the median img/s, and "±N%!" when its rounds spread more than 5%. The best batch is the
    highest median; batches within the noise of it are listed as tied.

    \b
    Example: zoobench perf resnet50 -w random -b 1,8,32 --runtimes onnxruntime,openvino --precisions fp32,int8
    """
    from zoobench.perf.sweep import do_perf
    from zoobench.runtimes import RUNTIMES

    result = do_perf(
        model,
        weights=weights,
        batch_sizes=parse_ints(batch_sizes),
        seconds=seconds,
        repeats=repeats,
        min_iters=min_iters,
        warmup=warmup,
        data_kind=data_kind,
        threads=threads,
        outdir=outdir,
        quiet=as_json,
        runtimes=parse_names(runtimes, tuple(RUNTIMES)) or [runtime],
        precisions=parse_names(precisions, ("fp32", "fp16", "bf16", "int8")),
        calibration=calibration,
    )
    if as_json:
        emit_json(result)
