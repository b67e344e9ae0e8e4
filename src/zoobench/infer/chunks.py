"""Resumable chunks of an inference run, shared by the local loop and the Ray pipeline.

A run's images are cut into chunks (whole batches); each finished chunk's top-k is saved under
``partial_dir`` with its images' names and marks (:func:`image_marks`: name, size, mtime per file, or a cache's
per-row record), and the run's settings are keyed by :func:`run_key`. A rerun with the same settings skips every
saved chunk whose images are unchanged: an image replaced in place redoes only its own chunk, and images added or
removed (chunks are positional) redo from the first chunk that shifted; :func:`resume_note` says which. Results
of a chunk's batches may arrive in any order (Ray): they are kept per batch and put in image order when the chunk
completes.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from zoobench.artifact import Engine
from zoobench.data.cache import chunk_ranges, clean_temp
from zoobench.data.datasets import check_strict
from zoobench.errors import DataError
from zoobench.fingerprint import file_marks, fingerprint, resumed_text
from zoobench.infer.source import Source
from zoobench.io import json_digest, write_bytes, write_json
from zoobench.predictions import Predictions


@dataclass
class StageTimer:
    """Accumulated seconds per stage."""

    seconds: dict[str, float] = field(
        default_factory=lambda: {"data_read": 0.0, "preprocess": 0.0, "infer": 0.0, "post": 0.0, "data_wait": 0.0}
    )

    def add(self, stage: str, dt: float) -> None:
        self.seconds[stage] += dt


class StageSummary(TypedDict, total=False):
    """Per-stage throughput and latency (summary.json's ``stages``, in the seeds' terms: SEED_SPEC §3.1); each
    stage's block (``seconds``, ``throughput_img_s``, ...) as :func:`stage_summary` writes it."""

    data_read: dict[str, float]
    preprocess: dict[str, float]
    post: dict[str, float]
    infer: dict[str, float]
    e2e: dict[str, float]
    data_wait: dict[str, float]
    images: int
    batches: int
    resumed_images: int
    replaced_images: int
    resume: str | None


@dataclass(kw_only=True)
class InferenceResult(Predictions):
    """A run's predictions (every listed image inferred or skipped, so ``skipped`` is known) with how it ran."""

    topk_probs: np.ndarray = field(default_factory=lambda: np.zeros((0, 5), np.float32))
    skipped: list[tuple[str, str]] = field(default_factory=list)
    stages: StageSummary
    runtime: dict[str, Any]
    logits: np.ndarray | None = None
    cluster: dict[str, Any] | None = None  # the Ray run's facts (``infer --ray``)
    fallbacks: dict[str, int] = field(default_factory=dict)  # fast decoder -> reference, by reason (this run's)


# A killed run redoes at most its unfinished chunk(s): at most ~5% of the images and at most 64 images or 4
# batches, whichever is more. 64 images is a few seconds of work for the slowest zoo model on a 2-core CPU
# (wide_resnet50_2: ~20 img/s) at the CPU batch (16); 4 batches of the GPU batch (64) are well under a second on a
# GPU, where a smaller chunk would make saving it (~6 ms, fsync'd) a visible share of the run. Never less than one
# batch. The chunk size is part of the run key, so the rule depends only on the image count and the batch size.
MAX_DEFAULT_CHUNK = 64
MAX_DEFAULT_CHUNK_BATCHES = 4


def default_chunk(n_images: int, batch_size: int) -> int:
    """The default images per resumable chunk, in whole batches: 5% of the images, at most 64 images or 4 batches
    (whichever is more), at least one batch."""
    cap = max(MAX_DEFAULT_CHUNK, MAX_DEFAULT_CHUNK_BATCHES * batch_size)
    return batch_size * max(1, min(n_images // 20, cap) // batch_size)


def run_key(engine: Engine, inp: Source, **settings: Any) -> str:
    """What decides a run's per-image results besides the images themselves; saved chunks are reused only under
    the same key (the engine file by :func:`~zoobench.fingerprint.fingerprint`, its preprocessing, the settings,
    and whether images or a cache's rows are read). Each chunk's images are compared on their own
    (:func:`image_marks`)."""
    kind = "images" if inp.paths is not None else "cache"
    blob = [fingerprint([engine.path]), engine.preprocess.to_dict(), kind, settings]
    return json_digest(blob, 20)


def image_marks(inp: Source) -> list[str]:
    """One mark per listed image: of its file (name, size, mtime), or the one its cache row records (a
    format-1 cache records none: its rows are known by its build key)."""
    if inp.paths is not None:
        return file_marks(inp.paths)
    meta = inp.cache.meta
    marks = meta.get("marks") or [f"{meta['build_key']}:{i}" for i in range(len(meta["images"]))]
    return [str(m) for m in marks[: len(inp.names)]]


@dataclass
class Resumed:
    """What a rerun found of an interrupted run: the chunks it reuses and why it reuses no more.

    Attributes:
        done: chunk id -> its saved arrays, for the chunks reused.
        found: saved chunks found at all.
        replaced: images replaced in place since (their chunks run again).
        shifted: the first image of the first chunk whose names changed (images added or removed): it and
            every later chunk run again. None: none shifted.
        other_settings: saved chunks dropped because the engine or the settings changed.
    """

    done: dict[int, dict[str, Any]] = field(default_factory=dict)
    found: int = 0
    replaced: int = 0
    shifted: str | None = None
    other_settings: int = 0

    @property
    def images(self) -> int:
        """Listed images (inferred or skipped) of the reused chunks."""
        return sum(len(a["names"]) + len(a["skipped"]) for a in self.done.values())


def resume_note(r: Resumed, total: int) -> str | None:
    """``resumed N of M images from an interrupted run; K replaced since the interrupted run`` (and why the rest
    runs again); None when there was nothing to resume."""
    if r.other_settings:
        return (
            f"an interrupted run's {r.other_settings} saved chunk(s) were made with another engine or other "
            f"settings: starting over"
        )
    if not r.found:
        return None
    return resumed_text(r.images, total, r.replaced, r.shifted, "run")


def resume(
    inp: Source, chunk: int, partial_dir: str | Path | None, key: str, marks: list[str]
) -> tuple[list[tuple[int, int]], Resumed]:
    """The chunks of the run, and those an interrupted run with the same key finished on the same images."""
    ranges = chunk_ranges(len(inp.names), chunk)
    if partial_dir is None:
        return ranges, Resumed()
    partial = Path(partial_dir)
    partial.mkdir(parents=True, exist_ok=True)
    clean_temp(partial)
    man = partial / "manifest.json"
    if not man.is_file() or json.loads(man.read_text()).get("key") != key:
        dropped = 0
        for f in partial.glob("chunk_*.npz"):
            f.unlink()
            dropped += 1
        write_json(man, {"key": key})
        return ranges, Resumed(other_settings=dropped)
    return ranges, _load_chunks(partial, ranges, inp.names, marks)


def _load_chunks(partial: Path, ranges: list[tuple[int, int]], names: list[str], marks: list[str]) -> Resumed:
    """The saved chunks whose images are the listed ones, unchanged; the others are deleted (and counted)."""
    r = Resumed()
    for f in sorted(partial.glob("chunk_*.npz")):
        c = int(f.stem.split("_")[1])
        try:
            with np.load(f, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError):
            f.unlink()
            continue
        r.found += 1
        s, e = ranges[c] if c < len(ranges) else (len(names), len(names))
        if r.shifted is None and [str(n) for n in arrays.get("listed", ())] != names[s:e]:
            r.shifted = names[s] if s < len(names) else "the end"
        if r.shifted is not None:
            f.unlink()
            continue
        changed = sum(a != b for a, b in zip(arrays["marks"].tolist(), marks[s:e]))
        if changed:
            r.replaced += changed
            f.unlink()
            continue
        r.done[c] = arrays
    return r


def _save_chunk(partial: Path, c: int, arrays: dict[str, Any]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes(partial / f"chunk_{c:06d}.npz", buf.getvalue())


@dataclass
class GroupResult:
    """One batch's outcome: its images' top-5 (for the ``names`` that decoded) and those skipped."""

    group: int
    n_files: int
    names: list[str]
    ids: np.ndarray | None
    probs: np.ndarray | None
    skipped: list[tuple[str, str]]


class ChunkSink:
    """Takes each batch's results (in any order), saves every chunk as it completes, reports progress."""

    def __init__(
        self,
        groups: list[tuple[int, int, int]],
        partial: Path | None,
        done: dict[int, dict[str, Any]],
        strict: bool,
        progress: Callable[[int], None] | None,
        stamp: Callable[[int], dict[str, np.ndarray]] | None = None,
    ) -> None:
        self.groups, self.partial, self.done, self.strict, self.progress = groups, partial, done, strict, progress
        self.stamp = stamp  # a chunk's listed names and image marks, saved beside its results
        self.note: str | None = None  # what the rerun said it resumed (resume_note)
        self.replaced = 0
        self.timer = StageTimer()
        self.fallbacks: Counter[str] = Counter()  # images the fast decoder handed to the reference, by reason
        self.n_batches = self.n_images = 0
        self.left: dict[int, int] = {}
        for c, _s, _e in groups:
            self.left[c] = self.left.get(c, 0) + 1
        self.pending: dict[int, dict[int, GroupResult]] = {c: {} for c in self.left}
        self.seen: set[int] = set()
        # listed images an interrupted run had finished (inferred or skipped): the chunks found in ``done``
        self.resumed = sum(len(a["names"]) + len(a["skipped"]) for a in done.values())

    def add(self, r: GroupResult) -> bool:
        """Record one batch; False (and nothing recorded) for a batch already recorded."""
        if r.group in self.seen:
            return False
        check_strict(self.strict, r.skipped)
        self.seen.add(r.group)
        c = self.groups[r.group][0]
        self.pending[c][r.group] = r
        if r.names:
            self.n_batches += 1
            self.n_images += len(r.names)
        self.left[c] -= 1
        if self.left[c] == 0:
            arrays = self._complete(c)
            if self.partial is not None:
                _save_chunk(self.partial, c, {**arrays, **(self.stamp(c) if self.stamp else {})})
            self.done[c] = arrays
        if self.progress:
            self.progress(r.n_files)
        return True

    def _complete(self, c: int) -> dict[str, Any]:
        parts = self.pending.pop(c)
        return _as_arrays([parts[g] for g in sorted(parts)])

    def missing(self) -> list[int]:
        """Batches not recorded yet."""
        return [g for g in range(len(self.groups)) if g not in self.seen]


def _as_arrays(parts: list[GroupResult]) -> dict[str, Any]:
    names = [n for p in parts for n in p.names]
    ids = [p.ids for p in parts if p.ids is not None and len(p.names)]
    probs = [p.probs for p in parts if p.probs is not None and len(p.names)]
    skipped = [s for p in parts for s in p.skipped]
    return {
        "names": np.asarray(names, dtype=str),
        "ids": np.concatenate(ids) if ids else np.zeros((0, 5), np.int64),
        "probs": np.concatenate(probs) if probs else np.zeros((0, 5), np.float32),
        "skipped": np.asarray(skipped, dtype=str).reshape(-1, 2),
    }


def stage_summary(seconds: dict[str, float], n_images: int, n_batches: int, e2e_s: float) -> StageSummary:
    """Per-stage throughput and latency, in the seeds' terms (SEED_SPEC §3.1)."""

    def rate(n: int, s: float) -> float:
        return n / s if s > 0 else float("inf")

    def block(s: float) -> dict[str, float]:
        return {
            "seconds": s,
            "throughput_img_s": rate(n_images, s),
            "latency_ms_per_img": 1000 * s / n_images if n_images else 0.0,
        }

    out: StageSummary = {}
    out["data_read"] = block(seconds["data_read"])
    out["preprocess"] = block(seconds["preprocess"])
    out["post"] = block(seconds["post"])
    infer_s = seconds["infer"]
    out["infer"] = {
        "seconds": infer_s,
        # compute-only throughput: images / time inside the runtime call ("Interface throughputRate")
        "interface_throughput_img_s": rate(n_images, infer_s),
        "latency_ms_per_batch": 1000 * infer_s / n_batches if n_batches else 0.0,
    }
    out["e2e"] = {"seconds": e2e_s, "throughput_img_s": rate(n_images, e2e_s), "latency_ms_total": 1000 * e2e_s}
    out["data_wait"] = {"seconds": seconds.get("data_wait", 0.0)}
    out["images"] = n_images
    out["batches"] = n_batches
    return out


def merge(
    inp: Source,
    sink: ChunkSink,
    n_chunks: int,
    e2e: float,
    info: dict[str, Any],
    logits_all: list[np.ndarray],
    strict: bool,
) -> InferenceResult:
    """Every chunk (resumed or run now) in image order, with the stage summary."""
    skipped = list(inp.skipped)
    names: list[str] = []
    ids, probs = [], []
    for c in range(n_chunks):
        a = sink.done[c]
        names.extend(str(n) for n in a["names"])
        ids.append(a["ids"])
        probs.append(a["probs"])
        skipped.extend((str(n), str(r)) for n, r in a["skipped"])
    if strict and skipped:
        raise DataError(f"--strict: {len(skipped)} file(s) skipped, first: {skipped[0][0]}: {skipped[0][1]}")
    stages = stage_summary(sink.timer.seconds, sink.n_images, sink.n_batches, e2e)
    # listed images whose result (inferred or skipped) an interrupted run had saved
    stages["resumed_images"] = sink.resumed
    stages["replaced_images"] = sink.replaced  # of the saved chunks, images replaced in place since
    stages["resume"] = sink.note  # the line the rerun said (None: nothing to resume)
    return InferenceResult(
        names=names,
        topk_ids=np.concatenate(ids).astype(np.int64) if ids else np.zeros((0, 5), np.int64),
        topk_probs=np.concatenate(probs).astype(np.float32) if probs else np.zeros((0, 5), np.float32),
        skipped=skipped,
        stages=stages,
        runtime=info,
        logits=np.concatenate(logits_all) if logits_all else None,
        fallbacks=dict(sorted(sink.fallbacks.items())),
    )
