"""The preprocessed dataset cache: uint8 N×3×H×W ``.npy`` (memory-mapped) + ``meta.json``; or seed ``.bin``.

Layout of a cache directory::

    images.npy      uint8 (N, 3, H, W), after resize + crop, before normalization; row i = meta["images"][i]
    meta.json       image list, preprocessing spec and its geometry hash, shape, count, skipped
    skipped.csv     images that could not be used, with the reason (only when some were skipped)

A build is done in chunks. While it runs, rows go to ``images.npy.partial`` and, after each chunk's rows
are flushed, ``progress.json`` is rewritten atomically; an interrupted build rerun with the same
settings resumes from the finished chunks whose images are unchanged (:mod:`zoobench.data.cacheresume`).
``images.npy`` and ``meta.json`` appear only when the build completed; meta.json records each row's mark (format
2). Rows of skipped images stay zero and are listed in ``meta["skipped"]``.

The decoder that made the pixels (``reference``: PIL, bit-exact with torchvision; ``fast`` / ``nvjpeg``:
:mod:`zoobench.data.fastdecode`) is part of the build key, so a cache made by one is never reused as the
other's, and meta.json records it with the images it handed to the reference (``decoder_fallbacks``).

``fmt="bin"`` writes the seeds' layout instead (SEED_SPEC §2.1/§2.2): one float32 CHW ``<stem>.bin`` per
image and ``<dir name>.info`` (``index path width height`` per line).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.data.cache_types import CacheMeta, PrepResult
from zoobench.data.cacheresume import build_note, older_format, progress_key, resize_rows, resume_build
from zoobench.data.datasets import check_strict, image_key, scan_dataset
from zoobench.data.decode import SMALL_SET_REASON, DecodePool, decode_plan
from zoobench.data.fastdecode import fallback_totals
from zoobench.data.settings import PrepSettings
from zoobench.errors import NO_SPACE, DataError
from zoobench.fingerprint import fingerprint
from zoobench.io import check_space, reserve, write_bytes, write_json, write_skipped_csv, write_text
from zoobench.models.spec import Preprocess

CACHE_VERSION = 2  # 2: meta.json records each row's mark (a format-1 cache is rebuilt, and prep says so)
GROUP = 32  # images per worker task


@dataclass
class CacheData:
    """An opened cache.

    Attributes:
        path: the cache directory.
        meta: the parsed ``meta.json``.
        pixels: the memory-mapped uint8 (N, 3, H, W) array.
        names: image file names, one per row.
        skipped: (name, reason) of the rows that hold no image.
    """

    path: Path
    meta: dict[str, Any]
    pixels: np.ndarray
    names: list[str]
    skipped: list[tuple[str, str]]

    @property
    def preprocess(self) -> Preprocess:
        return Preprocess.from_dict(self.meta["preprocess"])

    def valid_rows(self) -> list[int]:
        bad = {n for n, _ in self.skipped}
        return [i for i, n in enumerate(self.names) if n not in bad]


def is_cache(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a completed zoobench cache directory."""
    p = Path(path)
    return (p / "meta.json").is_file() and (p / "images.npy").is_file()


def open_cache(path: str | os.PathLike[str]) -> CacheData:
    """Open a completed cache (read-only memory map).

    Raises:
        DataError: not a completed cache.
    """
    p = Path(path)
    if not is_cache(p):
        raise DataError(f"{p} is not a completed zoobench cache (no meta.json + images.npy); run `zoobench prep`")
    meta = json.loads((p / "meta.json").read_text())
    pixels = np.load(p / "images.npy", mmap_mode="r")
    if list(pixels.shape) != meta["shape"]:
        raise DataError(f"{p}: images.npy has shape {list(pixels.shape)}, meta.json says {meta['shape']}")
    return CacheData(p, meta, pixels, list(meta["images"]), [tuple(s) for s in meta["skipped"]])  # type: ignore[misc]


def chunk_ranges(n: int, chunk: int) -> list[tuple[int, int]]:
    return [(s, min(s + chunk, n)) for s in range(0, n, chunk)]


def _list_inputs(
    data: str | os.PathLike[str], limit: int | None, strict: bool
) -> tuple[list[Path], list[tuple[str, str]]]:
    """The images to cache, and the other files (skipped); no images is one line."""
    images, others, _ = scan_dataset(data)
    images = images[:limit] if limit is not None else images
    if not images:
        raise DataError(f"no images in {data}")
    skipped = [(p.name, "not an image file (extension)") for p in others]
    check_strict(strict, skipped)
    return images, skipped


def _build_key(images: list[Path], pp: Preprocess, fmt: str, chunk: int, decoder: str = "reference") -> str:
    h = hashlib.sha256()
    spec = pp.to_dict() if fmt == "bin" else None
    made_by = [] if decoder == "reference" else [decoder]  # a reference cache keeps the key it always had
    h.update(json.dumps([CACHE_VERSION, pp.geometry_hash(), fmt, chunk, spec, *made_by]).encode())
    h.update(fingerprint(images).encode())  # names, sizes, mtimes: an image replaced in place is cached again
    return h.hexdigest()[:20]


def prep_cache(
    data: str | os.PathLike[str],
    pp: Preprocess,
    out: str | os.PathLike[str],
    settings: PrepSettings | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int, int], None] | None = None,
    **options: Any,
) -> PrepResult:
    """Build (or reuse, or resume) a cache of ``data`` preprocessed with ``pp``, as ``settings`` say (format, decode
    workers and decoder, limit, chunk, strict: :class:`PrepSettings`; or their fields as keyword ``options``).

    Args:
        data: a flat image folder or a class-folder layout.
        pp: the preprocessing spec; only its geometry matters for ``npy``, all of it for ``bin``.
        out: the cache directory.
        progress: called with the number of images finished, as they finish.
        on_total: called once with (total images, images already done) before work starts.

    Returns:
        The cache's meta dict, plus ``status`` (``reused``, ``built`` or ``resumed``).

    Raises:
        DataError: no images, or with ``strict`` an image that cannot be used.
        NoSpaceError: the cache does not fit on its disk (said before any image is decoded).
    """
    settings = PrepSettings.given(settings, options)
    fmt, decoder = settings.fmt, settings.decoder
    images, other_skips = _list_inputs(data, settings.limit, settings.strict)
    outp, key = Path(out), _build_key(images, pp, fmt, settings.chunk, decoder)
    older = older_format(outp, CACHE_VERSION)
    reused = _reusable(outp, key, fmt)
    if reused is not None:
        if on_total:
            on_total(len(images), len(images))
        return {**reused, "status": "reused"}
    state = _progress_state(outp, progress_key(CACHE_VERSION, pp, fmt, settings.chunk, decoder))
    n, ranges = len(images), chunk_ranges(len(images), settings.chunk)
    found, marks = resume_build(outp, state, ranges, images, fmt)
    mm = _open_pixels(outp, state, fmt, n, pp, ranges) if fmt == "npy" else None
    resumed = bool(state["done"])
    todo, n_todo = _todo(ranges, state)
    _check_bin_space(outp, fmt, n_todo, pp)
    if on_total:
        on_total(n, n - n_todo)
    _fill(outp, images, todo, state, (mm, marks), pp, settings, progress)
    skipped = other_skips + [(s[0], s[1]) for c in range(len(ranges)) for s in state["done"][str(c)]]
    if mm is not None:
        mm.flush()
        del mm
        os.replace(outp / "images.npy.partial", outp / "images.npy")
    meta = _meta(key, fmt, pp, images, skipped, n - (len(skipped) - len(other_skips)), decoder, state)
    meta["marks"] = marks  # each row's file (name, size, mtime): a cache-fed infer resumes chunk by chunk
    _finish(outp, meta, images, skipped, pp)
    return {**meta, "status": "resumed" if resumed else "built", "note": build_note(found, n, older)}


def _finish(outp: Path, meta: CacheMeta, images: list[Path], skipped: list[Any], pp: Preprocess) -> None:
    """The seeds' .info (bin), skipped.csv, then meta.json: the cache exists once meta.json does."""
    if meta["format"] == "bin":
        _write_info(outp, [p.name for p in images], {s[0] for s in skipped}, pp)
    write_skipped_csv(outp / "skipped.csv", skipped)
    write_json(outp / "meta.json", meta)
    (outp / "progress.json").unlink(missing_ok=True)


def _reusable(outp: Path, key: str, fmt: str) -> CacheMeta | None:
    """The finished cache's meta when it was built from the same inputs; a different one is cleared."""
    meta_path = outp / "meta.json"
    if meta_path.is_file() and (fmt == "bin" or (outp / "images.npy").is_file()):
        old: CacheMeta = json.loads(meta_path.read_text())
        if old.get("build_key") == key and old.get("zoobench_cache") == CACHE_VERSION:
            return old
        _clear(outp)  # a different preprocessing or image list: rebuild, never mix
    return None


def _progress_state(outp: Path, key: str) -> dict[str, Any]:
    """The chunks an interrupted build with the same key finished (``done``: chunk id -> its skipped images)."""
    outp.mkdir(parents=True, exist_ok=True)
    clean_temp(outp)
    prog_path = outp / "progress.json"
    state: dict[str, Any] = {"build_key": key, "done": {}}
    if prog_path.is_file():
        with contextlib.suppress(ValueError, OSError):
            prev = json.loads(prog_path.read_text())
            if prev.get("build_key") == key:
                state = prev
    if state["done"] == {} and prog_path.is_file():
        _clear(outp)
        outp.mkdir(parents=True, exist_ok=True)
    return state


SPACE_TODO = "free some space there or choose another directory with -o, then run the same command again"
SMALL_FILES = 1 << 16  # room kept for progress.json, meta.json and skipped.csv beside the pixels


def _open_pixels(
    outp: Path, state: dict[str, Any], fmt: str, n: int, pp: Preprocess, ranges: list[tuple[int, int]]
) -> Any:
    """The uint8 N×3×H×W memmap being filled: reopened when resuming, else new (and nothing counts as done).

    Its blocks are reserved before it is returned, so no write into the map can meet a full disk (SIGBUS); a
    disk too small for it is one line with the sizes, before any image is decoded.
    """
    partial = outp / "images.npy.partial"
    if state["done"] and partial.is_file():
        mm = resize_rows(partial, n, ranges, state["done"])  # images added or removed: the kept rows copied
        reserve(partial, partial.stat().st_size, "cache", SPACE_TODO, fresh=False)  # a sparse one from an old build
        return mm
    state["done"] = {}
    partial.unlink(missing_ok=True)  # its blocks are not free space for the new one
    h, w = pp.crop_size
    header = 128  # a .npy header of a uint8 4-d array (numpy pads it to 64-byte multiples)
    check_space(outp, header + n * 3 * h * w + SMALL_FILES, "cache", SPACE_TODO)
    try:
        mm = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=(n, 3, h, w))
        reserve(partial, partial.stat().st_size, "cache", SPACE_TODO, fresh=True)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            check_space(outp, header + n * 3 * h * w + SMALL_FILES, "cache", SPACE_TODO)
        raise
    return mm


def _todo(ranges: list[tuple[int, int]], state: dict[str, Any]) -> tuple[list[int], int]:
    """The chunks still to build, and their image count."""
    todo = [c for c in range(len(ranges)) if str(c) not in state["done"]]
    return todo, sum(ranges[c][1] - ranges[c][0] for c in todo)


def _check_bin_space(outp: Path, fmt: str, n_todo: int, pp: Preprocess) -> None:
    """The seeds' float32 .bin files (written with plain writes) need this much; said before any image is decoded."""
    if fmt != "bin":
        return
    h, w = pp.crop_size
    per_file = -(-(3 * h * w * 4) // 4096) * 4096  # whole 4 KiB blocks
    check_space(outp, n_todo * per_file + SMALL_FILES, "cache", SPACE_TODO)


def _fill(
    outp: Path,
    images: list[Path],
    todo: list[int],
    state: dict[str, Any],
    rows: tuple[Any, list[str]],
    pp: Preprocess,
    settings: PrepSettings,
    progress: Callable[[int], None] | None,
) -> None:
    """Decode the chunks still to do in worker processes into ``rows`` (the memmap, None for bin; the images'
    marks); record each chunk in progress.json, with its images' names and marks, as it completes."""
    mm, marks = rows
    ranges = chunk_ranges(len(images), settings.chunk)
    groups: list[list[Path]] = []
    owner: list[tuple[int, int]] = []  # (chunk id, first row) per group
    for c in todo:
        s, e = ranges[c]
        for g in range(s, e, GROUP):
            groups.append(images[g : min(g + GROUP, e)])
            owner.append((c, g))
    left = {c: -(-(ranges[c][1] - ranges[c][0]) // GROUP) for c in todo}
    chunk_skips: dict[int, list[tuple[str, str]]] = {c: [] for c in todo}
    chunk_falls: dict[int, Counter[str]] = {c: Counter() for c in todo}
    use, workers = decode_plan(settings.decoder, len(images), settings.workers)  # a small set: no pool (fallbacks)
    with DecodePool(workers, use) as pool, _drop_partial_unless_progress(outp, state):
        for res in pool.imap(groups, pp, decoder=use):
            c, first = owner[res.index]
            check_strict(settings.strict, res.skipped)
            chunk_skips[c].extend(res.skipped)
            chunk_falls[c].update(res.fallbacks if use == settings.decoder else {SMALL_SET_REASON: len(res.ok)})
            if mm is not None:
                for j, i in enumerate(res.ok):
                    mm[first + i] = res.pixels[j]
            else:
                _write_bins(outp, res.names, res.ok, res.pixels, pp)
            left[c] -= 1
            if left[c] == 0:
                if mm is not None:
                    mm.flush()
                state["done"][str(c)] = chunk_skips.pop(c)
                state["listed"][str(c)] = [p.name for p in images[ranges[c][0] : ranges[c][1]]]
                state["marks"][str(c)] = marks[ranges[c][0] : ranges[c][1]]
                state.setdefault("fallbacks", {})[str(c)] = dict(chunk_falls.pop(c))
                _write_progress(outp, state)
            if progress:
                progress(len(res.names))


@contextlib.contextmanager
def _drop_partial_unless_progress(outp: Path, state: dict[str, Any]) -> Iterator[None]:
    """A build that fails before its first chunk leaves no images.npy.partial (its blocks are given back)."""
    try:
        yield
    except BaseException:
        if not state["done"]:
            (outp / "images.npy.partial").unlink(missing_ok=True)
        raise


def _write_progress(outp: Path, state: dict[str, Any]) -> None:
    """progress.json: the chunks finished so far (a rerun with the same inputs skips them)."""
    write_json(outp / "progress.json", state, indent=None)


def _meta(
    key: str,
    fmt: str,
    pp: Preprocess,
    images: list[Path],
    skipped: list[tuple[str, str]],
    count: int,
    decoder: str = "reference",
    state: dict[str, Any] | None = None,
) -> CacheMeta:
    h, w = pp.crop_size
    return {
        "zoobench_cache": CACHE_VERSION,
        "format": fmt,
        "build_key": key,
        "preprocess": pp.to_dict(),
        "preprocess_hash": pp.geometry_hash() if fmt == "npy" else pp.hash(),
        "dtype": "uint8" if fmt == "npy" else "float32",
        "layout": "NCHW" if fmt == "npy" else "CHW per file",
        "shape": [len(images), 3, h, w],
        "count": count,
        "images": [p.name for p in images],
        "skipped": [list(s) for s in skipped],
        "decoder": decoder,  # what made the pixels; the images it handed to the reference, by reason
        "decoder_fallbacks": fallback_totals(state or {}),
    }


def _clear(outp: Path) -> None:
    for name in ("images.npy", "images.npy.partial", "meta.json", "progress.json", "skipped.csv"):
        (outp / name).unlink(missing_ok=True)
    if outp.is_dir():
        for p in outp.glob("*.bin"):
            p.unlink()
        for p in outp.glob("*.info"):
            p.unlink()


def _write_bins(outp: Path, names: list[str], ok: list[int], pixels: np.ndarray, pp: Preprocess) -> None:
    from zoobench.data.transforms import normalize

    if not ok:
        return
    arr = normalize(pixels, pp)
    for j, i in enumerate(ok):
        write_bytes(outp / f"{image_key(names[i])}.bin", np.ascontiguousarray(arr[j], dtype=np.float32).tobytes())


def _write_info(outp: Path, names: list[str], skipped: set[str], pp: Preprocess) -> None:
    """The seeds' ``gen_dataset_info.py bin`` file: ``index path width height`` (SEED_SPEC §2.2)."""
    h, w = pp.crop_size
    rows = [n for n in names if n not in skipped]
    lines = [f"{i} {os.path.join(str(outp), image_key(n) + '.bin')} {w} {h}\n" for i, n in enumerate(rows)]
    write_text(outp / f"{outp.resolve().name}.info", "".join(lines))


def clean_temp(folder: str | os.PathLike[str]) -> None:
    """Delete the temp files an interrupted atomic write leaves behind (``.<name>.<random>.tmp``)."""
    p = Path(folder)
    if p.is_dir():
        for f in p.glob(".*.tmp"):
            f.unlink(missing_ok=True)
