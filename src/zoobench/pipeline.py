"""Batched offline inference over an image folder or a prep cache, with the seeds' stage breakdown.

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
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.data.decode import Decoded, DecodePool
from zoobench.data.transforms import normalize
from zoobench.engine import Engine
from zoobench.errors import DataError
from zoobench.evaluate import topk_from_logits
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


@dataclass
class _Input:
    """What a run reads: image paths (``cache`` None) or a cache's rows; plus files skipped up front."""

    names: list[str]
    paths: list[Path] | None
    cache: Any
    skipped: list[tuple[str, str]]
    folder_labels: dict[str, int] | None
    source_id: str


def resolve_input(data: str | Path, limit: int | None = None) -> _Input:
    """An image folder (flat or class folders) or a completed prep cache, listed in processing order."""
    from zoobench.data.cache import is_cache, open_cache
    from zoobench.data.datasets import scan_dataset

    if is_cache(data):
        c = open_cache(data)
        rows = set(c.names)
        names = c.names[:limit] if limit is not None else c.names
        pre = [tuple(s) for s in c.skipped if s[0] not in rows]
        return _Input(names, None, c, pre, None, f"cache:{c.meta['build_key']}")  # type: ignore[arg-type]
    images, others, folder_labels = scan_dataset(data)
    if limit is not None:
        images = images[:limit]
    h = hashlib.sha256()
    for p in images:
        h.update(str(p.resolve()).encode() + b"\0")
    skipped = [(p.name, "not an image file (extension)") for p in others]
    return _Input([p.name for p in images], images, None, skipped, folder_labels, h.hexdigest()[:20])


def _groups(todo: list[tuple[int, int, int]], batch_size: int) -> list[tuple[int, int, int]]:
    """(chunk id, start, end) per batch-sized group; groups never cross a chunk boundary."""
    out: list[tuple[int, int, int]] = []
    for c, s, e in todo:
        out.extend((c, g, min(g + batch_size, e)) for g in range(s, e, batch_size))
    return out


def _cache_groups(inp: _Input, groups: list[tuple[int, int, int]]) -> Iterator[Decoded]:
    bad = {n: r for n, r in inp.cache.skipped}
    for k, (_c, s, e) in enumerate(groups):
        t0 = time.perf_counter()
        names = inp.names[s:e]
        ok = [i for i, n in enumerate(names) if n not in bad]
        px = np.array(inp.cache.pixels[s:e])
        if len(ok) != len(names):
            px = px[ok]
        skipped = [(n, bad[n]) for n in names if n in bad]
        yield Decoded(k, names, ok, px, skipped, time.perf_counter() - t0, 0.0)


def _prefetch(items: Iterator[Any], depth: int = 3) -> Iterator[Any]:
    """Run ``items`` in a background thread with at most ``depth`` results waiting."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    end = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for it in items:
                while not stop.is_set():
                    try:
                        q.put(it, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(end)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    t = threading.Thread(target=work, daemon=True, name="zoobench-prefetch")
    t.start()
    try:
        while True:
            it = q.get()
            if it is end:
                return
            if isinstance(it, BaseException):
                raise it
            yield it
    finally:
        stop.set()


def _normalized(
    items: Iterator[Decoded], pp: Any, in_graph: bool = False
) -> Iterator[tuple[Decoded, np.ndarray | None, float]]:
    """Normalized float32 batches; with ``in_graph`` (a uint8-input engine) the uint8 crops as they are."""
    for d in items:
        t0 = time.perf_counter()
        batch = (d.pixels if in_graph else normalize(d.pixels, pp)) if len(d.ok) else None
        yield d, batch, time.perf_counter() - t0


def run_key(engine: Engine, inp: _Input, **settings: Any) -> str:
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
) -> InferenceResult:
    """Infer every image of a folder (sorted by name) or of a prep cache; bad images are skipped and listed.

    Args:
        engine: the model and its preprocessing.
        data_dir: a flat image folder, a class-folder layout, or a cache made by ``zoobench prep``.
        batch_size: images per runtime call.
        workers: decode processes for an image folder (0 decodes in this process; None: the default).
        chunk: images per resumable chunk (rounded up to a multiple of ``batch_size``).
        partial_dir: where finished chunks are saved; a rerun skips the chunks found there.
        dump: also write each image's logits as ais_bench does (``txt``, ``bin`` or ``npy``) into ``dump_dir``.
        progress: called with the number of images finished, once per batch.

    Raises:
        DataError: bad arguments, or with ``strict`` any skipped file.
    """
    from zoobench.data.cache import chunk_ranges, clean_temp

    if batch_size < 1:
        raise DataError(f"batch size must be >= 1, got {batch_size}")
    inp = resolve_input(data_dir, limit)
    pp = engine.preprocess
    if inp.cache is not None and inp.cache.meta["preprocess_hash"] != pp.geometry_hash():
        raise DataError(
            f"cache {data_dir} was made with preprocessing {inp.cache.meta['preprocess']}, but the model needs "
            f"{pp.to_dict()}; run `zoobench prep` for this model"
        )
    if strict and inp.skipped:
        raise DataError(f"--strict: {inp.skipped[0][0]}: {inp.skipped[0][1]}")
    chunk = -(-max(chunk, 1) // batch_size) * batch_size
    ranges = chunk_ranges(len(inp.names), chunk)
    partial = Path(partial_dir) if partial_dir else None
    done: dict[int, dict[str, Any]] = {}
    if partial is not None:
        partial.mkdir(parents=True, exist_ok=True)
        clean_temp(partial)
        key = run_key(engine, inp, batch_size=batch_size, chunk=chunk, runtime=runtime, dump=dump)
        done = _load_chunks(partial, key, len(ranges))
    if dump:
        if dump_dir is None:
            raise DataError("dump needs a dump_dir")
        Path(dump_dir).mkdir(parents=True, exist_ok=True)
        clean_temp(dump_dir)
    todo = [(c, s, e) for c, (s, e) in enumerate(ranges) if c not in done]
    if progress and done:
        progress(sum(ranges[c][1] - ranges[c][0] for c in done))
    groups = _groups(todo, batch_size)
    n_workers = 0 if inp.cache is not None else workers
    if n_workers is None:
        from zoobench.data.decode import default_workers

        n_workers = default_workers()
    n_workers = min(n_workers, len(groups))
    timer = StageTimer()
    n_batches = n_images = 0
    left = {c: -(-(e - s) // batch_size) for c, s, e in todo}
    accs: dict[int, dict[str, list[Any]]] = {
        c: {"names": [], "ids": [], "probs": [], "skipped": []} for c, _s, _e in todo
    }
    logits_all: list[np.ndarray] = []
    with DecodePool(n_workers) as pool:  # workers start before the session: never fork a live runtime
        opts: dict[str, Any] = {"spin": False} if n_workers > 0 and runtime == "onnxruntime" else {}
        session = load_session(engine.path, runtime, threads=threads, **opts)
        in_graph = normalizes_inside(engine, session)
        # one run before the clock, as part of loading: first-run allocations (and OpenVINO's per-batch
        # compile) are not the data path's cost
        session.run(np.zeros((batch_size, *pp.input_size), np.uint8 if in_graph else np.float32))
        if inp.cache is not None:
            source = _cache_groups(inp, groups)
        else:
            assert inp.paths is not None
            source = pool.imap([inp.paths[s:e] for _c, s, e in groups], pp)
        t_start = time.perf_counter()
        # A cache needs no decode: normalizing inline (~2% of a batch) beats a prefetch thread whose work
        # contends with the runtime's own threads on the same cores (measured: 90% vs 95%+ of pure inference).
        items = _normalized(source, pp, in_graph)
        items = items if inp.cache is not None else _prefetch(items)
        while True:
            t0 = time.perf_counter()
            item = next(items, None)
            timer.add("data_wait", time.perf_counter() - t0)
            if item is None:
                break
            d, batch, norm_s = item
            c = groups[d.index][0]
            timer.add("data_read", d.read_s)
            timer.add("preprocess", d.preprocess_s + norm_s)
            if strict and d.skipped:
                raise DataError(f"--strict: {d.skipped[0][0]}: {d.skipped[0][1]}")
            acc = accs[c]
            acc["skipped"].extend(d.skipped)
            if batch is not None:
                t0 = time.perf_counter()
                out = session.run(batch)
                t1 = time.perf_counter()
                i, p = topk_from_logits(out, 5)
                names = [d.names[k] for k in d.ok]
                if dump:
                    from zoobench.data.seedfmt import dump_output

                    for name, row in zip(names, out):
                        dump_output(dump_dir, name, row, dump)  # type: ignore[arg-type]
                timer.add("infer", t1 - t0)
                timer.add("post", time.perf_counter() - t1)
                acc["names"].extend(names)
                acc["ids"].append(i)
                acc["probs"].append(p)
                if keep_logits:
                    logits_all.append(out)
                n_batches += 1
                n_images += len(names)
            left[c] -= 1
            if left[c] == 0:
                arrays = _save_chunk(partial, c, acc) if partial is not None else _as_arrays(acc)
                done[c] = arrays
                del accs[c]
            if progress:
                progress(len(d.names))
        e2e = time.perf_counter() - t_start
        info = session.info().to_dict()
    return _merge(inp, done, len(ranges), timer, n_images, n_batches, e2e, info, logits_all, strict)


def _as_arrays(acc: dict[str, Any]) -> dict[str, Any]:
    return {
        "names": np.asarray(acc["names"], dtype=str),
        "ids": np.concatenate(acc["ids"]) if acc["ids"] else np.zeros((0, 5), np.int64),
        "probs": np.concatenate(acc["probs"]) if acc["probs"] else np.zeros((0, 5), np.float32),
        "skipped": np.asarray(acc["skipped"], dtype=str).reshape(-1, 2),
    }


def _merge(
    inp: _Input,
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
