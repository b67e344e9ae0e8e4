"""The pipelined inference loop: batches from the source, the runtime session, top-k per image, resumable
chunks, and the seeds' stage timers.

Batched offline inference over an image folder or a prep cache, with the seeds' stage breakdown.

Stages, as the seeds' ``benchmark`` tool reports them: ``[data read]`` (file bytes), ``[preprocess]``
(decode, resize, crop, normalize), ``[infer]`` (the runtime call), ``[post]`` (softmax + top-k).

Images are decoded by worker processes (:class:`~zoobench.data.decode.DecodePool`) while the runtime
infers, through bounded queues; a cache is read from its memory map and normalized on the fly. A
uint8-input engine (``export --input uint8``) gets the uint8 crops as they are: it normalizes inside. The
data read and preprocess seconds of an image folder are summed over the workers (per-process cost);
``data_wait`` is the time the inference loop waited for data.

Work is done in chunks; with ``partial_dir`` each finished chunk's results are saved there, and a rerun
with the same arguments skips them, so an interrupted run resumes and ends with the same outputs.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.artifact import Engine
from zoobench.data.cache import chunk_ranges, clean_temp
from zoobench.data.decode import DecodePool, default_workers
from zoobench.errors import DataError
from zoobench.evaluate.metrics import topk_from_logits
from zoobench.infer.source import Source, cache_batches, chunk_groups, normalized_batch, prefetch, resolve_input
from zoobench.io import write_bytes, write_json
from zoobench.runtimes import load_session
from zoobench.uint8_input import normalizes_inside


@dataclass
class StageTimer:
    """Accumulated seconds per stage."""

    seconds: dict[str, float] = field(
        default_factory=lambda: {"data_read": 0.0, "preprocess": 0.0, "infer": 0.0, "post": 0.0, "data_wait": 0.0}
    )

    def add(self, stage: str, dt: float) -> None:
        self.seconds[stage] += dt


@dataclass
class InferenceResult:
    names: list[str]
    topk_ids: np.ndarray
    topk_probs: np.ndarray
    skipped: list[tuple[str, str]]
    stages: dict[str, Any]
    runtime: dict[str, Any]
    logits: np.ndarray | None = None


def stage_summary(seconds: dict[str, float], n_images: int, n_batches: int, e2e_s: float) -> dict[str, Any]:
    """Per-stage throughput and latency, in the seeds' terms (SEED_SPEC §3.1)."""

    def rate(n: int, s: float) -> float:
        return n / s if s > 0 else float("inf")

    out: dict[str, Any] = {}
    for stage in ("data_read", "preprocess", "post"):
        s = seconds[stage]
        out[stage] = {
            "seconds": s,
            "throughput_img_s": rate(n_images, s),
            "latency_ms_per_img": 1000 * s / n_images if n_images else 0.0,
        }
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


def format_stage_summary(st: dict[str, Any]) -> str:
    """The seeds' performance summary block."""
    return "\n".join(
        [
            "-----------------Performance Summary------------------",
            f"[e2e] throughputRate: {st['e2e']['throughput_img_s']:.3f}, latency: {st['e2e']['latency_ms_total']:.1f}",
            f"[data read] throughputRate: {st['data_read']['throughput_img_s']:.3f}, "
            f"moduleLatency: {st['data_read']['latency_ms_per_img']:.5f}",
            f"[preprocess] throughputRate: {st['preprocess']['throughput_img_s']:.3f}, "
            f"moduleLatency: {st['preprocess']['latency_ms_per_img']:.5f}",
            f"[infer] Interface throughputRate: {st['infer']['interface_throughput_img_s']:.3f}, "
            f"moduleLatency: {st['infer']['latency_ms_per_batch']:.5f}",
            f"[post] throughputRate: {st['post']['throughput_img_s']:.3f}, "
            f"moduleLatency: {st['post']['latency_ms_per_img']:.5f}",
            "------------------------------------------------------",
        ]
    )


def run_key(engine: Engine, inp: Source, **settings: Any) -> str:
    """What decides a run's per-image results; partial results are reused only under the same key."""
    st = Path(engine.path).stat()
    blob = [engine.path, st.st_size, st.st_mtime_ns, engine.preprocess.to_dict(), inp.source_id, settings]
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _load_chunks(partial: Path, key: str, n_chunks: int) -> dict[int, dict[str, Any]]:
    man = partial / "manifest.json"
    if not man.is_file() or json.loads(man.read_text()).get("key") != key:
        for f in partial.glob("chunk_*.npz"):
            f.unlink()
        write_json(man, {"key": key})
        return {}
    done: dict[int, dict[str, Any]] = {}
    for c in range(n_chunks):
        f = partial / f"chunk_{c:06d}.npz"
        if f.is_file():
            try:
                with np.load(f, allow_pickle=False) as z:
                    done[c] = {k: z[k] for k in z.files}
            except (OSError, ValueError):
                f.unlink()
    return done


def _save_chunk(partial: Path, c: int, acc: dict[str, Any]) -> dict[str, Any]:
    arrays = _as_arrays(acc)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes(partial / f"chunk_{c:06d}.npz", buf.getvalue())
    return arrays


def run_folder(
    engine: Engine,
    data_dir: str | Path,
    *,
    runtime: str = "onnxruntime",
    batch_size: int = 16,
    threads: int | None = None,
    limit: int | None = None,
    strict: bool = False,
    keep_logits: bool = False,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    chunk: int = 512,
    partial_dir: str | Path | None = None,
    dump: str | None = None,
    dump_dir: str | Path | None = None,
    source: Source | None = None,
) -> InferenceResult:
    """Infer every image of a folder (sorted by name) or of a prep cache; bad images are skipped and listed.

    Args:
        engine: the model and its preprocessing.
        data_dir: a flat image folder, a class-folder layout, or a cache made by ``zoobench prep``.
        source: ``data_dir`` already listed by :func:`resolve_input` (the caller's listing; not scanned again).
        batch_size: images per runtime call.
        workers: decode processes for an image folder (0 decodes in this process; None: the default).
        chunk: images per resumable chunk (rounded up to a multiple of ``batch_size``).
        partial_dir: where finished chunks are saved; a rerun skips the chunks found there.
        dump: also write each image's logits as ais_bench does (``txt``, ``bin`` or ``npy``) into ``dump_dir``.
        progress: called with the number of images finished, once per batch.

    Raises:
        DataError: bad arguments, or with ``strict`` any skipped file.
    """
    if batch_size < 1:
        raise DataError(f"batch size must be >= 1, got {batch_size}")
    inp = source or resolve_input(data_dir, limit)
    _check_source(engine, inp, data_dir, strict)
    chunk = -(-max(chunk, 1) // batch_size) * batch_size
    key = run_key(engine, inp, batch_size=batch_size, chunk=chunk, runtime=runtime, dump=dump)
    ranges, done = _resume(inp, chunk, partial_dir, key)
    _prepare_dump_dir(dump, dump_dir)
    todo = [(c, s, e) for c, (s, e) in enumerate(ranges) if c not in done]
    if progress and done:
        progress(sum(ranges[c][1] - ranges[c][0] for c in done))
    groups = chunk_groups(todo, batch_size)
    n_workers = 0 if inp.cache is not None else (default_workers() if workers is None else workers)
    n_workers = min(n_workers, len(groups))
    sink = _Sink(todo, batch_size, Path(partial_dir) if partial_dir else None, done, strict, keep_logits, progress)
    with DecodePool(n_workers) as pool:  # workers start before the session: never fork a live runtime
        opts: dict[str, Any] = {"spin": False} if n_workers > 0 and runtime == "onnxruntime" else {}
        session = load_session(engine.path, runtime, threads=threads, **opts)
        items = _batches(engine, session, inp, groups, pool, batch_size)
        t_start = time.perf_counter()
        sink.drain(items, groups, session, dump, dump_dir)
        e2e = time.perf_counter() - t_start
        info = session.info().to_dict()
    return _merge(
        inp, sink.done, len(ranges), sink.timer, sink.n_images, sink.n_batches, e2e, info, sink.logits, strict
    )


def _batches(
    engine: Engine, session: Any, inp: Source, groups: list[tuple[int, int, int]], pool: Any, batch_size: int
) -> Iterator[Any]:
    """Warm the session up (part of loading), then the batches as the session takes them (uint8 or normalized)."""
    pp = engine.preprocess
    in_graph = normalizes_inside(engine, session)
    # one run before the clock: first-run allocations (and OpenVINO's per-batch compile) are not the data path's
    session.run(np.zeros((batch_size, *pp.input_size), np.uint8 if in_graph else np.float32))
    if inp.cache is not None:
        # A cache needs no decode: normalizing inline (~2% of a batch) beats a prefetch thread whose work
        # contends with the runtime's own threads on the same cores (measured: 90% vs 95%+ of pure inference).
        return normalized_batch(cache_batches(inp, groups), pp, in_graph)
    assert inp.paths is not None
    return prefetch(normalized_batch(pool.imap([inp.paths[s:e] for _c, s, e in groups], pp), pp, in_graph))


def _prepare_dump_dir(dump: str | None, dump_dir: str | Path | None) -> None:
    if dump:
        if dump_dir is None:
            raise DataError("dump needs a dump_dir")
        Path(dump_dir).mkdir(parents=True, exist_ok=True)
        clean_temp(dump_dir)


def _check_source(engine: Engine, inp: Source, data_dir: str | Path, strict: bool) -> None:
    pp = engine.preprocess
    if inp.cache is not None and inp.cache.meta["preprocess_hash"] != pp.geometry_hash():
        raise DataError(
            f"cache {data_dir} was made with preprocessing {inp.cache.meta['preprocess']}, but the model needs "
            f"{pp.to_dict()}; run `zoobench prep` for this model"
        )
    if strict and inp.skipped:
        raise DataError(f"--strict: {inp.skipped[0][0]}: {inp.skipped[0][1]}")


def _resume(
    inp: Source, chunk: int, partial_dir: str | Path | None, key: str
) -> tuple[list[tuple[int, int]], dict[int, dict[str, Any]]]:
    """The chunks of the run, and those an interrupted run with the same key already finished."""
    ranges = chunk_ranges(len(inp.names), chunk)
    if partial_dir is None:
        return ranges, {}
    partial = Path(partial_dir)
    partial.mkdir(parents=True, exist_ok=True)
    clean_temp(partial)
    return ranges, _load_chunks(partial, key, len(ranges))


class _Sink:
    """Takes decoded batches in order, runs them, keeps top-k per image and saves each chunk as it completes."""

    def __init__(
        self,
        todo: list[tuple[int, int, int]],
        batch_size: int,
        partial: Path | None,
        done: dict[int, dict[str, Any]],
        strict: bool,
        keep_logits: bool,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.partial, self.done, self.strict, self.keep_logits, self.progress = (
            partial,
            done,
            strict,
            keep_logits,
            progress,
        )
        self.timer = StageTimer()
        self.n_batches = self.n_images = 0
        self.left = {c: -(-(e - s) // batch_size) for c, s, e in todo}
        self.accs: dict[int, dict[str, list[Any]]] = {
            c: {"names": [], "ids": [], "probs": [], "skipped": []} for c, _s, _e in todo
        }
        self.logits: list[np.ndarray] = []

    def drain(
        self, items: Iterator[Any], groups: list[tuple[int, int, int]], session: Any, dump: str | None, dump_dir: Any
    ) -> None:
        while True:
            t0 = time.perf_counter()
            item = next(items, None)
            self.timer.add("data_wait", time.perf_counter() - t0)
            if item is None:
                return
            d, batch, norm_s = item
            c = groups[d.index][0]
            self.timer.add("data_read", d.read_s)
            self.timer.add("preprocess", d.preprocess_s + norm_s)
            if self.strict and d.skipped:
                raise DataError(f"--strict: {d.skipped[0][0]}: {d.skipped[0][1]}")
            self.accs[c]["skipped"].extend(d.skipped)
            if batch is not None:
                self._infer(c, [d.names[k] for k in d.ok], batch, session, dump, dump_dir)
            self.left[c] -= 1
            if self.left[c] == 0:
                acc = self.accs.pop(c)
                self.done[c] = _save_chunk(self.partial, c, acc) if self.partial is not None else _as_arrays(acc)
            if self.progress:
                self.progress(len(d.names))

    def _infer(
        self, c: int, names: list[str], batch: np.ndarray, session: Any, dump: str | None, dump_dir: Any
    ) -> None:
        t0 = time.perf_counter()
        out = session.run(batch)
        t1 = time.perf_counter()
        i, p = topk_from_logits(out, 5)
        if dump:
            from zoobench.data.seedfmt import dump_output

            for name, row in zip(names, out):
                dump_output(dump_dir, name, row, dump)
        self.timer.add("infer", t1 - t0)
        self.timer.add("post", time.perf_counter() - t1)
        acc = self.accs[c]
        acc["names"].extend(names)
        acc["ids"].append(i)
        acc["probs"].append(p)
        if self.keep_logits:
            self.logits.append(out)
        self.n_batches += 1
        self.n_images += len(names)


def _as_arrays(acc: dict[str, Any]) -> dict[str, Any]:
    return {
        "names": np.asarray(acc["names"], dtype=str),
        "ids": np.concatenate(acc["ids"]) if acc["ids"] else np.zeros((0, 5), np.int64),
        "probs": np.concatenate(acc["probs"]) if acc["probs"] else np.zeros((0, 5), np.float32),
        "skipped": np.asarray(acc["skipped"], dtype=str).reshape(-1, 2),
    }


def _merge(
    inp: Source,
    done: dict[int, dict[str, Any]],
    n_chunks: int,
    timer: StageTimer,
    n_images: int,
    n_batches: int,
    e2e: float,
    info: dict[str, Any],
    logits_all: list[np.ndarray],
    strict: bool,
) -> InferenceResult:
    skipped = list(inp.skipped)
    names: list[str] = []
    ids, probs = [], []
    for c in range(n_chunks):
        a = done[c]
        names.extend(str(n) for n in a["names"])
        ids.append(a["ids"])
        probs.append(a["probs"])
        skipped.extend((str(n), str(r)) for n, r in a["skipped"])
    if strict and skipped:
        raise DataError(f"--strict: {len(skipped)} file(s) skipped, first: {skipped[0][0]}: {skipped[0][1]}")
    stages = stage_summary(timer.seconds, n_images, n_batches, e2e)
    stages["resumed_images"] = len(names) - n_images
    return InferenceResult(
        names=names,
        topk_ids=np.concatenate(ids).astype(np.int64) if ids else np.zeros((0, 5), np.int64),
        topk_probs=np.concatenate(probs).astype(np.float32) if probs else np.zeros((0, 5), np.float32),
        skipped=skipped,
        stages=stages,
        runtime=info,
        logits=np.concatenate(logits_all) if logits_all else None,
    )
