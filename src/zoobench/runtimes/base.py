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


@dataclass(frozen=True)
class RuntimeSpec:
    """One runtime as the registry knows it; its module does the work.

    The module (``module``, imported only when the runtime is used) provides ``load(path, device=,
    precision=, threads=, **options) -> Session``, ``describe() -> dict`` and ``supports(precision, device)
    -> str | None`` (None: it can; else the reason it cannot). A runtime that compiles artifacts sets
    ``suffix`` and provides ``compile_artifact(core, out, precision, calib, batch_size, meta)`` and
    ``COMPILED_PRECISIONS`` (the precisions that need a compiled artifact rather than the ONNX file).

    Attributes:
        package: the import name that must be installed. install: the command that installs it.
        suffix: the file suffix of its compiled artifacts (None: it does not compile).
        loads: artifact suffixes only this runtime can load.
        device: the device it runs on when none is named.
    """

    name: str
    module: str
    package: str
    install: str
    suffix: str | None = None
    loads: tuple[str, ...] = ()
    device: str = "cpu"  # the device it runs on when none is named
