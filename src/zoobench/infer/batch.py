"""The per-batch core of inference, kept once: one runtime session fed the engine's way, warmed up, and
``run(batch) -> top-k ids, probabilities and the stage seconds``.

The local loop (:mod:`zoobench.infer.loop`) and the Ray actor (:mod:`zoobench.cluster.workers`) both run their
batches through a :class:`BatchRunner`, so the same images give the same logits and top-k on either path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np

from zoobench.artifact import Engine
from zoobench.data.transforms import normalize
from zoobench.errors import DataError
from zoobench.infer.settings import InferSettings
from zoobench.jsontypes import JsonObject
from zoobench.runtimes import Session, load_session, options_beside_decoders, resolve_runtime, takes_uint8

TOP_K = 5  # the classes kept per image (predictions.csv, the seeds' top-5)


def topk_from_logits(logits: np.ndarray, k: int = TOP_K) -> tuple[np.ndarray, np.ndarray]:
    """Top-k class ids and softmax probabilities.

    Ties are broken by the lower class index (a stable sort of ``-logits``), so the result is
    deterministic; the seeds' ``np.argsort(-pred)`` quicksort is not (see
    :func:`~zoobench.evaluate.metrics.seed_topk_from_scores`).

    Args:
        logits: (N, C) scores.
        k: how many classes to keep.

    Returns:
        ``(ids, probs)``: (N, k) int64 ids, best first, and their float32 softmax probabilities.
    """
    x = np.asarray(logits, dtype=np.float32)
    ids = topk_ids(x, k)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    p = np.take_along_axis(e, ids, axis=1) / e.sum(axis=1, keepdims=True)
    return ids, p.astype(np.float32)


def topk_ids(logits: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """The ids of :func:`topk_from_logits` without the softmax ((N, k) int64, best first, ties to the lower id):
    LoadGen's responses need only the ids, and at batch 1 the softmax is half the host's time per query."""
    x = np.asarray(logits, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"logits must be (N, C), got shape {x.shape}")
    if not 1 <= k <= x.shape[1]:
        raise ValueError(f"k={k} must be between 1 and the number of classes {x.shape[1]}")
    # argpartition + a sort of the k candidates (7x faster than a full sort of 1000 classes: it is most of
    # the host's post-processing per batch); rows with a tie at the k-th value take the full stable sort.
    cand = np.sort(np.argpartition(-x, k - 1, axis=1)[:, :k], axis=1)
    ids = np.take_along_axis(cand, np.argsort(-np.take_along_axis(x, cand, 1), axis=1, kind="stable"), 1)
    ties = (x >= np.take_along_axis(x, ids[:, -1:], 1)).sum(axis=1) != k
    if ties.any():
        ids[ties] = np.argsort(-x[ties], axis=1, kind="stable")[:, :k]
    return ids.astype(np.int64)


@dataclass(frozen=True)
class BatchOutput:
    """One batch's results: top-k per image, the logits, and the seconds of each stage of it."""

    ids: np.ndarray  # (N, k) int64, best first
    probs: np.ndarray  # (N, k) float32 softmax probabilities
    logits: np.ndarray  # (N, classes) float32
    normalize_s: float  # normalizing uint8 crops on the host (0 for a batch that came prepared)
    infer_s: float  # the runtime call
    post_s: float  # softmax + top-k


class BatchRunner:
    """One engine's session, fed the engine's way: uint8 crops as they are when its graph normalizes inside,
    normalized float32 otherwise. Made ready (checked and warmed up) before the first batch is timed; a context
    manager that releases the session.

    A static-batch engine (``compile -b N``) runs every batch at N: a shorter one (the last, or a chunk's last) is
    padded with zero rows, and their results dropped, as accuracy_checker does.

    Raises:
        DataError: the engine's metadata says one input type and its graph takes the other; the batch size is
            larger than a static-batch engine's.
    """

    def __init__(self, engine: Engine, session: Session, batch_size: int, k: int = TOP_K) -> None:
        self.engine, self.session, self.k = engine, session, k
        self.in_graph = _normalizes_inside(engine, session)
        self.input_size = engine.preprocess.input_size
        self.static_batch = static_batch(session)
        if self.static_batch is not None and batch_size > self.static_batch:
            raise DataError(
                f"{engine.path} was compiled for batch {self.static_batch} (compile -b); run it with a batch size "
                f"of at most {self.static_batch} (-b {self.static_batch}), not {batch_size}"
            )
        # one run before the clock: first-run allocations (and OpenVINO's per-batch compile) are not the data path's
        warm = self.static_batch or batch_size
        session.run(np.zeros((warm, *self.input_size), np.uint8 if self.in_graph else np.float32))

    @classmethod
    def load(
        cls, engine: Engine, settings: InferSettings, *, beside_decoders: bool, path: str | None = None
    ) -> BatchRunner:
        """Load ``engine`` as ``settings`` say (runtime, precision, threads, the tuned profile's settings) and
        make it ready for ``settings.batch_size``. ``beside_decoders``: decode processes share this session's
        cores (the runtime's own options for that apply; a tuned profile's win). ``path``: where the engine's
        files are here, when not at ``engine.path`` (a cluster node's copy)."""
        runtime = resolve_runtime(path or engine.path, settings.runtime)
        opts: dict[str, Any] = dict(options_beside_decoders(runtime)) if beside_decoders else {}
        opts.update({k: v for k, v in (settings.tuned or {}).items() if k != "streams"})  # streams are perf's
        opts.setdefault("threads", settings.threads)
        precision = settings.precision or engine.precision  # the engine's metadata is not read again
        session = load_session(path or engine.path, runtime, precision=precision, **opts)
        try:
            return cls(engine, session, settings.batch)
        except BaseException:
            session.release()
            raise

    def prepare(self, pixels: np.ndarray) -> np.ndarray:
        """The batch as the session takes it, from uint8 crops (the local loop does this ahead, in its
        prefetch thread; :meth:`run` does it for crops that come unprepared)."""
        return pixels if self.in_graph else normalize(pixels, self.engine.preprocess)

    def run(self, batch: np.ndarray) -> BatchOutput:
        """Top-k of one batch: uint8 crops (normalized here unless the graph does it) or a :meth:`prepare`'d batch."""
        t0 = time.perf_counter()
        if batch.dtype == np.uint8:
            batch = self.prepare(batch)
        t1 = time.perf_counter()
        logits = self.session.run(self._padded(batch))[: len(batch)]
        t2 = time.perf_counter()
        ids, probs = topk_from_logits(logits, self.k)
        return BatchOutput(ids, probs, logits, t1 - t0, t2 - t1, time.perf_counter() - t2)

    def _padded(self, batch: np.ndarray) -> np.ndarray:
        """``batch`` with zero rows up to a static-batch engine's size (none for a dynamic one)."""
        short = (self.static_batch or 0) - len(batch)
        if short <= 0:
            return batch
        return np.concatenate([batch, np.zeros((short, *batch.shape[1:]), batch.dtype)])

    def info(self) -> JsonObject:
        """What runs the batches (``summary.json``'s ``runtime``)."""
        return self.session.info().to_dict()

    def release(self) -> None:
        self.session.release()

    def __enter__(self) -> BatchRunner:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def static_batch(session: Session) -> int | None:
    """The batch size a session's graph is fixed to (``compile -b N``); None for a dynamic batch."""
    first = session.input_shape[0] if session.input_shape else None
    return first if isinstance(first, int) and first > 0 else None


def _normalizes_inside(engine: Engine, session: Session) -> bool:
    """Whether ``engine`` takes the uint8 crop (normalization in the graph); its metadata and graph must agree."""
    graph_u8 = takes_uint8(session)
    if graph_u8 != (engine.input_dtype == "uint8"):
        raise DataError(
            f"{engine.path}: its metadata says {engine.input_dtype} input but the graph takes "
            f"{'uint8' if graph_u8 else 'float'}; export it again with `zoobench export`"
        )
    return graph_u8
