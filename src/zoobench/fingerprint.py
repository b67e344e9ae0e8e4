"""One fingerprint of a set of files from their names, sizes and mtimes (no file is read).

Shared by everything that decides whether earlier work on some files can be reused: infer's resumable chunks
(the run key), ``run``'s stage ledger (a folder's listing) and ``prep``'s cache key. A file replaced under the
same name (a new JPEG written over an old one) changes its size or its mtime, so its old results are not reused.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path


def fingerprint(paths: Iterable[str | Path], root: str | Path | None = None) -> str:
    """sha256 (hex) over each file's name, size and mtime (ns), in the order given.

    Args:
        paths: the files; a file that is gone is hashed as missing (a later listing that finds it differs).
        root: names are taken relative to it (a folder moved elsewhere keeps its fingerprint); without it,
            the resolved absolute path.
    """
    h = hashlib.sha256()
    for p in map(Path, paths):
        name = p.relative_to(root).as_posix() if root is not None else str(p.resolve())
        try:
            st = p.stat()
            meta = f"{st.st_size}\0{st.st_mtime_ns}"
        except OSError:
            meta = "missing"
        h.update(f"{name}\0{meta}\n".encode())
    return h.hexdigest()


def listing_hash(folder: str | Path) -> str:
    """Hash of a folder's file names, sizes and mtimes (cheap: no file is read); see :func:`fingerprint`."""
    root = Path(folder)
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        files.extend(Path(dirpath) / name for name in sorted(filenames))
    return fingerprint(files, root)


def file_marks(paths: Iterable[str | Path]) -> list[str]:
    """One short mark (16 hex) per file from its resolved path, size and mtime (ns), in the order given: what a
    resumable chunk compares image by image, so a file replaced under the same name redoes only its own chunk."""
    out = []
    for p in map(Path, paths):
        try:
            st = p.stat()
            meta = f"{st.st_size}\0{st.st_mtime_ns}"
        except OSError:
            meta = "missing"
        out.append(hashlib.sha256(f"{p.resolve()}\0{meta}".encode()).hexdigest()[:16])
    return out


def resumed_text(images: int, total: int, replaced: int, shifted: str | None, what: str) -> str:
    """``resumed N of M images from an interrupted WHAT; K replaced since the interrupted WHAT`` (and where images
    were added or removed): what a rerun of infer (``run``) or prep (``build``) says it reused."""
    note = f"resumed {images} of {total} images from an interrupted {what}"
    if replaced:
        note += f"; {replaced} replaced since the interrupted {what}"
    if shifted is not None:
        note += f"; images were added or removed from {shifted} on: redone from there"
    return note
