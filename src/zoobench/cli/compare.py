"""``zoobench compare``."""

from __future__ import annotations

import click

from zoobench.cli.app import emit_json, friendly
from zoobench.cli.options import per_card_option


@click.command()
@click.argument("rundirs", nargs=-1, required=True)
@per_card_option
@click.option(
    "--model",
    "model",
    help="The model of the perf-log folders (default: named by their files, logs or folder name).",
)
@click.option("-o", "--output", "outdir", type=click.Path(file_okay=False), help="Write compare.md/.html/.json here.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@friendly
def compare(rundirs: tuple[str, ...], per_card: int, model: str | None, outdir: str | None, as_json: bool) -> None:
    """The seeds' cross-hardware table: throughput per batch size and best batch of runs A, B, ..., and A/B.

    Each RUNDIR is a `zoobench run` directory or a `zoobench perf -o` directory, from any machine or version;
    or seeds:310, seeds:310P, seeds:310P-AOE, seeds:T4 (the five guides' own tables, quoted, not measured);
    or a folder of the seeds' tools' perf logs (benchmark perf_vision_batchsize_*_device_*.txt and
    PureInfer_perf_of_*_in_device_*.txt, saved ais_bench or benchmark console logs, ais_bench *_summary.json,
    trtexec logs; every release's form, see docs/perflogs.md), each figure traced to the file and line it came
    from. The batch size is read from the line, else from the file name (bs16, batchsize_16, _b16), else from an
    argument the log echoes (--batchsize, batch_size, trtexec --shapes), else from a summary JSON; a log that
    says none is refused in one line. A file that is no known form is named with the closest form, and the rest
    of the folder is still read. A log folder's model is --model if given, else the registry name
    in its file names or in the om / onnx paths its logs name, else in the folder's name, else any model.

    Quoted columns print as the guides print them; a comparison of quoted columns only prints its ratios
    to 5 decimals, the guides' precision.

    \b
    Examples:
      zoobench compare run-laptop run-server -o cmp
      zoobench compare run1 seeds:310P seeds:T4            # our CPU run beside the guides' 310P and T4
      zoobench compare seeds:310P seeds:310 seeds:T4       # the guides' "310P/310" and "310P/T4" ratios
      zoobench compare my-310-logs/ seeds:310 --per-card 4 # your benchmark logs, per card as the guides count
    """
    from zoobench.compare import compare_runs, comparison_markdown, write_comparison

    if model:
        from zoobench.models import get_spec

        model = get_spec(model).name  # an unknown name is one line
    cmp = compare_runs(list(rundirs), per_card=per_card, model=model)
    if outdir:
        write_comparison(cmp, outdir)
    if as_json:
        emit_json(cmp)
        return
    for warning in cmp["warnings"]:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(comparison_markdown(cmp))
    if outdir:
        click.echo(f"wrote {outdir}/compare.md, compare.html, compare.json")
