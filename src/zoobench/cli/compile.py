"""``zoobench compile``."""

from __future__ import annotations

from typing import Any

import click

from zoobench.cli.app import emit_json, friendly
from zoobench.cli.options import (
    max_drop_option,
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
@click.option(
    "--accuracy-control",
    is_flag=True,
    help="int8 by NNCF's accuracy-aware quantizer: the most sensitive operations stay in float until the top-1 "
    "drop on --data is within --max-drop (onnxruntime and openvino).",
)
@max_drop_option
@click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="With --accuracy-control: images; half validate the quantizer, the other half (held out) measure the drop.",
)
@click.option(
    "--labels",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="With --accuracy-control: labels of --data; the metric is then top-1, else agreement with fp32.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the engine's metadata.")
@friendly
def compile_cmd(model: str, as_json: bool, **opts: Any) -> None:
    """Compile MODEL (a name or an exported .onnx) for a runtime and precision, keeping its metadata.

    \b
    onnxruntime: fp32 = ORT-optimized ONNX; int8 = static QDQ quantization (per-channel)
    openvino:    IR .xml/.bin; bf16 where the CPU has it; int8 = NNCF post-training quantization
    tensorrt:    serialized plan (NVIDIA GPU)
    int8 without --calibration is calibrated on random data: accuracy unknown, and said so.
    Non-fp32 engines are compared with fp32 (top-1 agreement, top-5 overlap, max logit difference).
    --accuracy-control: NNCF's quantize_with_accuracy_control keeps the most sensitive operations in float
    until the drop is within --max-drop; the metadata lists them, with the drop on held-out images and the
    speed against plain NNCF int8. (Ascend: AMCT's accuracy_based_auto_calibration does the same.)

    \b
    Examples:
      zoobench compile resnet50.onnx --runtime openvino --precision int8 --calibration val/
      zoobench compile mnasnet1_0 -p int8 --calibration val/ -o m.int8.onnx
      zoobench compile resnet50 -w random -r openvino -p bf16
      zoobench compile resnet50.onnx -r tensorrt -p fp16       # NVIDIA GPU
      zoobench compile resnet50.onnx -r openvino -p int8 --accuracy-control --max-drop 0.5 --data val/ --labels l.txt
    """
    from zoobench.compile import CompileSettings, compile_engine
    from zoobench.errors import ZoobenchError

    control = None
    data, labels, max_drop = opts.pop("data"), opts.pop("labels"), opts.pop("max_drop")
    if opts.pop("accuracy_control"):
        control = {"max_drop": max_drop, "data": data, "labels": labels}
    elif data or labels:
        raise ZoobenchError("--data and --labels go with --accuracy-control (use --calibration for plain int8)")
    console = make_console()
    settings = CompileSettings(input_dtype=opts.pop("input_kind"), accuracy_control=control, **opts)
    runtime, precision = settings.runtime, settings.precision
    from zoobench.engines import resolve_engine

    source = resolve_engine(model, weights=settings.weights, workdir=settings.workdir, log=console.print)
    engine = compile_engine(source, settings.but(weights=None), log=console.print)
    if as_json:
        emit_json({"engine": engine.path, **engine.metadata})
        return
    console.print(
        f"[bold]{engine.path}[/]  {runtime} {precision}, {engine.input_dtype} input  "
        f"({engine.metadata.get('compile_seconds')} s)"
    )
