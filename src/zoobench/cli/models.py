"""``zoobench models``."""

from __future__ import annotations

from typing import Any, TypedDict

import click

from zoobench.cli.app import emit_json, friendly
from zoobench.console import make_console


@click.command()
@click.argument("pattern", default="*")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly
def models(pattern: str, as_json: bool) -> None:
    """List registered models (fnmatch PATTERN), reference accuracy and whether weights are found.

    Weights are looked up by the published file names in $ZOOBENCH_WEIGHTS (default
    ~/.cache/zoobench/weights), then in the pip package that ships them. The weights column says
    "found, verified" (the published file, checksum checked), "found, checksum mismatch" (a file with the
    published name whose bytes differ: give your own weights another name and pass --weights), "found, no
    published checksum" (DINO), "found, unreadable", "missing" (with where to get it in
    `zoobench export MODEL`), or "n/a" (no published file: pass --weights). Any timm or torchvision model
    also resolves as timm:NAME / torchvision:NAME. A PATTERN that matches nothing exits 1.

    \b
    Examples:
      zoobench models                                  # every registered model
      zoobench models 'dino*' --json                   # machine-readable, filtered
      ZOOBENCH_WEIGHTS=~/weights zoobench models mnasnet1_0   # is my download there, and intact?
    """
    from zoobench.errors import ModelNotFoundError
    from zoobench.models import list_specs
    from zoobench.models.weights import weights_status

    specs = list_specs(pattern)
    if not specs:
        raise ModelNotFoundError(
            f"no registered model matches {pattern!r}; `zoobench models` lists them all "
            "(timm:NAME and torchvision:NAME also work where a model name is asked for)"
        )
    rows = [_row(spec, weights_status(spec)) for spec in specs]
    if as_json:
        emit_json(rows)
        return
    _print_table(rows)


class _Reference(TypedDict):
    top1: float
    top5: float
    source: str


def _ref(ref: Any) -> _Reference | None:
    return None if ref is None else {"top1": ref.top1, "top5": ref.top5, "source": ref.source}


def _row(spec: Any, weights_found: str) -> dict[str, Any]:
    """One model as `models --json` lists it."""
    return {
        "name": spec.name,
        "seed": spec.seed,
        "description": spec.description,
        "input": {"name": spec.input_name, "size": list(spec.preprocess.input_size)},
        "output": spec.output_name,
        "preprocess": spec.preprocess.to_dict(),
        "variants": {k: v.to_dict() for k, v in spec.variants.items()},
        "reference": _ref(spec.reference),
        "seed_npu": _ref(spec.seed_npu),
        "params_m": spec.params_m,
        "gflops": spec.gflops,
        "weights": [
            {"file": wf.filename, "url": wf.url, "md5": wf.md5, "sha256_prefix": wf.sha256_prefix}
            for wf in spec.weights
        ],
        "weights_found": weights_found,
    }


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    t = Table(title="zoobench models", title_justify="left")
    for col in ("name", "input", "IO", "preprocess", "ref top-1", "NPU top-1", "weights"):
        t.add_column(col, no_wrap=col in ("name", "weights"))  # "found, checksum mismatch" reads as one
    for r in rows:
        pp = r["preprocess"]
        t.add_row(
            r["name"] + (" (seed)" if r["seed"] else ""),
            "x".join(str(v) for v in r["input"]["size"][1:]),
            f"{r['input']['name']} -> {r['output']}",
            f"{pp['resize_mode']} {pp['resize']} {pp['interpolation']}"
            + (f" (+{', '.join(r['variants'])})" if r["variants"] else ""),
            f"{r['reference']['top1']:.3f}" if r["reference"] else "-",
            f"{r['seed_npu']['top1']:.2f}" if r["seed_npu"] else "-",
            r["weights_found"],
        )
    make_console(stderr=False).print(t)
