"""Decode + resize + crop image files into uint8 CHW arrays, in worker processes, in order, bounded.

Workers are started with the ``forkserver`` (or ``spawn``) context, never ``fork``: a runtime session
(onnxruntime, OpenVINO) may already live in the parent, and those are not fork-safe.
"""

from __future__ import annotations

import collections
import os
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.data import shm_ring
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
        fallbacks: images the fast decoder handed to the reference, counted by reason.
    """

    index: int
    names: list[str]
    ok: list[int]
    pixels: np.ndarray
    skipped: list[tuple[str, str]]
    read_s: float
    preprocess_s: float
    fallbacks: dict[str, int] = field(default_factory=dict)


# Under this many images a fast-decoder pool costs more to start (its forkserver imports torch: ~1.2-1.4 s of one
# core) than it saves (~3.5 ms an image on one core, measured: benchmarks/prep_throughput.py), so such a set is
# decoded by the reference, per image, counted as a fallback with SMALL_SET_REASON. By the image count alone,
# never the timing: the same set gives the same pixels every time. $ZOOBENCH_FAST_MIN_IMAGES overrides it (0: never).
FAST_MIN_IMAGES = 1000
FAST_MIN_ENV = "ZOOBENCH_FAST_MIN_IMAGES"
SMALL_SET_REASON = "small set (the reference is faster than starting the fast pool)"


def _image_count(env: str, default: int) -> int:
    """An image-count threshold: ``$env`` as a count (>= 0), else ``default`` (unset or not a number)."""
    try:
        return max(0, int(os.environ.get(env, default)))
    except ValueError:
        return default


def fast_min_images() -> int:
    """The smallest set a fast-decoder pool decodes (:data:`FAST_MIN_IMAGES`, or $ZOOBENCH_FAST_MIN_IMAGES)."""
    return _image_count(FAST_MIN_ENV, FAST_MIN_IMAGES)


def run_decoder(decoder: str, n_images: int, workers: int) -> str:
    """The decoder a run of ``n_images`` images with ``workers`` decode workers uses for ``decoder``: the
    reference instead of ``fast`` for a small set decoded by a pool (see :data:`FAST_MIN_IMAGES`)."""
    return "reference" if decoder == "fast" and workers > 0 and n_images < fast_min_images() else decoder


# Under this many images the default is no pool: the calling process decodes them. Starting a pool costs each
# worker a Python start and its imports (numpy, PIL, zoobench: ~0.2-0.3 s of one core apiece, measured in `make
# test`'s profile) and the forkserver its own; the reference decodes ~3.5-7 ms an image. By the image count alone,
# as above; an explicit --workers N is always honoured. $ZOOBENCH_POOL_MIN_IMAGES overrides it (0: always a pool).
POOL_MIN_IMAGES = 64
POOL_MIN_ENV = "ZOOBENCH_POOL_MIN_IMAGES"


def default_workers(n_images: int | None = None) -> int:
    """Decode workers by default: one per core, at most 4; none (this process decodes) for a set of fewer than
    :data:`POOL_MIN_IMAGES` images."""
    if n_images is not None and n_images < _image_count(POOL_MIN_ENV, POOL_MIN_IMAGES):
        return 0
    return max(1, min(os.cpu_count() or 1, 4))


def decode_plan(decoder: str, n_images: int, workers: int | None) -> tuple[str, int]:
    """(decoder, worker processes) for ``n_images`` images with ``--workers`` ``workers`` (None: the default). The
    decoder follows the pool that was asked for (a small set decoded by a pool: the reference); the default pool is
    none for a set under :data:`POOL_MIN_IMAGES` (this process decodes it)."""
    asked = default_workers() if workers is None else workers
    return run_decoder(decoder, n_images, asked), default_workers(n_images) if workers is None else asked


def decode_one(
    path: str | Path, pp: Preprocess, decoder: str = "reference", fallbacks: Counter[str] | None = None
) -> tuple[np.ndarray | None, str | None, float, float]:
    """Read and preprocess one file with ``decoder`` (see :mod:`zoobench.data.fastdecode`).

    Returns:
        ``(chw, reason, read_s, preprocess_s)``: the uint8 (3, H, W) array, or ``None`` and why it was skipped.
    """
    from zoobench.data.fastdecode import decode_bytes

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
        chw = decode_bytes(raw, p.name, pp, decoder, fallbacks)
    except DataError as exc:
        return None, _skip_reason(str(exc), p.name, raw), t1 - t0, time.perf_counter() - t1
    return chw, None, t1 - t0, time.perf_counter() - t1


def _skip_reason(said: str, name: str, raw: bytes) -> str:
    """The decoder's message naming the file, never the in-memory buffer it read (``<_io.BytesIO object at 0x…>``);
    a file PIL cannot identify says what it starts with instead."""
    if "cannot identify image file" in said:
        return f"image {name}: cannot decode (not an image format PIL can read; it starts with {raw[:8]!r})"
    return re.sub(r"<_io\.BytesIO object at 0x[0-9a-fA-F]+>", repr(name), said)


_RINGS: dict[str, np.memmap] = {}


def _open_ring(path: str) -> np.memmap:
    """The ring file, mapped once per worker process (a fresh map per task would page-fault every write)."""
    if path not in _RINGS:
        _RINGS.clear()  # a new ring: drop the map of an old one
        _RINGS[path] = np.memmap(path, dtype=np.uint8, mode="r+")
    return _RINGS[path]


def decode_group(task: tuple[Any, ...], ring: tuple[str, int, int] | None = None) -> Decoded:
    """Decode one group of files (the unit of work sent to a worker).

    With ``ring`` = (file, slot, slot capacity) the pixels are written into that slot of a memory-mapped ring
    file instead of being returned: pickling megabytes of pixels through a pipe costs more than decoding them.
    ``task`` is (index, paths, preprocessing dict[, decoder name]).
    """
    index, paths, pp_dict = task[:3]
    decoder = task[3] if len(task) > 3 else "reference"
    fallbacks: Counter[str] = Counter()
    pp = Preprocess.from_dict(pp_dict)
    h, w = pp.crop_size
    ring_mm = None
    if ring is None:
        out = np.empty((len(paths), 3, h, w), np.uint8)
    else:
        ring_mm = _open_ring(ring[0])
        out = ring_mm.reshape(-1, ring[2], 3, h, w)[ring[1]]
    ok: list[int] = []
    skipped: list[tuple[str, str]] = []
    read_s = pre_s = 0.0
    names = [os.path.basename(p) for p in paths]
    for i, path in enumerate(paths):
        chw, reason, tr, tp = decode_one(path, pp, decoder, fallbacks)
        read_s += tr
        pre_s += tp
        if chw is None:
            skipped.append((names[i], reason or "unknown"))
            continue
        out[len(ok)] = chw
        ok.append(i)
    if ring_mm is not None:
        del out, ring_mm  # the parent reads the slot; send back no pixels
        return Decoded(index, names, ok, np.empty((0, 3, h, w), np.uint8), skipped, read_s, pre_s, dict(fallbacks))
    return Decoded(index, names, ok, out[: len(ok)], skipped, read_s, pre_s, dict(fallbacks))


def _context() -> Any:
    import multiprocessing as mp

    return mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")


def start_early(workers: int | None, decoder: str, n_images: int | None = None) -> None:
    """Start the fast decoder's forkserver now, so that its one torch import (1.5-2 s) runs beside the caller's
    own setup (resolving the model, listing and fingerprinting the images, opening the cache) instead of after
    it; the pool made later forks from it. No effect for the reference decoder, in-process decoding, or where
    there is no forkserver."""
    if decoder == "reference" or workers == 0 or _context().get_start_method() != "forkserver":
        return
    if n_images is not None and run_decoder(decoder, n_images, 1) == "reference":  # a small set: no pool of it
        return
    from multiprocessing import forkserver

    from zoobench.data.fastdecode import preload_in_workers

    preload_in_workers()
    forkserver.ensure_running()


class DecodePool:
    """A pool of decode workers, or none (``workers=0`` decodes in the calling process).

    Create it before loading a runtime session, and use it as a context manager. With ``decoder`` fast or
    nvjpeg, the first pool of the process starts a forkserver that imports torch once
    (:func:`~zoobench.data.fastdecode.preload_in_workers`): its workers are forked with torch loaded instead of
    each importing it (1-2 s of CPU apiece, the fast path's fixed cost).
    """

    def __init__(self, workers: int | None = None, decoder: str = "reference") -> None:
        self.workers = default_workers() if workers is None else max(0, workers)
        self.decoder = decoder
        self._pool: Any = None
        self._rings: set[str] = set()  # rings of imap calls not finished (a consumer may stop at an error)

    def __enter__(self) -> DecodePool:
        if self.workers > 0:
            if self.decoder != "reference":
                from zoobench.data.fastdecode import preload_in_workers

                preload_in_workers()
            self._pool = _context().Pool(self.workers)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        for path in self._rings:
            shm_ring.remove(path)
        self._rings.clear()

    def imap(
        self,
        groups: Sequence[Sequence[str | Path]],
        pp: Preprocess,
        *,
        window: int | None = None,
        decoder: str = "reference",
    ) -> Iterator[Decoded]:
        """Decode ``groups`` of paths; yield results in order with at most ``window`` groups in flight.

        Unlike ``Pool.imap``, which queues every task at once and lets results pile up, memory stays
        bounded by ``window`` groups whatever the consumer's speed. Workers write pixels into a ring of
        ``window`` slots in a memory-mapped file (in /dev/shm where it exists; :mod:`zoobench.data.shm_ring`);
        each result is copied out of its slot before the slot is handed to a new task.
        """
        pp_dict = pp.to_dict()
        tasks = ((i, [str(p) for p in g], pp_dict, decoder) for i, g in enumerate(groups))
        if self._pool is None:
            for t in tasks:
                yield decode_group(t)
            return
        depth = window or 2 * self.workers + 2
        cap = max((len(g) for g in groups), default=1)
        h, w = pp.crop_size
        ring_path, ring = shm_ring.create((depth, cap, 3, h, w))  # a full /dev/shm: one line, before any task
        self._rings.add(ring_path)
        try:
            pending: collections.deque[tuple[int, Any]] = collections.deque()

            def take() -> Decoded:
                slot, fut = pending.popleft()
                res: Decoded = fut.get()
                res.pixels = np.array(ring[slot, : len(res.ok)])  # a copy: the slot is reused next
                return res

            for n, t in enumerate(tasks):
                slot = n % depth
                pending.append((slot, self._pool.apply_async(decode_group, (t, (ring_path, slot, cap)))))
                if len(pending) >= depth:
                    yield take()
            while pending:
                yield take()
        finally:
            shm_ring.remove(ring_path)
            self._rings.discard(ring_path)
