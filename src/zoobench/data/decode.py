"""Decode + resize + crop image files into uint8 CHW arrays, in worker processes, in order, bounded.

Workers are started with the ``forkserver`` (or ``spawn``) context, never ``fork``: a runtime session
(onnxruntime, OpenVINO) may already live in the parent, and those are not fork-safe.
"""

from __future__ import annotations

import collections
import io
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.errors import DataError
from zoobench.models.spec import Preprocess


@dataclass
class Decoded:
    """One group of decoded images.

    Attributes:
        index: position of the group in the submitted sequence.
        names: file names of the group, in order (decoded and skipped alike).
        ok: indices (into ``names``) of the images that decoded; ``pixels`` holds them in that order.
        pixels: uint8 array (len(ok), 3, H, W).
        skipped: (name, reason) of the images that did not decode.
        read_s: seconds spent reading file bytes (summed over the group).
        preprocess_s: seconds spent decoding, resizing and cropping.
    """

    index: int
    names: list[str]
    ok: list[int]
    pixels: np.ndarray
    skipped: list[tuple[str, str]]
    read_s: float
    preprocess_s: float


def default_workers() -> int:
    """Decode workers by default: one per core, at most 4."""
    return max(1, min(os.cpu_count() or 1, 4))


def decode_one(path: str | Path, pp: Preprocess) -> tuple[np.ndarray | None, str | None, float, float]:
    """Read and preprocess one file.

    Returns:
        ``(chw, reason, read_s, preprocess_s)``: the uint8 (3, H, W) array, or ``None`` and why it was skipped.
    """
    from zoobench.data.transforms import to_chw_uint8

    p = Path(path)
    t0 = time.perf_counter()
    try:
        raw = p.read_bytes()
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}", time.perf_counter() - t0, 0.0
    t1 = time.perf_counter()
    if not raw:
        return None, "empty file (0 bytes)", t1 - t0, 0.0
    try:
        buf = io.BytesIO(raw)
        buf.name = p.name  # type: ignore[attr-defined]
        chw = to_chw_uint8(buf, pp)
    except DataError as exc:
        return None, str(exc), t1 - t0, time.perf_counter() - t1
    return chw, None, t1 - t0, time.perf_counter() - t1


def decode_group(task: tuple[int, Sequence[str], dict[str, Any]]) -> Decoded:
    """Decode one group of files (the unit of work sent to a worker)."""
    index, paths, pp_dict = task
    pp = Preprocess.from_dict(pp_dict)
    h, w = pp.crop_size
    out = np.empty((len(paths), 3, h, w), np.uint8)
    ok: list[int] = []
    skipped: list[tuple[str, str]] = []
    read_s = pre_s = 0.0
    names = [os.path.basename(p) for p in paths]
    for i, path in enumerate(paths):
        chw, reason, tr, tp = decode_one(path, pp)
        read_s += tr
        pre_s += tp
        if chw is None:
            skipped.append((names[i], reason or "unknown"))
            continue
        out[len(ok)] = chw
        ok.append(i)
    return Decoded(index, names, ok, out[: len(ok)], skipped, read_s, pre_s)


def _context() -> Any:
    import multiprocessing as mp

    return mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")


class DecodePool:
    """A pool of decode workers, or none (``workers=0`` decodes in the calling process).

    Create it before loading a runtime session, and use it as a context manager.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else max(0, workers)
        self._pool: Any = None

    def __enter__(self) -> DecodePool:
        if self.workers > 0:
            self._pool = _context().Pool(self.workers)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def imap(self, groups: Sequence[Sequence[str]], pp: Preprocess, *, window: int | None = None) -> Iterator[Decoded]:
        """Decode ``groups`` of paths; yield results in order with at most ``window`` groups in flight.

        Unlike ``Pool.imap``, which queues every task at once and lets results pile up, memory stays
        bounded by ``window`` groups whatever the consumer's speed.
        """
        pp_dict = pp.to_dict()
        tasks = ((i, [str(p) for p in g], pp_dict) for i, g in enumerate(groups))
        if self._pool is None:
            for t in tasks:
                yield decode_group(t)
            return
        depth = window or 2 * self.workers + 2
        pending: collections.deque[Any] = collections.deque()
        for t in tasks:
            pending.append(self._pool.apply_async(decode_group, (t,)))
            if len(pending) >= depth:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
