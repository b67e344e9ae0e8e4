"""``zoobench eval``."""

from __future__ import annotations

from pathlib import Path

import click

from zoobench.cli.app import emit_json, friendly
from zoobench.cli.options import (
    check_gate,
    gate_option,
    reference_option,
    tolerance_option,
)


class _EvalCommand(click.Command):
    """``--gate`` takes an optional value; ``zoobench eval --gate out/ ...`` means ``--gate normal out/``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = list(args)
        for i, arg in enumerate(args[:-1]):
            following = args[i + 1]
            if arg == "--gate" and following not in ("normal", "strict") and Path(following).exists():
                args.insert(i + 1, "normal")  # the next word is PREDS, not the gate's mode
                break
        return super().parse_args(ctx, args)


@click.command(name="eval", cls=_EvalCommand)
@click.argument("preds", type=click.Path(exists=True))
@click.option("--labels", "-l", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    "result_json",
    type=click.Path(dir_okay=False),
    help="Where to write the seeds' result.json (default: PREDS_DIR/result.json).",
)
@reference_option
@tolerance_option
@gate_option
@click.option("--json", "as_json", is_flag=True, help="Print accuracy.json to stdout.")
@friendly
def eval_cmd(
    preds: str,
    labels: str,
    result_json: str | None,
    reference: tuple[float, float | None] | None,
    tolerance: float,
    gate: str | None,
    as_json: bool,
) -> None:
    """Score PREDS (an infer output dir or predictions.csv) against LABELS.

    PREDS may also be the seeds' outputs: a directory of ais_bench / benchmark dumps (<stem>_0.txt, .bin,
    .npy; paired by name) or an ais_bench *_summary.json (paired by position with LABELS).

    Writes the seeds' result.json (exact layout) and accuracy.json (floats, reference, delta, and the gate:
    "pass", "fail", or "inconclusive" when the 95% interval of top-1 on these images is wider than the
    tolerance, with the number of images that would decide). Exit codes: 0 ok (an inconclusive gate warns),
    1 error or a conclusive gate failure (`--gate strict`: also inconclusive), 2 usage.

    \b
    Examples:
      zoobench eval out/ --labels val_label.txt --gate
      zoobench eval out/ -l val_label.txt --reference 77.1,93.4 --gate strict   # your fine-tuned weights
      zoobench eval dumps/ -l val_label.txt -o result.json                       # ais_bench TXT dumps
    """
    from zoobench.evaluate.stage import do_eval

    acc = do_eval(preds, labels, result_json=result_json, reference=reference, tolerance=tolerance, quiet=as_json)
    if as_json:
        emit_json(acc.to_dict())
    if gate:
        check_gate(acc, strict=gate == "strict", printed=not as_json)
