"""LoadGen's query sample library over zoobench's uint8 prep cache: the samples are the cache's valid rows; load
copies the requested rows into RAM once (one contiguous block), a batch is gathered from it into a preallocated
array with one vectorized take (no per-sample Python)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from zoobench.data.cache import open_cache
from zoobench.errors import DataError


class CacheQSL:
    """Sample ``i`` is the cache's ``rows[i]`` (its valid rows, in order, unless given)."""

    def __init__(self, cache: str, rows: list[int] | None = None) -> None:
        self.cache = open_cache(cache)
        self.rows = np.asarray(self.cache.valid_rows() if rows is None else rows, dtype=np.int64)
        if len(self.rows) == 0:
            raise DataError(f"{cache}: no valid image in the cache")
        self.names = [self.cache.names[r] for r in self.rows.tolist()]
        self.shape = tuple(int(v) for v in self.cache.pixels.shape[1:])
        self._pos = np.full(len(self.rows), -1, dtype=np.int64)  # sample -> row of the RAM block (-1: not loaded)
        self._block = np.empty((0, *self.shape), dtype=np.uint8)
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        return len(self.rows)

    def load(self, indices: list[int]) -> None:
        """LoadGen's ``load_samples_to_ram``: the requested rows copied out of the memory map (a sample already
        loaded keeps its row)."""
        idx = np.asarray(indices, dtype=np.int64)
        with self._lock:
            new = np.unique(idx[self._pos[idx] < 0]) if len(idx) else idx
            if len(new) == 0:
                return
            start = len(self._block)
            order = np.argsort(self.rows[new], kind="stable")  # memory-map reads in file order
            fresh = np.asarray(self.cache.pixels[self.rows[new][order]], dtype=np.uint8)
            self._block = fresh if start == 0 else np.concatenate([self._block, fresh])
            self._pos[new[order]] = np.arange(start, start + len(new))

    def unload(self, indices: list[int]) -> None:
        """LoadGen's ``unload_samples_from_ram``: the RAM block is dropped once no sample is loaded."""
        with self._lock:
            self._pos[np.asarray(indices, dtype=np.int64)] = -1
            if (self._pos < 0).all():
                self._block = np.empty((0, *self.shape), dtype=np.uint8)

    def gather(self, indices: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The samples ``indices`` into ``out[:n]`` (preallocated, uint8 (≥n, 3, H, W)); returns that view (one
        sample: a view of its loaded row, not copied).

        Raises:
            DataError: a sample LoadGen did not load.
        """
        pos = self._pos[indices]
        if (pos < 0).any():
            raise DataError(f"sample(s) {indices[pos < 0][:5].tolist()} were not loaded by LoadGen")
        if len(pos) == 1:  # SingleStream: the loaded row itself, no copy (sessions never write their input)
            return self._block[pos[0] : pos[0] + 1]
        view = out[: len(indices)]
        np.take(self._block, pos, axis=0, out=view)
        return view

    def construct(self, lg: Any, performance_count: int) -> Any:
        """LoadGen's handle of this library (``ConstructQSL``); destroy it with ``lg.DestroyQSL``."""
        return lg.ConstructQSL(self.total, min(performance_count, self.total), self.load, self.unload)
