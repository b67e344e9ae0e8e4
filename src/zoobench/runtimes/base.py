"""The small interface every runtime implements: load once, run a batch, describe itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class RuntimeInfo:
    """What a loaded session is, recorded beside every number it produces."""

    runtime: str
    device: str
    precision: str
    threads: int | None
    version: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "device": self.device,
            "precision": self.precision,
            "threads": self.threads,
            "version": self.version,
            **self.extra,
        }


class Session(Protocol):
    """A model loaded into one runtime."""

    input_name: str
    output_name: str
    input_shape: tuple[int | str, ...]

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Run one NCHW float32 batch; return the logits, shape (N, classes)."""
        ...

    def info(self) -> RuntimeInfo:
        """Name, device, precision, threads and version of what actually runs."""
        ...
