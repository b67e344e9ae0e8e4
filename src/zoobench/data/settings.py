"""How one prep cache is built: one frozen object, validated once, built by the CLI (``zoobench prep``) or by
``run``'s prep stage, passed down whole."""

from __future__ import annotations

from dataclasses import dataclass

from zoobench.errors import DataError
from zoobench.settings import Settings

CACHE_FORMATS = ("npy", "bin")


@dataclass(frozen=True)
class PrepSettings(Settings):
    """Everything ``prep`` needs besides the images, the preprocessing and the cache directory.

    Attributes:
        fmt: ``npy`` (uint8 memmap cache) or ``bin`` (the seeds' float32 ``.bin`` files + ``.info``).
        workers: decode processes (0: decode in this process; None: the default).
        limit: only the first N images.
        chunk: images per resumable chunk.
        strict: raise on the first image that cannot be used.
        decoder: what decodes the images (``reference``, ``fast``, ``nvjpeg``: :mod:`zoobench.data.fastdecode`).
    """

    WHAT = "prep"

    fmt: str = "npy"
    workers: int | None = None
    limit: int | None = None
    chunk: int = 512
    strict: bool = False
    decoder: str = "reference"

    def __post_init__(self) -> None:
        if self.fmt not in CACHE_FORMATS:
            raise DataError(f"cache format must be npy or bin, got {self.fmt!r}")
        self._at_least(0, "workers")
        self._at_least(1, "limit", whole=True)
        self._at_least(1, "chunk")
