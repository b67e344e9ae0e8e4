"""The ``zoobench`` command line: thin wrappers that parse, call the library, and print."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from zoobench import __version__
from zoobench.errors import ZoobenchError

F = TypeVar("F", bound=Callable[..., Any])


def friendly(fn: F) -> F:
    """Turn ZoobenchError (user error) into one clear line and exit code 1, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ZoobenchError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="zoobench")
def cli() -> None:
    """zoobench: ImageNet classifiers from PyTorch weights to validated, benchmarked inference models.

    \b
    The stages, each a command, or all of them at once with `run` (and `demo`):
      models    list the model registry and whether weights are present
      export    PyTorch weights -> ONNX (seed IO names, dynamic batch, parity-checked)
      compile   ONNX -> runtime engine: ORT-optimized / int8 ONNX, OpenVINO IR, TensorRT plan
      prep      images -> uint8 cache (memmapped .npy), or the seeds' float32 .bin + .info
      infer     batched offline inference over images or a cache -> predictions.csv + summary.json
      eval      predictions + labels -> the seeds' result.json + accuracy.json (gate vs reference)
      perf      latency / throughput per batch size x runtime x precision -> perf.json
      run       every stage per model into one run directory, skipping what did not change
      report    report.md / report.html with plots, from a run directory's JSON
      compare   the seeds' cross-hardware ratio table from several run directories
      runtimes  which runtimes are installed, their devices and precisions
      demo      the whole chain on EfficientNet-Lite0 (real weights) and real photos

    \b
    Weights are looked up in $ZOOBENCH_WEIGHTS (default ~/.cache/zoobench/weights) by the seeds'
    file names; `--weights random` builds untrained models for performance work.
    """


def main() -> None:
    cli(prog_name="zoobench")


# Commands live in their own modules; importing them registers them on ``cli``.
from zoobench.commands import basic as _basic  # noqa: E402,F401
from zoobench.commands import data as _data  # noqa: E402,F401
from zoobench.commands import report as _report  # noqa: E402,F401
from zoobench.commands import runtimes as _runtimes  # noqa: E402,F401

if __name__ == "__main__":  # pragma: no cover
    main()

__all__ = ["cli", "emit_json", "friendly", "main"]
