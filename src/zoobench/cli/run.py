"""``zoobench run``."""

from __future__ import annotations

import shlex
import sys
from typing import Any

import click

from zoobench.cli.app import emit_json, friendly
from zoobench.cli.options import (
    PRECISIONS,
    check_variant,
    decoder_option,
    int_list,
    limit_option,
    max_drop_option,
    name_list,
    ray_options,
    reference_option,
    run_weights_option,
    split_weights,
    timing_options,
    tolerance_option,
    variant_option,
)

RUN_HELP = """Every stage for each MODEL into one run directory: export → compile → prep → infer → eval → perf → report.

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
  <model>/infer/                        the fp32 onnxruntime reference: predictions.csv summary.json
                                        result.json accuracy.json
  <model>/infer/<runtime>-<precision>/  every other column, scored on the held-out images, with its
                                        paired verdict against the reference (accuracy.json "paired");
                                        calibration_predictions.csv: the calibration images' rows
  <model>/calibration.json              which images calibrated int8 and which were scored
  <model>/perf/<runtime>-<precision>.json
  <model>/plots/*.png, <model>/report.md, <model>/report.html

\b
Examples:
  zoobench run efficientnet_lite0 --data photos/ --labels labels.txt -b 1,8 -o run1
  zoobench run efficientnet_lite0 --data val/ --labels val.txt --runtimes onnxruntime,openvino --precisions fp32,int8
  zoobench run mnasnet1_0 --weights random --data photos/ -o run2     # the data path, not gated
  zoobench run wide_resnet50_2 --weights my_finetune.pth --data val/ --labels val_label.txt --reference 79.2,94.6
  zoobench run wide_resnet50_2 mnasnet1_0 -w wide_resnet50_2=wrn_ft.pth -w mnasnet1_0=mnas_ft.pth --data val/
  zoobench run mnasnet1_0 --weights random --runtimes onnxruntime,openvino -o run1
  zoobench run mnasnet1_0 --weights random --tune -b 1,8 -o run1   # tuned columns beside the untuned
  zoobench run mnasnet1_0 --data /shared/val --labels val_label.txt --ray auto -o run3   # infer on the cluster
  zoobench run mnasnet1_0 --weights random --data photos/ --decoder fast -o run4   # the fast decoder for prep
"""


@click.command(help=RUN_HELP)
@click.argument("models", nargs=-1, required=True)
@click.option("--data", type=click.Path(exists=True, file_okay=False), help="Image folder (flat or class folders).")
@click.option("--labels", type=click.Path(exists=True, dir_okay=False), help="val_label.txt-style labels file.")
@run_weights_option
@variant_option
@click.option("--runtimes", default="onnxruntime", show_default=True, help="Comma-separated runtimes for perf.")
@click.option("--precisions", default="fp32", show_default=True, help="Comma-separated precisions for perf.")
@click.option("--batch-sizes", "-b", default="1,4,8,16,32,64", show_default=True, help="Perf batch sizes.")
@click.option("--infer-batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@timing_options
@click.option("--threads", type=int, default=None)
@click.option(
    "--tune",
    is_flag=True,
    help="A tune stage before each perf column (`zoobench tune`); its tuned column is timed "
    "beside the untuned one. Skipped when its profile is up to date.",
)
@click.option(
    "--tune-budget", type=click.FloatRange(min=0, min_open=True), default=75.0, show_default=True,
    help="Seconds for each tune stage (one runtime × precision, all batch sizes).",
)  # fmt: skip
@tolerance_option
@reference_option
@limit_option
@click.option(
    "--score",
    type=click.Choice(["all", "none"]),
    default="all",
    show_default=True,
    help="all: infer and score every runtime × precision column that runs here (infer/<runtime>-<precision>/); "
    "none: only the fp32 onnxruntime reference (infer/).",
)
@click.option(
    "--calibration",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="A separate image folder for int8 calibration; every --data image is then scored.",
)
@click.option(
    "--calibration-images",
    type=click.IntRange(min=1),
    default=None,
    help="int8 calibrates on this many of --data's images (a seeded, class-stratified pick), never scored "
    "[default: min(300, images/5); under 100 images: all of them, marked in-sample].",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the calibration pick.")
@max_drop_option
@click.option(
    "--accuracy-control",
    is_flag=True,
    help="int8 columns: NNCF's accuracy-aware quantization keeps the most sensitive operations in float until "
    "the drop on the calibration images is within --max-drop.",
)
@decoder_option()
@ray_options
@click.option("-o", "--output", "rundir", default="zoobench-run", show_default=True, type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print model -> status as JSON.")
@friendly
def run(models: tuple[str, ...], rundir: str, as_json: bool, **opts: Any) -> None:
    from zoobench.run.chain import RunConfig, all_passed, run_models
    from zoobench.run.checks import validate_data, validate_models
    from zoobench.runtimes import RUNTIMES

    runtimes, precisions = opts.pop("runtimes"), opts.pop("precisions")
    opts["weights"], own = split_weights(opts.pop("weights"), list(models))
    tune_budget = opts.pop("tune_budget")
    opts["tune"] = tune_budget if opts["tune"] else None
    cfg = RunConfig.of(
        model_weights=own,
        runtimes=name_list(runtimes, tuple(RUNTIMES)) or ["onnxruntime"],
        precisions=name_list(precisions, PRECISIONS) or ["fp32"],
        batch_sizes=int_list(opts.pop("batch_sizes")),
        quiet=as_json,
        **opts,
    )
    check_variant(list(models), cfg.infer.variant)  # a usage error (exit 2) before the slower checks
    if cfg.calibration and cfg.calibration_images:
        raise click.UsageError("give --calibration DIR or --calibration-images N, not both")
    from zoobench.data.fastdecode import check_decoder

    check_decoder(cfg.infer.decoder)  # no torchvision, or nvjpeg without a GPU: one line, before anything is created
    validate_models(list(models), cfg.infer.weights, own)  # after the options parse, before anything is created
    validate_data(cfg.data, cfg.infer.labels, cfg.infer.limit)
    if cfg.infer.ray:
        from zoobench.cluster.connect import preflight

        preflight(cfg.infer.ray)
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
