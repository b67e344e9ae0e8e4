"""``zoobench loadgen``."""

from __future__ import annotations

from typing import Any

import click

from zoobench.cli.app import emit_json, friendly
from zoobench.cli.options import PRECISIONS, max_drop_option, name_list, weights_option

INTERRUPTED_EXIT = 130


@click.command()
@click.argument("model")
@click.option(
    "--data",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="A prep cache (zoobench prep) or an image folder (prepped first into OUTDIR/cache).",
)
@weights_option
@click.option("--runtimes", default="onnxruntime", show_default=True, help="Runtimes, comma-separated.")
@click.option(
    "--precisions", default="fp32", show_default=True, help="Precisions, comma-separated: fp32,fp16,bf16,int8."
)
@click.option("--batch-size", "-b", type=int, default=8, show_default=True, help="Offline's batch.")
@click.option("--labels", type=click.Path(exists=True, dir_okay=False), help="Label file for accuracy mode.")
@max_drop_option
@click.option(
    "--scenarios",
    default="SingleStream,Offline",
    show_default=True,
    help="Comma-separated: SingleStream, MultiStream, Server, Offline.",
)
@click.option("--latency-ms", type=float, default=15.0, show_default=True, help="Server: the bound at p99.")
@click.option("--target-qps", type=float, help="Server: the target queries/s (default: half of perf's best img/s).")
@click.option(
    "--find-qps",
    is_flag=True,
    help="Server: search the highest VALID target (from 1/4 of perf's best img/s, never above it), then confirm it "
    "(an INVALID confirmation is repeated 0.9x lower, up to 3 runs).",
)
@click.option(
    "--search-steps",
    type=int,
    default=6,
    show_default=True,
    help="Server --find-qps: bisection probes at most (it stops once within 3%).",
)
@click.option(
    "--server-policy",
    type=click.Choice(["auto", "streams", "batch"]),
    default="auto",
    show_default=True,
    help="Server: one request per worker (streams), a dynamic batcher (batch), or auto (by perf's batch-8 cost).",
)
@click.option("--max-batch", type=int, default=8, show_default=True, help="Server batch policy: the largest batch.")
@click.option(
    "--batch-wait-ms",
    type=float,
    default=2.0,
    show_default=True,
    help="Server batch policy: how long the first request of a batch waits for more.",
)
@click.option("--mode", type=click.Choice(["performance", "accuracy", "both"]), default="both", show_default=True)
@click.option(
    "--length",
    default="test",
    show_default=True,
    help="test (>= 2 s and early stopping's minimum; not rule compliant), rules (mlperf.conf's ResNet-50 values: "
    "600 s per scenario) or SECONDS.",
)
@click.option("--user-conf", type=click.Path(exists=True, dir_okay=False), help="LoadGen user.conf to apply.")
@click.option("--trace", is_flag=True, help="Keep LoadGen's trace log (off by default).")
@click.option(
    "-o", "--output", "outdir", type=click.Path(file_okay=False), default="zoobench-loadgen", show_default=True
)
@click.option("--json", "as_json", is_flag=True)
@friendly
def loadgen(
    model: str, data: str, runtimes: str, precisions: str, scenarios: str, as_json: bool, **options: Any
) -> None:
    """MODEL (a name or an engine file) under MLPerf LoadGen: SingleStream (p90 latency), MultiStream (p99 of
    8-sample queries), Server (queries/s with p99 within --latency-ms) and Offline (samples/s), in performance and
    accuracy mode, one test per child process.

    LoadGen's files stay verbatim under OUTDIR/<runtime>-<precision>/<Scenario>/{performance,accuracy}/;
    OUTDIR/loadgen.json has one row per column x scenario x mode (VALID/INVALID with each check, p50/p90/p99,
    top-1/top-5 with the paired difference from fp32). Ctrl-C stops the running test, keeps its logs and exits 130.

    \b
    Examples:
      zoobench loadgen mnasnet1_0 -w random --data cache --runtimes onnxruntime,openvino --precisions fp32,int8
      zoobench loadgen model.onnx --data val/ --labels val_label.txt --scenarios SingleStream,MultiStream,Offline
      zoobench loadgen mnasnet1_0 -w random --data cache --scenarios Server --find-qps --mode performance
    """
    from zoobench.runtimes import RUNTIMES
    from zoobench.scenarios.child import Interrupted
    from zoobench.scenarios.settings import LoadgenSettings, parse_scenarios
    from zoobench.scenarios.stage import do_loadgen

    settings = LoadgenSettings(  # the other options are LoadgenSettings' own fields, by the same names
        runtimes=name_list(runtimes, tuple(RUNTIMES)) or ["onnxruntime"],
        precisions=name_list(precisions, PRECISIONS) or ["fp32"],
        scenarios=parse_scenarios(scenarios),
        quiet=as_json,
        **options,
    )
    try:
        doc = do_loadgen(model, data, settings)
    except Interrupted as exc:
        click.echo(f"interrupted: the running test stopped; LoadGen's logs kept in {exc.folder}", err=True)
        raise click.exceptions.Exit(INTERRUPTED_EXIT) from None
    if as_json:
        emit_json(doc)
