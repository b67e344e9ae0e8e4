"""What an interrupted ``prep`` build keeps: each finished chunk is recorded in progress.json with its images'
names and marks (name, size, mtime: :func:`~zoobench.fingerprint.file_marks`), under a key of the build's settings
only. A rerun keeps every chunk whose images are unchanged: an image replaced in place redoes only its own chunk;
images added or removed (chunks are positional) redo from the first chunk that shifted. The finished cache records
every row's mark (``meta["marks"]``, cache format 2), so a cache-fed ``infer`` compares its chunks row by row too.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.fingerprint import file_marks, resumed_text
from zoobench.models.spec import Preprocess


@dataclass
class BuildResume:
    """An interrupted build as a rerun found it: saved chunks found, kept, images replaced since, the first image
    of the first shifted chunk (None: none shifted)."""

    found: int = 0
    kept: int = 0
    images: int = 0
    replaced: int = 0
    shifted: str | None = None


def progress_key(version: int, pp: Preprocess, fmt: str, chunk: int, decoder: str) -> str:
    """The settings an interrupted build's chunks are reused under (the images are compared chunk by chunk)."""
    spec = pp.to_dict() if fmt == "bin" else None
    blob = json.dumps([version, "progress", pp.geometry_hash(), fmt, chunk, spec, decoder])
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def keep_unchanged(
    state: dict[str, Any], ranges: list[tuple[int, int]], names: list[str], marks: list[str]
) -> BuildResume:
    """Drop from ``state`` the finished chunks whose images changed (counted), or that shifted, and every later one."""
    r = BuildResume()
    done, seen_marks, listed = state["done"], state.setdefault("marks", {}), state.setdefault("listed", {})
    for key in sorted(done, key=int):
        c = int(key)
        r.found += 1
        s, e = ranges[c] if c < len(ranges) else (len(names), len(names))
        if r.shifted is None and listed.get(key) != names[s:e]:
            r.shifted = names[s] if s < len(names) else "the end"
        changed = 0 if r.shifted is not None else sum(a != b for a, b in zip(seen_marks.get(key, []), marks[s:e]))
        if r.shifted is not None or changed:
            r.replaced += changed
            for table in (done, seen_marks, listed, state.setdefault("fallbacks", {})):
                table.pop(key, None)
            continue
        r.kept += 1
        r.images += e - s
    return r


def resume_build(
    outp: Path, state: dict[str, Any], ranges: list[tuple[int, int]], images: list[Path], fmt: str
) -> tuple[BuildResume, list[str]]:
    """What an interrupted build left that this one keeps (:func:`keep_unchanged`), and every image's mark; a
    ``bin`` build whose images shifted drops the files of images no longer listed."""
    marks, names = file_marks(images), [p.name for p in images]
    found = keep_unchanged(state, ranges, names, marks)
    if fmt == "bin" and found.shifted is not None:
        drop_stale_bins(outp, names)
    return found, marks


def drop_stale_bins(outp: Path, names: list[str]) -> None:
    """A resumed ``bin`` build: the .bin files of images no longer listed (removed since) are deleted."""
    from zoobench.data.datasets import image_key

    keep = {image_key(n) for n in names}
    for p in outp.glob("*.bin"):
        if p.stem not in keep:
            p.unlink()


def build_note(r: BuildResume, total: int, older: int | None) -> str | None:
    """What a rerun says about what it reused: ``resumed N of M images; K replaced since the interrupted
    build``, or that an older zoobench's cache is rebuilt."""
    if older is not None:
        return f"rebuilt: the cache there was made by an older zoobench (cache format {older})"
    if not r.found:
        return None
    return resumed_text(r.images, total, r.replaced, r.shifted, "build")


def older_format(outp: Path, version: int) -> int | None:
    """The format of a finished cache at ``outp`` made by an older zoobench (None: none there, or this format)."""
    try:
        found = json.loads((outp / "meta.json").read_text()).get("zoobench_cache")
    except (OSError, ValueError):
        return None
    return int(found) if isinstance(found, int) and found < version else None


def resize_rows(partial: Path, n: int, ranges: list[tuple[int, int]], done: dict[str, Any]) -> np.ndarray:
    """The interrupted build's memmap with ``n`` rows (images were added or removed): the kept chunks' rows copied."""
    old = np.lib.format.open_memmap(partial, mode="r")
    if old.shape[0] == n:
        del old
        return np.lib.format.open_memmap(partial, mode="r+")
    tmp = partial.with_name(partial.name + ".resize")
    new = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, *old.shape[1:]))
    for key in done:
        s, e = ranges[int(key)]
        new[s:e] = old[s:e]
    new.flush()
    del old, new
    os.replace(tmp, partial)
    return np.lib.format.open_memmap(partial, mode="r+")
