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
    import dataclasses
    import time

    from zoobench.engines import resolve
    from zoobench.engines.build import export_file

    console = make_console()
    recipe = resolve(model, weights=weights, variant=variant, exporter=exporter)
    recipe = dataclasses.replace(recipe, opset=opset, simplify=not no_simplify)
    out = Path(output or f"{recipe.model.replace(':', '_')}.onnx")
    said: list[str] = []
    t0 = time.perf_counter()
    with console.status(f"exporting {recipe.model} ..."):
        engine = export_file(recipe, out, "uint8" if input_kind == "uint8" else "float32", said.append)
    res = _result(engine, recipe, time.perf_counter() - t0, said)
    if as_json:
        emit_json(res)
        return
    assert recipe.weights is not None
    _say(console, res, recipe.spec, recipe.preprocess.input_size, input_kind, recipe.weights.describe())


def _result(engine: Any, recipe: Any, seconds: float, said: list[str]) -> dict[str, Any]:
    """What the export command says of the file (its metadata): from the store or exported now."""
    meta = engine.metadata
    note = " ".join(s[len("note: ") :] for s in said if s.startswith("note: "))
    return {
        "path": engine.path,
        "model": recipe.model,
        "opset": meta.get("opset"),
        "exporter": meta.get("exporter"),
        "simplified": recipe.simplify,
        "seconds": round(seconds, 3),
        "parity": meta.get("parity"),
        "weights": meta.get("weights"),
        "note": note,
        "reused": not any(s.startswith("exporting ") for s in said),
    }


def _say(console: Any, res: Any, spec: Any, size: tuple[int, ...], input_kind: str, weights: str) -> None:
    """The export's lines: a note (another exporter reached the opset), the file and its IO, weights, parity."""
    p = res["parity"]
    assert p is not None
    if res["note"]:
        console.print(f"note: {res['note']}", markup=False)
    how = "reused from the engine store" if res["reused"] else f"{res['seconds']:.1f}s"
    console.print(
        f"[bold]{res['path']}[/]  {spec.input_name}\\[batch,{','.join(map(str, size))}]"
        f"{' uint8 (normalized inside)' if input_kind == 'uint8' else ''} -> "
        f"{spec.output_name}\\[batch,{spec.num_classes}]  opset {res['opset']} ({res['exporter']}), {how}"
    )
    console.print(f"weights: {weights}")
    console.print(
        f"parity vs PyTorch (batch {p['batch_size']}): max |diff| {p['max_abs_diff']:.3g} "
        f"(relative {p['rel_diff']:.2g}), top-1 agreement {p['top1_agreement']:.0%}  "
        f"[{'green' if p['passed'] else 'red'}]{'PASS' if p['passed'] else 'FAIL'}[/]"
    )
