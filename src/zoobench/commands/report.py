"""run / report / compare."""

from __future__ import annotations

import shlex
import sys

import click

from zoobench.cli import cli, emit_json, friendly
from zoobench.commands.options import reference_option, tolerance_option


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _ints(value: str) -> list[int]:
    try:
        return [int(v) for v in _csv(value)]
    except ValueError as exc:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from exc


@cli.command()
@click.argument("models", nargs=-1, required=True)
@click.option("--data", type=click.Path(exists=True, file_okay=False), help="Image folder (flat or class folders).")
@click.option("--labels", type=click.Path(exists=True, dir_okay=False), help="val_label.txt-style labels file.")
@click.option("--weights", "-w", metavar="PATH|random", help="Weights for every model, or 'random' (perf only).")
@click.option("--preprocess", "variant", metavar="VARIANT", default=None, help="Named preprocessing variant.")
@click.option("--runtimes", default="onnxruntime", show_default=True, help="Comma-separated runtimes for perf.")
@click.option("--precisions", default="fp32", show_default=True, help="Comma-separated precisions for perf.")
@click.option("--batch-sizes", "-b", default="1,4,8,16,32,64", show_default=True, help="Perf batch sizes.")
@click.option("--infer-batch-size", type=int, default=16, show_default=True)
@click.option(
    "--seconds",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Perf: minimum timed seconds per batch size per round.",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Perf rounds, interleaved across cells; img/s is their median.",
)
@click.option("--min-iters", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--warmup", type=int, default=3, show_default=True)
@click.option("--threads", type=int, default=None)
@tolerance_option
@reference_option
@click.option("--limit", type=int, default=None, help="Only the first N images.")
@click.option("-o", "--output", "rundir", default="zoobench-run", show_default=True, type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print model -> status as JSON.")
@friendly
def run(
    models: tuple[str, ...],
    data: str | None,
    labels: str | None,
    weights: str | None,
    variant: str | None,
    runtimes: str,
    precisions: str,
    batch_sizes: str,
    infer_batch_size: int,
    seconds: float,
    repeats: int,
    min_iters: int,
    warmup: int,
    threads: int | None,
    tolerance: float,
    reference: tuple[float, float | None] | None,
    limit: int | None,
    rundir: str,
    as_json: bool,
) -> None:
    """Every stage for each MODEL into one run directory: export → compile → prep → infer → eval → perf → report.

    A stage whose inputs did not change since the last run into the same directory is skipped, so an
    interrupted run resumes and a repeated one only rebuilds what changed. One model failing does not
    stop the others. Every model is checked first (known name or model file, weights found and fitting the
    checksum rule), so a typo costs one line and no directory. Exit code 0 when no model failed its gate
    conclusively or errored (an inconclusive gate on too few images, random weights, no reference or no
    --labels are reported, not failed); 1 otherwise; 2 for a usage error.

    \b
    RUNDIR/
      run.json, report.md, report.html      the run: settings, statuses, the readable report
      <model>/stages.json                   per stage: inputs hash, outputs, status, seconds
      <model>/model.json                    model card (params, GFLOPs, preprocessing, weights sha256)
      <model>/engine/<model>.onnx           exported model
      <model>/cache/                        preprocessed uint8 data; infer reads it
      <model>/infer/                        predictions.csv summary.json result.json accuracy.json
      <model>/perf/<runtime>-<precision>.json
      <model>/plots/*.png, <model>/report.md, <model>/report.html

    \b
    Example: zoobench run efficientnet_lite0 --data photos/ --labels labels.txt -b 1,8 -o run1
             zoobench run mnasnet1_0 --weights random --runtimes onnxruntime,openvino -o run1
    """
    from zoobench.runner import RunConfig, all_passed, run_models, validate_models

    validate_models(list(models), weights)  # before anything is created

    cfg = RunConfig(
        data=data,
        labels=labels,
        weights=weights,
        variant=variant,
        runtimes=_csv(runtimes),
        precisions=_csv(precisions),
        batch_sizes=_ints(batch_sizes),
        infer_batch_size=infer_batch_size,
        seconds=seconds,
        repeats=repeats,
        min_iters=min_iters,
        warmup=warmup,
        threads=threads,
        tolerance=tolerance,
        reference=reference,
        limit=limit,
        quiet=as_json,
    )
    command = "zoobench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    statuses = run_models(list(models), rundir, cfg, command=command)
    if as_json:
        emit_json(statuses)
    else:
        for m, s in statuses.items():
            click.echo(f"{m}: {s}")
        click.echo(f"report: {rundir}/report.html")
    if not all_passed(statuses):
        bad = ", ".join(f"{m} ({s})" for m, s in statuses.items() if s in ("failed", "error"))
        raise click.ClickException(f"not every model passed: {bad}")


@cli.command()
@click.argument("rundir", type=click.Path(exists=True, file_okay=False))
@friendly
def report(rundir: str) -> None:
    """Regenerate RUNDIR's report.md / report.html and plots from its JSON files alone.

    RUNDIR is a `zoobench run` directory (its report and every model's) or one model directory of it.

    \b
    Examples:
      zoobench report run1/                    # run1/report.md, run1/report.html, every model's too
      zoobench report run1/wide_resnet50_2/    # one model's section only
    """
    from pathlib import Path

    from zoobench.errors import DataError
    from zoobench.report import model_dirs, write_model_report, write_run_report

    root = Path(rundir)
    if (root / "model.json").is_file() or (root / "stages.json").is_file():
        out = write_model_report(root)
    elif model_dirs(root):
        out = write_run_report(root)
    else:
        raise DataError(f"{rundir}: not a zoobench run directory (no <model>/model.json or stages.json)")
    click.echo(f"wrote {out['markdown']} and {out['html']}")


@cli.command()
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
