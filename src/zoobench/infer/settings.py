"""How one infer stage runs: one frozen object, validated once, built by the CLI or by ``run``, passed down whole."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zoobench.errors import DataError
from zoobench.settings import Settings

DUMP_FORMATS = ("txt", "bin", "npy")
INPUT_DTYPES = ("uint8", "float32")


@dataclass(frozen=True)
class InferSettings(Settings):
    """Everything ``infer`` needs besides the model and the data.

    Attributes:
        labels: a labels file (the seeds' ``NAME.JPEG 65``); with it (or class folders) the run is scored.
        weights / variant: how a model name is exported (``--weights``, ``--preprocess``).
        batch_size: images per runtime call; None: 16 on CPU runtimes, 64 on GPU runtimes.
        runtime / precision: the column that infers (runtime None: the one a compiled engine was made for, else
            onnxruntime; precision None: the engine's own).
        threads: runtime threads (None: the runtime's default).
        limit: only the first N images.
        strict: fail on the first unreadable image instead of skipping it.
        outdir: where predictions.csv, summary.json (and result.json, accuracy.json) go.
        quiet: no console output.
        workers: decode processes for an image folder (None: the default; 0: in this process).
        dump: also write each image's logits as ais_bench does (txt / bin / npy).
        chunk: images per resumable chunk (None: infer.chunks' rule, from the image count and batch size).
        resume: reuse the finished chunks of an interrupted run.
        input_dtype: ``uint8`` runs the uint8-input twin of a float export (fed unnormalized crops).
        reference / tolerance: the accuracy gate (see :func:`~zoobench.evaluate.stage.evaluate`).
        ray / actors / cpus_per_actor: run the batches on a Ray cluster.
        decoder: what decodes images (reference, fast, nvjpeg; None: the reference, or a cache's own).
        tuned: the session settings a tuned profile (``zoobench tune``) holds for this runtime, precision and
            batch size (``perf.profile.tuned_for_infer``); None: the runtime's defaults.
    """

    WHAT = "infer"

    labels: str | None = None
    weights: str | None = None
    variant: str | None = None
    batch_size: int | None = None
    runtime: str | None = None
    precision: str | None = None
    threads: int | None = None
    limit: int | None = None
    strict: bool = False
    outdir: str = "zoobench-infer"
    quiet: bool = False
    workers: int | None = None
    dump: str | None = None
    chunk: int | None = None
    resume: bool = True
    input_dtype: str | None = None
    reference: float | tuple[float, float | None] | None = None
    tolerance: float = 1.0
    ray: str | None = None
    actors: int | None = None
    cpus_per_actor: float | None = None
    decoder: str | None = None
    tuned: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self._at_least(1, "batch_size", "limit", "actors", whole=True)
        self._at_least(1, "chunk")
        self._at_least(0, "workers")
        self._at_least(1, "threads")
        if self.dump is not None and self.dump not in DUMP_FORMATS:
            raise DataError(f"dump must be one of {', '.join(DUMP_FORMATS)}, got {self.dump!r}")
        if self.input_dtype is not None and self.input_dtype not in INPUT_DTYPES:
            raise DataError(f"input dtype must be one of {', '.join(INPUT_DTYPES)}, got {self.input_dtype!r}")
        if self.tolerance <= 0:
            raise DataError(f"tolerance must be > 0 points, got {self.tolerance}")
        if self.cpus_per_actor is not None and self.cpus_per_actor <= 0:
            raise DataError(f"cpus per actor must be > 0, got {self.cpus_per_actor}")
        if self.ray and self.dump:
            raise DataError("--dump writes files beside the driver; it is not available with --ray (run it locally)")

    @property
    def batch(self) -> int:
        """``batch_size``, or the runtime's default when it is None (:func:`default_batch_size`)."""
        return self.batch_size if self.batch_size is not None else default_batch_size(self.runtime)


def default_batch_size(runtime: str | None) -> int:
    """16 on CPU runtimes (the seeds' middle batch; None: onnxruntime's); 64 on GPU runtimes, which 16 leaves
    mostly idle."""
    from zoobench.runtimes import RUNTIMES

    spec = RUNTIMES.get(runtime or "onnxruntime")
    return 64 if spec is not None and spec.device.startswith("cuda") else 16
