"""Seeded synthetic model inputs, one maker for every user: perf's input, export's parity batch, the uint8
parity batch and int8's fallback calibration data."""

from __future__ import annotations

import numpy as np


def make_input(shape: tuple[int, ...], data: str = "random", seed: int = 0, *, uint8: bool = False) -> np.ndarray:
    """``zero`` (as ais_bench's default) or seeded ``random``: standard-normal floats (the normalized range),
    or with ``uint8`` (a uint8-input engine, raw pixels) zeros or uniform 0..255."""
    if data not in ("zero", "random"):
        raise ValueError(f"data must be 'zero' or 'random', got {data!r}")
    if data == "zero":
        return np.zeros(shape, np.uint8 if uint8 else np.float32)
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, shape, dtype=np.uint8) if uint8 else rng.standard_normal(shape, dtype=np.float32)
