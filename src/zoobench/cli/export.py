"""``zoobench export``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from zoobench.cli.app import emit_json, friendly
from zoobench.cli.options import (
    variant_option,
    weights_option,
)
from zoobench.console import make_console


@click.command()
@click.argument("model")
@weights_option
@variant_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="ONNX file (default: MODEL.onnx).")
@click.option("--opset", type=int, default=18, show_default=True)
@click.option(
    "--exporter",
    type=click.Choice(["dynamo", "torchscript"]),
    default="dynamo",
    show_default=True,
    help="torch.onnx exporter; torchscript is the legacy one (faster, deprecated).",
)
@click.option("--no-simplify", is_flag=True, help="Skip onnxslim simplification.")
@click.option(
    "--input",
    "input_kind",
    type=click.Choice(["float", "uint8"]),
    default="float",
    show_default=True,
    help="uint8: the engine takes the uint8 NCHW crop (what `prep` caches) and normalizes inside the graph.",
)
@click.option("--json", "as_json", is_flag=True)
@friendly
def export(
    model: str,
    weights: str | None,
    variant: str | None,
    output: str | None,
    opset: int,
    exporter: str,
    no_simplify: bool,
    input_kind: str,
    as_json: bool,
) -> None:
    """Export MODEL to ONNX (dynamic batch, the seeds' IO names), checked, simplified and compared with PyTorch.

    Metadata: preprocessing, weights (published and verified, or your own file: custom) and their sha256.

    \b
    Examples:
      zoobench export mnasnet1_0 --weights finetuned_ep90.pth -o m.onnx # your own checkpoint
      zoobench export dino_resnet50 --weights backbone.pth,head.pth     # DINO: backbone,head
      zoobench export timm:resnet18 --weights random --input uint8      # untrained, uint8 input
    """
    from dataclasses import asdict

    from zoobench.export import ExportSettings, export_model
    from zoobench.models import get_spec
    from zoobench.models.weights import build_model

    settings = ExportSettings(
        opset=opset,
        exporter=exporter,
        simplify=not no_simplify,
        input_dtype="uint8" if input_kind == "uint8" else "float32",
    )
    spec = get_spec(model)
    pp = spec.preprocess_for(variant)
    out = Path(output or f"{spec.name.replace(':', '_')}.onnx")
    console = make_console()
    with console.status(f"exporting {spec.name} ..."):
        torch_model, resolved = build_model(spec, weights)
        res = export_model(torch_model, spec, out, preprocess=pp, weights_info=resolved.to_dict(), settings=settings)
    if as_json:
        emit_json(asdict(res))
        return
    _say(console, res, spec, pp.input_size, input_kind, resolved.describe())


def _say(console: Any, res: Any, spec: Any, size: tuple[int, ...], input_kind: str, weights: str) -> None:
    """The export's lines: a note (another exporter reached the opset), the file and its IO, weights, parity."""
    p = res.parity
    assert p is not None
    if res.note:
        console.print(f"note: {res.note}", markup=False)
    console.print(
        f"[bold]{res.path}[/]  {spec.input_name}\\[batch,{','.join(map(str, size))}]"
        f"{' uint8 (normalized inside)' if input_kind == 'uint8' else ''} -> "
        f"{spec.output_name}\\[batch,{spec.num_classes}]  opset {res.opset} ({res.exporter}), {res.seconds:.1f}s"
    )
    console.print(f"weights: {weights}")
    console.print(
        f"parity vs PyTorch (batch {p.batch_size}): max |diff| {p.max_abs_diff:.3g} "
        f"(relative {p.rel_diff:.2g}), top-1 agreement {p.top1_agreement:.0%}  "
        f"[{'green' if p.passed else 'red'}]{'PASS' if p.passed else 'FAIL'}[/]"
    )
