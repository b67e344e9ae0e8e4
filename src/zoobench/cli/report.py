"""``zoobench report``."""

from __future__ import annotations

from pathlib import Path

import click

from zoobench.cli.app import friendly
from zoobench.cli.options import per_card_option


@click.command()
@click.argument("rundir", type=click.Path(exists=True, file_okay=False))
@per_card_option
@click.option("--model", help="The model of a perf-log folder, where its names and logs do not say.")
@friendly
def report(rundir: str, per_card: int, model: str | None) -> None:
    """Regenerate RUNDIR's report.md / report.html and plots from its JSON files alone.

    RUNDIR is a `zoobench run` directory (its report and every model's) or one model directory of it, or a
    folder of the seeds' tools' perf logs (see `zoobench compare --help`), reported beside the guides' columns.

    \b
    Examples:
      zoobench report run1/                    # run1/report.md, run1/report.html, every model's too
      zoobench report run1/wide_resnet50_2/    # one model's section only
      zoobench report wrn_310_logs/ --per-card 4   # benchmark logs from a 310, per card as the guides count
    """

    from zoobench.errors import DataError
    from zoobench.report import model_dirs, write_model_report, write_run_report

    root = Path(rundir)
    if (root / "model.json").is_file() or (root / "stages.json").is_file():
        out = write_model_report(root)
    elif model_dirs(root):
        out = write_run_report(root)
    else:
        from zoobench.report.logs import write_logs_report

        try:
            out = write_logs_report(root, per_card, model)
        except DataError as exc:
            raise DataError(
                f"{rundir}: not a zoobench run directory (no <model>/model.json or stages.json); {exc}"
            ) from exc
    click.echo(f"wrote {out['markdown']} and {out['html']}")
