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

Work is done in chunks; with ``RunIO.partial_dir`` each finished chunk's results are saved there, and a rerun
with the same arguments skips them, so an interrupted run resumes and ends with the same outputs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.artifact import Engine
from zoobench.data.cache import clean_temp
from zoobench.data.datasets import check_strict
from zoobench.data.decode import SMALL_SET_REASON, Decoded, DecodePool, decode_plan
from zoobench.data.fastdecode import key_part
from zoobench.errors import DataError
from zoobench.infer.batch import BatchRunner
from zoobench.infer.chunks import (
    ChunkSink,
    GroupResult,
    InferenceResult,
    default_chunk,
    image_marks,
    merge,
    resume,
    resume_note,
    run_key,
)
from zoobench.infer.settings import InferSettings
from zoobench.infer.source import Source, cache_batches, chunk_groups, prefetch, prepared, resolve_input, use_decoder


def format_stage_summary(st: Mapping[str, Any]) -> str:
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


@dataclass(frozen=True)
class RunIO:
    """Where a run keeps its side files and whom it tells, besides its results.

    Attributes:
        partial_dir: where finished chunks are saved; a rerun skips the chunks found there (None: not kept).
        dump_dir: where ``settings.dump`` writes each image's logits as ais_bench does.
        progress: called with the number of images finished, once per batch (and once with the resumed ones).
        log: told ``resumed N of M images from an interrupted run; K replaced since the interrupted run`` (and
            why the rest runs again) when an interrupted run's chunks were found (:func:`resume_note`).
    """

    partial_dir: str | Path | None = None
    dump_dir: str | Path | None = None
    progress: Callable[[int], None] | None = None
    log: Callable[[str], None] | None = None


def run_folder(
    engine: Engine,
    data_dir: str | Path,
    settings: InferSettings | None = None,
    *,
    source: Source | None = None,
    io: RunIO | None = None,
    keep_logits: bool = False,
) -> InferenceResult:
    """Infer every image of a folder (sorted by name) or of a prep cache; bad images are skipped and listed.

    Args:
        engine: the model and its preprocessing.
        data_dir: a flat image folder, a class-folder layout, or a cache made by ``zoobench prep``.
        settings: how (:class:`InferSettings`; this uses runtime, precision, threads, tuned, batch_size, limit,
            strict, workers, chunk, dump, decoder). None: the defaults.
        source: ``data_dir`` already listed by :func:`resolve_input` (the caller's listing; not scanned again).
        io: where partial chunks and dumps go, and the progress and log callbacks (:class:`RunIO`).
        keep_logits: also return every image's logits (``InferenceResult.logits``).

    Raises:
        DataError: bad arguments, or with ``strict`` any skipped file.
    """
    s, io = settings or InferSettings(), io or RunIO()
    inp, ranges, groups, sink = open_run(engine, data_dir, s, source, io)
    prepare_dump_dir(s.dump, io.dump_dir)
    # a cache has no decoding; a small set: the reference (counted as fallbacks), by default in this process
    use, n_workers = decode_plan(inp.decoder, len(inp.names), 0 if inp.cache is not None else s.workers)
    n_workers = min(n_workers, len(groups))
    # the decode workers start before the session (never fork a live runtime); the session is released first
    with (
        DecodePool(n_workers, use) as pool,
        BatchRunner.load(engine, s, beside_decoders=n_workers > 0) as runner,
    ):
        items = _batches(runner, inp, groups, pool, use)
        t_start = time.perf_counter()
        logits = _drain(sink, items, runner, s.dump, io.dump_dir, keep_logits)
        e2e = time.perf_counter() - t_start
        info = runner.info()
    return merge(inp, sink, len(ranges), e2e, info, logits, s.strict)


def _batches(
    runner: BatchRunner, inp: Source, groups: list[tuple[int, int, int]], pool: Any, use: str
) -> Iterator[tuple[Decoded, np.ndarray | None, float]]:
    """The batches as the runner's session takes them (uint8 or normalized), with the seconds that took; images
    decoded by ``use`` (:func:`~zoobench.data.decode.run_decoder`), each counted as a fallback when it is not the
    run's decoder."""
    if inp.cache is not None:
        # A cache needs no decode: normalizing inline (~2% of a batch) beats a prefetch thread whose work
        # contends with the runtime's own threads on the same cores (measured: 90% vs 95%+ of pure inference).
        return prepared(cache_batches(inp, groups), runner.prepare)
    assert inp.paths is not None
    batches = pool.imap([inp.paths[s:e] for _c, s, e in groups], runner.engine.preprocess, decoder=use)
    if use != inp.decoder:
        batches = (_small_set(d) for d in batches)
    return prefetch(prepared(batches, runner.prepare))


def _small_set(d: Decoded) -> Decoded:
    d.fallbacks = {SMALL_SET_REASON: len(d.ok)}
    return d


def open_run(
    engine: Engine, data_dir: str | Path, settings: InferSettings, source: Source | None, io: RunIO
) -> tuple[Source, list[tuple[int, int]], list[tuple[int, int, int]], ChunkSink]:
    """What the local loop and the Ray pipeline both do first: list (unless ``source`` is the listing) and check
    the input, find the chunks an interrupted run finished in ``io.partial_dir`` (reported to ``io.progress`` and
    said through ``io.log``), and the batches left with the sink that collects them. ``settings.chunk`` None is
    :func:`default_chunk` of the image count and batch size.

    Returns:
        ``(input, chunk ranges, batches left as (chunk, start, end), sink)``.
    """
    batch_size = settings.batch
    inp = source or resolve_input(data_dir, settings.limit)
    check_source(engine, inp, data_dir, settings.strict)
    chunk = default_chunk(len(inp.names), batch_size) if settings.chunk is None else settings.chunk
    made_by = use_decoder(inp, settings.decoder, data_dir)
    chunk = -(-max(chunk, 1) // batch_size) * batch_size
    key = run_key(
        engine,
        inp,
        batch_size=batch_size,
        chunk=chunk,
        runtime=settings.runtime,
        dump=settings.dump,
        **key_part(made_by),
    )
    partial = Path(io.partial_dir) if io.partial_dir else None
    marks = image_marks(inp) if partial is not None else []
    ranges, found = resume(inp, chunk, partial, key, marks)
    todo = [(c, s, e) for c, (s, e) in enumerate(ranges) if c not in found.done]

    def stamp(c: int) -> dict[str, np.ndarray]:
        s, e = ranges[c]
        return {"listed": np.asarray(inp.names[s:e], dtype=str), "marks": np.asarray(marks[s:e], dtype=str)}

    groups = chunk_groups(todo, batch_size)
    sink = ChunkSink(groups, partial, found.done, settings.strict, io.progress, stamp)
    sink.note, sink.replaced = resume_note(found, len(inp.names)), found.replaced
    if found.done and io.progress:
        io.progress(sink.resumed)
    if sink.note and io.log:
        io.log(sink.note)
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
    sink: ChunkSink,
    items: Iterator[tuple[Decoded, np.ndarray | None, float]],
    runner: BatchRunner,
    dump: str | None,
    dump_dir: str | Path | None,
    keep_logits: bool,
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
        d, batch, prepare_s = item
        timer.add("data_read", d.read_s)
        timer.add("preprocess", d.preprocess_s + prepare_s)
        sink.fallbacks.update(d.fallbacks)
        names = [d.names[k] for k in d.ok]
        ids = probs = None
        if batch is not None:
            out = runner.run(batch)
            t0 = time.perf_counter()
            ids, probs = out.ids, out.probs
            if keep_logits:
                kept.append(out.logits)
            if dump:
                from zoobench.data.seedfmt import dump_output

                assert dump_dir is not None  # prepare_dump_dir refused a dump without one
                for name, row in zip(names, out.logits):
                    dump_output(dump_dir, name, row, dump)
            timer.add("preprocess", out.normalize_s)
            timer.add("infer", out.infer_s)
            timer.add("post", out.post_s + time.perf_counter() - t0)
        sink.add(GroupResult(d.index, len(d.names), names, ids, probs, list(d.skipped)))
