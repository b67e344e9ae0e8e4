"""``zoobench tune``."""

from __future__ import annotations

from typing import Any

import click

from zoobench.cli.app import emit_json, friendly
from zoobench.cli.options import PRECISIONS, int_list, runtime_choice


@click.command()
@click.argument("engine", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--runtime", type=runtime_choice(), default=None, help="Runtime to tune [default: the engine's; ONNX: onnxruntime]."
)
@click.option("--precision", type=click.Choice(PRECISIONS), default=None, help="[default: the engine's]")
@click.option(
    "--batch-sizes", "-b", default="1,4,8,16,32,64", show_default=True, help="Batch sizes to tune, comma-separated."
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0, min_open=True),
    default=75.0,
    show_default=True,
    help="Seconds for the whole search (loads, warm-ups and timing), shared out over the batch sizes.",
)
@click.option("--deep", is_flag=True, help="Also try the slow candidates (torch.compile max-autotune).")
@click.option("--threads", type=int, default=None, help="Threads of the default setting (perf's --threads).")
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON.")
@friendly
def tune(engine: str, runtime: str | None, precision: str | None, batch_sizes: str, as_json: bool, **opts: Any) -> None:
    """Find ENGINE's fastest load settings on this machine, per batch size (the seeds' AOE step).

    Searches what the runtime offers (ONNX Runtime: threads, streams = sessions side by side, execution mode,
    graph optimization, spinning; OpenVINO: hint, NUM_STREAMS × threads, requests in flight, pinning; PyTorch:
    channels_last, torch.compile, streams) with successive halving inside --budget, then times the best against
    the default in 5 interleaved, paired rounds, and keeps it only when it won every round by more than 2% (a sign
    test) or a paired t interval on the per-round ratio lies above 1.02x; otherwise the defaults, with the test
    that failed.
    Writes STEM.tuned.json beside ENGINE (settings, img/s before and after, the machine); `perf` and `run`
    apply it (a tuned column beside the untuned one) when it was made on this CPU with this runtime version.

    \b
    Examples:
      zoobench tune mnasnet1_0.onnx -b 1,8,16
      zoobench tune wrn.onnx --runtime openvino --budget 120
      zoobench perf mnasnet1_0.onnx -b 1,8,16           # untuned and tuned columns, with the ratio
      zoobench perf mnasnet1_0.onnx -b 1 --untuned      # the defaults only
    """
    from zoobench.artifact import load_engine
    from zoobench.perf.settings import TuneSettings
    from zoobench.perf.tune import tune_engine

    sizes = int_list(batch_sizes)
    eng = load_engine(engine)
    rt = runtime or eng.runtime or "onnxruntime"
    column = TuneSettings(rt, precision or eng.precision, sizes, opts["budget"], opts["deep"], opts["threads"])
    profile = tune_engine(eng, column, quiet=as_json)
    if as_json:
        emit_json(profile)
        return
    from zoobench.perf.profile import column_key, profile_path

    _print_entry(profile["columns"][column_key(rt, precision or eng.precision)])
    click.echo(f"wrote {profile_path(eng.path)}; perf and run apply it (--untuned: the defaults only)")


def _print_entry(entry: dict[str, Any]) -> None:
    from rich.table import Table

    from zoobench.console import make_console
    from zoobench.perf.streams import settings_text

    t = Table(
        title=f"{entry['runtime']} {entry['precision']} · img/s, median of the paired rounds ± spread · tuned in "
        f"{entry['elapsed_s']:.0f} s (budget {entry['budget_s']:g} s, {entry['candidates']} settings)",
        title_justify="left",
    )
    for head in ("batch", "default", "tuned", "×", "settings"):
        t.add_column(head, justify="left" if head == "settings" else "right")
    for bs, b in entry["batches"].items():
        cells = [
            f"{c['throughput_img_s']:.1f} ±{c.get('spread_pct') or 0:.1f}%" if c else "not timed"
            for c in (b.get("before"), b.get("after"))
        ]
        setting = f"defaults ({b['why']})" if b["kept_default"] else f"{settings_text(b['settings'])} ({b['why']})"
        t.add_row(bs, *cells, f"{b['ratio']:.2f}" if "ratio" in b else "-", setting)
    make_console(stderr=False).print(t)
