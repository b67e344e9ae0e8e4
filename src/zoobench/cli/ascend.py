"""``zoobench ascend``."""

from __future__ import annotations

import click

from zoobench.cli.app import emit_json, friendly
from zoobench.cli.options import int_list


@click.command()
@click.argument("model")
@click.option("--soc-version", default="Ascend310P3", show_default=True, help="atc --soc_version (npu-smi info).")
@click.option("--batch-sizes", "-b", default="1,4,8,16,32,64", show_default=True, help="One .om per batch size.")
@click.option("--json", "as_json", is_flag=True, help="The lines as JSON.")
@friendly
def ascend(model: str, soc_version: str, batch_sizes: str, as_json: bool) -> None:
    """The Ascend side of MODEL (a model name or an exported .onnx): the lines to copy onto an Ascend machine.

    Prints the export and prep lines (the seeds' float32 .bin inputs), then per batch size the `atc` line that
    turns zoobench's ONNX into an .om (the seeds' input names and shapes, --framework=5), the `ais_bench`
    lines that run it (dataset mode with TXT dumps into result_bsN/, and pure-inference mode with its console
    saved as perf_logs/MODEL_bsN.log) and the `zoobench eval` that scores its dump folder against the
    published reference. Bring perf_logs/ back and `zoobench compare` it with the guides' columns.

    \b
    Examples:
      zoobench ascend wide_resnet50_2
      zoobench ascend resnest50.onnx --soc-version Ascend310 -b 1,16
    """
    from zoobench.ascend import command_lines

    lines = command_lines(model, tuple(int_list(batch_sizes)), soc_version)
    if as_json:
        emit_json(lines)
        return
    out = [f"# {lines['model']} -> Ascend ({soc_version}): input {lines['input']}, output {lines['output']}"]
    out += [ln for ln in (lines["export"], lines["prep"], lines["mkdir"]) if ln]
    for b in lines["batches"]:
        out += [f"\n# batch {b['batch_size']}", b["atc"], b["ais_bench"], b["ais_bench_pure"], b["eval"]]
    out.append(f"\n# back here, with perf_logs/ and the result_bs*/ dumps\n{lines['compare']}")
    click.echo("\n".join(out))
