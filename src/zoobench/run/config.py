"""What ``zoobench run`` was asked to do: one frozen object, the same for every model, built once by the CLI.

It holds the run's :class:`InferSettings` (how each infer stage runs) and :class:`PerfSettings` (how each perf
column is timed) whole; each stage changes only what is its own (an output directory, a column) with ``but``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from zoobench.errors import DataError
from zoobench.infer.settings import InferSettings
from zoobench.perf.settings import PerfSettings
from zoobench.scenarios.settings import LoadgenSettings
from zoobench.settings import Settings

RUN_BATCH_SIZES = (1, 4, 8, 16, 32, 64)
_INFER = {
    "labels": "labels",
    "weights": "weights",
    "variant": "variant",
    "infer_batch_size": "batch_size",
    "threads": "threads",
    "tolerance": "tolerance",
    "reference": "reference",
    "limit": "limit",
    "ray": "ray",
    "actors": "actors",
    "cpus_per_actor": "cpus_per_actor",
    "decoder": "decoder",
}
_PERF = ("runtimes", "precisions", "batch_sizes", "seconds", "repeats", "min_iters", "warmup", "threads")
# run.json's "config": the names and the order it has always had
_RECORD = (
    "data",
    "labels",
    "weights",
    "model_weights",
    "variant",
    "runtimes",
    "precisions",
    "batch_sizes",
    "infer_batch_size",
    "seconds",
    "repeats",
    "min_iters",
    "warmup",
    "threads",
    "tolerance",
    "reference",
    "limit",
    "quiet",
    "ray",
    "actors",
    "cpus_per_actor",
    "score",
    "calibration",
    "calibration_images",
    "seed",
    "max_drop",
    "accuracy_control",
    "decoder",
    "tune",
)


def _default_infer() -> InferSettings:
    return InferSettings(batch_size=16, quiet=True, decoder="reference")


def _default_perf() -> PerfSettings:
    return PerfSettings(batch_sizes=RUN_BATCH_SIZES, runtimes=("onnxruntime",), precisions=("fp32",), quiet=True)


@dataclass(frozen=True)
class RunConfig(Settings):
    """What ``zoobench run`` was asked to do (the same for every model).

    Attributes:
        data: the image folder every model is measured on (None: perf only).
        model_weights: ``--weights MODEL=FILE``: that model's own weights (the others use ``infer.weights``).
        infer: the reference column's infer settings (batch size, threads, limit, labels, the gate, Ray, decoder);
            each model's stage sets its own output directory. The infer stage writes its predictions without
            labels (eval is a stage of its own); the scored columns infer with them.
        perf: how each perf column is timed; its runtimes × precisions are also the run's scored columns.
        quiet: no console output (``--json``).
        score: ``none``: only the reference column is inferred and scored.
        calibration / calibration_images / seed: where int8 calibrates (a separate folder, or a held-out pick).
        max_drop / accuracy_control: the int8 columns' allowed drop, and NNCF's accuracy-aware quantization.
        tune: a tune stage per perf column, with this budget (seconds); None: no tune stage.
        loadgen: ``--scenarios``: a loadgen stage per column after its perf stage, with these LoadGen settings
            (each column sets its own runtime, outdir, hints); None: no loadgen stage.
    """

    data: str | None = None
    model_weights: dict[str, str] = field(default_factory=dict)
    infer: InferSettings = field(default_factory=_default_infer)
    perf: PerfSettings = field(default_factory=_default_perf)
    quiet: bool = False
    score: str = "all"
    calibration: str | None = None
    calibration_images: int | None = None
    seed: int = 0
    max_drop: str = "1.0"  # points, or "1%" of fp32's top-1
    accuracy_control: bool = False
    tune: float | None = None
    loadgen: LoadgenSettings | None = None

    @classmethod
    def of(cls, **options: Any) -> RunConfig:
        """A config from ``run``'s option names (``labels``, ``infer_batch_size``, ``batch_sizes``, ``threads``, ...);
        each goes to the settings it belongs to (``threads`` to both). An unknown name is one line."""
        own = {f.name for f in fields(cls)} - {"infer", "perf", "loadgen"}
        scenarios = options.pop("scenarios", None)
        if scenarios:
            from zoobench.scenarios.settings import parse_scenarios

            names = parse_scenarios(scenarios) if isinstance(scenarios, str) else list(scenarios)
            options["loadgen"] = LoadgenSettings(scenarios=names, quiet=True)
        own.add("loadgen")
        bad = sorted(set(options) - own - set(_INFER) - set(_PERF))
        if bad:
            raise DataError(f"unknown run setting(s): {', '.join(bad)}")
        infer = _default_infer().but(**{_INFER[k]: v for k, v in options.items() if k in _INFER})
        perf = _default_perf().but(**{k: v for k, v in options.items() if k in _PERF})
        return cls(infer=infer, perf=perf, **{k: v for k, v in options.items() if k in own})

    def weights_for(self, model: str) -> str | None:  # its own (--weights MODEL=FILE), else the run's
        return self.model_weights.get(model, self.infer.weights)

    def columns(self) -> list[tuple[str, str]]:
        """Every (runtime, precision) the run times, runtime-major."""
        return [(rt, p) for rt in self.perf.runtimes or ("onnxruntime",) for p in self.perf.precisions or ("fp32",)]

    def record(self) -> dict[str, Any]:
        """The settings as run.json keeps them: one flat object, the option names, the order it always had."""
        flat: dict[str, Any] = {k: getattr(self, k) for k in _RECORD if k in {f.name for f in fields(self)}}
        flat.update({k: getattr(self.infer, v) for k, v in _INFER.items()})
        flat.update({k: getattr(self.perf, k) for k in _PERF if k != "threads"})
        flat["model_weights"] = dict(self.model_weights)
        out = {k: list(v) if isinstance(v, tuple) else v for k in _RECORD for v in [flat[k]]}
        if self.loadgen is not None:  # only when asked: run.json stays as it was without --scenarios
            out["scenarios"] = list(self.loadgen.scenarios)
        return out
