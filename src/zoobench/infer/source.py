"""What infer reads: an image folder (flat or class folders) or a prep cache, listed in processing order,
grouped into batches that never cross a resumable chunk, decoded ahead of the runtime."""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.data.decode import Decoded
from zoobench.errors import DataError


@dataclass
class Source:
    """What a run reads: image paths (``cache`` None) or a cache's rows; plus files skipped up front.

    ``decoder`` is what makes (or made) the pixels: a cache's own, or for images the one the run asks for
    (:func:`use_decoder`).
    """

    names: list[str]
    paths: list[Path] | None
    cache: Any
    skipped: list[tuple[str, str]]
    folder_labels: dict[str, int] | None
    source_id: str
    decoder: str = "reference"


def resolve_input(data: str | Path, limit: int | None = None) -> Source:
    """An image folder (flat or class folders) or a completed prep cache, listed in processing order."""
    from zoobench.data.cache import is_cache, open_cache
    from zoobench.data.datasets import scan_dataset
    from zoobench.data.fastdecode import cache_decoder

    if is_cache(data):
        c = open_cache(data)
        rows = set(c.names)
        names = c.names[:limit] if limit is not None else c.names
        pre = [tuple(s) for s in c.skipped if s[0] not in rows]
        made_by = cache_decoder(c.meta)
        return Source(names, None, c, pre, None, f"cache:{c.meta['build_key']}", made_by)  # type: ignore[arg-type]
    images, others, folder_labels = scan_dataset(data)
    if limit is not None:
        images = images[:limit]
    h = hashlib.sha256()
    for p in images:
        h.update(str(p.resolve()).encode() + b"\0")
    skipped = [(p.name, "not an image file (extension)") for p in others]
    return Source([p.name for p in images], images, None, skipped, folder_labels, h.hexdigest()[:20])


def use_decoder(inp: Source, asked: str | None, data: str | Path) -> str:
    """Set and return the decoder of a run's pixels: ``asked`` (default: the reference) for images; a cache's
    own for a cache, which is never read as another decoder's.

    Raises:
        DataError: an unknown decoder, nvjpeg without CUDA, or a cache made by another decoder than ``asked``.
    """
    from zoobench.data.fastdecode import check_decoder

    if inp.cache is None:
        inp.decoder = check_decoder(asked)
    elif asked not in (None, inp.decoder):
        raise DataError(
            f"cache {data} was made by the {inp.decoder} decoder, not {asked}: run `zoobench prep --decoder "
            f"{asked}` into another directory, or leave --decoder out to read it as it is"
        )
    return inp.decoder


def chunk_groups(todo: list[tuple[int, int, int]], batch_size: int) -> list[tuple[int, int, int]]:
    """(chunk id, start, end) per batch-sized group; groups never cross a chunk boundary."""
    out: list[tuple[int, int, int]] = []
    for c, s, e in todo:
        out.extend((c, g, min(g + batch_size, e)) for g in range(s, e, batch_size))
    return out


def cache_batches(inp: Source, groups: list[tuple[int, int, int]]) -> Iterator[Decoded]:
    bad = {n: r for n, r in inp.cache.skipped}
    for k, (_c, s, e) in enumerate(groups):
        t0 = time.perf_counter()
        names = inp.names[s:e]
        ok = [i for i, n in enumerate(names) if n not in bad]
        px = np.array(inp.cache.pixels[s:e])
        if len(ok) != len(names):
            px = px[ok]
        skipped = [(n, bad[n]) for n in names if n in bad]
        yield Decoded(k, names, ok, px, skipped, time.perf_counter() - t0, 0.0)


def prefetch(items: Iterator[Any], depth: int = 3) -> Iterator[Any]:
    """Run ``items`` in a background thread with at most ``depth`` results waiting."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    end = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for it in items:
                while not stop.is_set():
                    try:
                        q.put(it, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(end)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    t = threading.Thread(target=work, daemon=True, name="zoobench-prefetch")
    t.start()
    try:
        while True:
            it = q.get()
            if it is end:
                return
            if isinstance(it, BaseException):
                raise it
            yield it
    finally:
        stop.set()


def prepared(
    items: Iterator[Decoded], prepare: Callable[[np.ndarray], np.ndarray]
) -> Iterator[tuple[Decoded, np.ndarray | None, float]]:
    """Each decoded batch with its pixels made ready for the session by ``prepare`` (e.g.
    :meth:`~zoobench.infer.batch.BatchRunner.prepare`: normalized, or the uint8 crops as they are) and the
    seconds that took; None for a batch with no readable image."""
    for d in items:
        t0 = time.perf_counter()
        batch = prepare(d.pixels) if len(d.ok) else None
        yield d, batch, time.perf_counter() - t0
