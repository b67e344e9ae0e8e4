"""``zoobench perf``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from zoobench.cli.app import emit_json, friendly
from zoobench.cli.options import (
    int_list,
    name_list,
    runtime_choice,
    timing_options,
    weights_option,
)

if TYPE_CHECKING:
    from zoobench.perf.settings import PerfSettings


@click.command()
@click.argument("model")
@weights_option
@click.option(
    "--batch-sizes",
    "--batch-size",
    "-b",
    "batch_sizes",
    default="1",
    show_default=True,
    help="Batch sizes, comma-separated, e.g. 1,4,8,16,32,64.",
)
@click.option("--runtimes", "runtimes", default=None, help="Runtimes, comma-separated (default: --runtime).")
@click.option(
    "--runtime",
    type=runtime_choice(),
    default=None,
    help="The runtime when --runtimes is not given [default: a compiled engine's own; else onnxruntime].",
)
@click.option(
    "--precisions",
    "precisions",
    default=None,
    help="Precisions, comma-separated: fp32,fp16,bf16,int8 (default: the engine's, fp32 for an export).",
)
@click.option(
    "--calibration",
    type=click.Path(exists=True, file_okay=False),
    help="Image folder to calibrate int8 engines compiled for the sweep (else random data, flagged).",
)
@timing_options
@click.option("--data", "data_kind", type=click.Choice(["random", "zero"]), default="random", show_default=True)
@click.option("--threads", type=int, default=None)
@click.option(
    "-o",
    "--output",
    "outdir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write OUTDIR/perf.json (and exported / compiled models).",
)
@click.option(
    "--ray",
    "ray",
    metavar="ADDRESS",
    default=None,
    help="Run the sweep on every node of a Ray cluster ('local', 'auto' or HOST:PORT), one exclusive task per "
    "node; writes OUTDIR/nodes/<node>/perf.json and prints the nodes side by side (as `compare` does).",
)
@click.option("--untuned", is_flag=True, help="Ignore the engine's tuned profile (STEM.tuned.json): defaults only.")
@click.option("--per-node", is_flag=True, help="With --ray: the sweep on every node (what --ray does; for clarity).")
@click.option("--json", "as_json", is_flag=True)
@friendly
def perf(
    model: str,
    batch_sizes: str,
    runtimes: str | None,
    runtime: str | None,
    precisions: str | None,
    ray: str | None,
    untuned: bool,
    per_node: bool,
    as_json: bool,
    **timing: Any,
) -> None:
    """Pure-inference latency and throughput of MODEL per batch size, runtime and precision.

    Rows are batch sizes plus the best batch; columns are runtime × precision, then ratios vs the first
    column. A combination that cannot run here is listed as unavailable with the reason. Every cell is
    timed in --repeats rounds interleaved across cells (so drift on a shared machine hits all alike); a
    cell shows the median img/s, and "±N%!" when its rounds spread more than 5%. The best batch is the
    highest median; batches within the noise of it are listed as tied. When `zoobench tune` left a profile
    beside the engine (STEM.tuned.json) made on this machine, a tuned column runs beside each column it
    tunes, with the ratio tuned / untuned; --untuned skips it.

    \b
    Examples:
      zoobench perf resnet50 -w random -b 1,8,32 --runtimes onnxruntime,openvino --precisions fp32,int8
      zoobench perf model.onnx -b 1,8 --repeats 5 --seconds 2 -o out  # steadier
      zoobench perf mnasnet1_0 -b 1,8,16 --json | jq .table.best      # best + ties
      zoobench perf wrn.onnx -b 1,16,64 --ray auto --per-node -o nodes # every node; then compare nodes/ seeds:T4
    """
    from zoobench.perf.settings import PerfSettings
    from zoobench.perf.sweep import do_perf
    from zoobench.runtimes import RUNTIMES, runtime_for_path

    if per_node and not ray:
        raise click.UsageError("--per-node needs --ray ADDRESS (the cluster whose nodes to sweep)")
    default = runtime_for_path(model) or "onnxruntime"
    settings = PerfSettings(
        batch_sizes=int_list(batch_sizes),
        runtimes=name_list(runtimes, tuple(RUNTIMES)) or [runtime or default],
        precisions=name_list(precisions, ("fp32", "fp16", "bf16", "int8")),
        tuned=not untuned,
        quiet=as_json,
        **timing,  # weights, calibration, seconds, repeats, min_iters, warmup, data_kind, threads, outdir
    )
    if ray:
        _per_node(model, ray, settings.outdir or "zoobench-perf-nodes", settings, as_json)
        return
    result = do_perf(model, settings)
    if as_json:
        emit_json(result)


# What each node's sweep takes (``perf --ray``): the timing and the columns; the node picks its threads.
NODE_SETTINGS = (
    "batch_sizes",
    "seconds",
    "repeats",
    "min_iters",
    "warmup",
    "data_kind",
    "threads",
    "runtimes",
    "precisions",
    "calibration",
)


def _per_node(model: str, ray: str, outdir: str, settings: PerfSettings, as_json: bool) -> None:
    from zoobench.cluster.pernode import perf_per_node
    from zoobench.compare import compare_runs, comparison_markdown

    if settings.calibration:
        raise click.UsageError("--calibration is a local folder; with --ray, compile int8 engines first and sweep them")
    sweep = {k: list(v) if isinstance(v, tuple) else v for k in NODE_SETTINGS for v in [getattr(settings, k)]}
    index = perf_per_node(model, address=ray, outdir=outdir, weights=settings.weights, quiet=as_json, **sweep)
    if as_json:
        emit_json(index)
        return
    ran = [label for label, n in index["nodes"].items() if n.get("perf")]
    if len(ran) >= 2:
        click.echo(comparison_markdown(compare_runs([outdir])))
    click.echo(
        f"wrote {outdir}/nodes.json and {len(ran)} perf.json; compare them with: zoobench compare {outdir} seeds:T4"
    )
