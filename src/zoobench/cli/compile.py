"""``zoobench compile``."""

from __future__ import annotations

import click

from zoobench.cli.app import emit_json, friendly
from zoobench.cli.options import (
    runtime_choice,
    weights_option,
)
from zoobench.console import make_console


@click.command(name="compile")
@click.argument("model")
@click.option(
    "--runtime",
    "-r",
    type=runtime_choice(compiles=True),
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
@weights_option
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
    Examples:
      zoobench compile resnet50.onnx --runtime openvino --precision int8 --calibration val/
      zoobench compile mnasnet1_0 -p int8 --calibration val/ -o m.int8.onnx
      zoobench compile resnet50 -w random -r openvino -p bf16
      zoobench compile resnet50.onnx -r tensorrt -p fp16       # NVIDIA GPU
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
