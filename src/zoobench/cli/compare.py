"""``zoobench compare``."""

from __future__ import annotations

import click

from zoobench.cli.app import emit_json, friendly


@click.command()
@click.argument("rundirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--output", "outdir", type=click.Path(file_okay=False), help="Write compare.md/.html/.json here.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@friendly
def compare(rundirs: tuple[str, ...], outdir: str | None, as_json: bool) -> None:
    """The seeds' cross-hardware table: throughput per batch size and best batch of runs A, B, ..., and A/B.

    Each RUNDIR is a `zoobench run` directory or a `zoobench perf -o` directory, from any machine or version.

    \b
    Example: zoobench compare run-laptop run-server -o cmp
    """
    from zoobench.compare import compare_runs, comparison_markdown, write_comparison

    cmp = compare_runs(list(rundirs))
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
