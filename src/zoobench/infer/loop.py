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

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.artifact import Engine
from zoobench.data.cache import clean_temp
from zoobench.data.datasets import check_strict
from zoobench.data.decode import DecodePool, default_workers
from zoobench.data.fastdecode import key_part
from zoobench.errors import DataError
from zoobench.evaluate.metrics import topk_from_logits
from zoobench.infer.chunks import ChunkSink, GroupResult, InferenceResult, default_chunk, merge, resume, run_key
from zoobench.infer.source import (
    Source,
    cache_batches,
    chunk_groups,
    normalized_batch,
    prefetch,
    resolve_input,
    use_decoder,
)
from zoobench.runtimes import load_session
from zoobench.uint8_input import normalizes_inside


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
    chunk: int | None = None,
    partial_dir: str | Path | None = None,
    dump: str | None = None,
    dump_dir: str | Path | None = None,
    source: Source | None = None,
    log: Callable[[str], None] | None = None,
    precision: str | None = None,
    decoder: str | None = None,
    options: dict[str, Any] | None = None,
) -> InferenceResult:
    """Infer every image of a folder (sorted by name) or of a prep cache; bad images are skipped and listed.

    Args:
        engine: the model and its preprocessing.
        data_dir: a flat image folder, a class-folder layout, or a cache made by ``zoobench prep``.
        source: ``data_dir`` already listed by :func:`resolve_input` (the caller's listing; not scanned again).
        batch_size: images per runtime call.
        workers: decode processes for an image folder (0 decodes in this process; None: the default).
        chunk: images per resumable chunk (rounded up to a multiple of ``batch_size``); None:
            :func:`~zoobench.infer.chunks.default_chunk`.
        partial_dir: where finished chunks are saved; a rerun skips the chunks found there.
        dump: also write each image's logits as ais_bench does (``txt``, ``bin`` or ``npy``) into ``dump_dir``.
        progress: called with the number of images finished, once per batch.
        log: told ``resumed N of M images from an interrupted run`` when finished chunks are reused.
        precision: the runtime's precision (None: the engine's recorded one, else fp32).
        decoder: what decodes the images (``reference``, the default; ``fast``; ``nvjpeg``); a cache is read
            as its own decoder made it (asking for another is an error).
        options: a tuned profile's session settings (``zoobench tune``); they win over ``threads``.

    Raises:
        DataError: bad arguments, or with ``strict`` any skipped file.
    """
    inp, ranges, groups, sink = open_run(
        engine, data_dir, source=source, limit=limit, strict=strict, batch_size=batch_size, chunk=chunk,
        runtime=runtime, dump=dump, partial_dir=partial_dir, progress=progress, log=log, decoder=decoder,
    )  # fmt: skip
    prepare_dump_dir(dump, dump_dir)
    n_workers = 0 if inp.cache is not None else (default_workers() if workers is None else workers)
    n_workers = min(n_workers, len(groups))
    with DecodePool(n_workers) as pool:  # workers start before the session: never fork a live runtime
        opts = _options(runtime, n_workers, threads, options)
        session = load_session(engine.path, runtime, precision=precision, **opts)
        items = _batches(engine, session, inp, groups, pool, batch_size)
        t_start = time.perf_counter()
        logits = _drain(sink, items, session, dump, dump_dir, keep_logits)
        e2e = time.perf_counter() - t_start
        info = session.info().to_dict()
    return merge(inp, sink, len(ranges), e2e, info, logits, strict)


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
    batches = pool.imap([inp.paths[s:e] for _c, s, e in groups], pp, decoder=inp.decoder)
    return prefetch(normalized_batch(batches, pp, in_graph))


def _options(runtime: str, workers: int, threads: int | None, tuned: dict[str, Any] | None) -> dict:
    """The session's load options: ORT does not spin beside decode workers; a tuned profile's settings win."""
    opts: dict[str, Any] = {"spin": False} if workers > 0 and runtime == "onnxruntime" else {}
    opts.update({k: v for k, v in (tuned or {}).items() if k != "streams"})  # one session here: streams are perf's
    opts.setdefault("threads", threads)
    return opts


def open_run(
    engine: Engine,
    data_dir: str | Path,
    *,
    source: Source | None,
    limit: int | None,
    strict: bool,
    batch_size: int,
    chunk: int | None,
    runtime: str,
    dump: str | None,
    partial_dir: str | Path | None,
    progress: Callable[[int], None] | None,
    log: Callable[[str], None] | None = None,
    decoder: str | None = None,
) -> tuple[Source, list[tuple[int, int]], list[tuple[int, int, int]], ChunkSink]:
    """What the local loop and the Ray pipeline both do first: list and check the input, find the chunks an
    interrupted run finished (reported to ``progress`` and said through ``log``), and the batches left with the
    sink that collects them. ``chunk`` None is :func:`default_chunk` of the image count and batch size.

    Returns:
        ``(input, chunk ranges, batches left as (chunk, start, end), sink)``.
    """
    if batch_size < 1:
        raise DataError(f"batch size must be >= 1, got {batch_size}")
    inp = source or resolve_input(data_dir, limit)
    check_source(engine, inp, data_dir, strict)
    if chunk is None:
        chunk = default_chunk(len(inp.names), batch_size)
    made_by = use_decoder(inp, decoder, data_dir)
    chunk = -(-max(chunk, 1) // batch_size) * batch_size
    key = run_key(engine, inp, batch_size=batch_size, chunk=chunk, runtime=runtime, dump=dump, **key_part(made_by))
    ranges, done = resume(inp, chunk, partial_dir, key)
    todo = [(c, s, e) for c, (s, e) in enumerate(ranges) if c not in done]
    groups = chunk_groups(todo, batch_size)
    sink = ChunkSink(groups, Path(partial_dir) if partial_dir else None, done, strict, progress)
    if done:
        if progress:
            progress(sink.resumed)
        if log:
            log(f"resumed {sink.resumed} of {len(inp.names)} images from an interrupted run")
    return inp, ranges, groups, sink


def prepare_dump_dir(dump: str | None, dump_dir: str | Path | None) -> None:
    if dump:
        if dump_dir is None:
            raise DataError("dump needs a dump_dir")
        Path(dump_dir).mkdir(parents=True, exist_ok=True)
        clean_temp(dump_dir)


def check_source(engine: Engine, inp: Source, data_dir: str | Path, strict: bool) -> None:
    pp = engine.preprocess
    if inp.cache is not None and inp.cache.meta["preprocess_hash"] != pp.geometry_hash():
        raise DataError(
            f"cache {data_dir} was made with preprocessing {inp.cache.meta['preprocess']}, but the model needs "
            f"{pp.to_dict()}; run `zoobench prep` for this model"
        )
    check_strict(strict, inp.skipped)


def _drain(
    sink: ChunkSink, items: Iterator[Any], session: Any, dump: str | None, dump_dir: Any, keep_logits: bool
) -> list[np.ndarray]:
    """Run each decoded batch as it comes; the logits too when ``dump`` asks for them (ais_bench files)."""
    timer = sink.timer
    kept: list[np.ndarray] = []
    while True:
        t0 = time.perf_counter()
        item = next(items, None)
        timer.add("data_wait", time.perf_counter() - t0)
        if item is None:
            return kept
        d, batch, norm_s = item
        timer.add("data_read", d.read_s)
        timer.add("preprocess", d.preprocess_s + norm_s)
        sink.fallbacks.update(d.fallbacks)
        names = [d.names[k] for k in d.ok]
        ids = probs = None
        if batch is not None:
            t0 = time.perf_counter()
            out = session.run(batch)
            t1 = time.perf_counter()
            ids, probs = topk_from_logits(out, 5)
            if keep_logits:
                kept.append(out)
            if dump:
                from zoobench.data.seedfmt import dump_output

                for name, row in zip(names, out):
                    dump_output(dump_dir, name, row, dump)
            timer.add("infer", t1 - t0)
            timer.add("post", time.perf_counter() - t1)
        sink.add(GroupResult(d.index, len(d.names), names, ids, probs, list(d.skipped)))
