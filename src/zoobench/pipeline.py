"""Batched offline inference over an image folder, with the seeds' stage breakdown.

Stages, as the seeds' ``benchmark`` tool reports them: ``[data read]`` (file bytes), ``[preprocess]``
(decode, resize, crop, normalize), ``[infer]`` (the runtime call), ``[post]`` (softmax + top-k).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoobench.data.datasets import image_key, scan_folder
from zoobench.data.transforms import normalize, to_chw_uint8
from zoobench.engine import Engine
from zoobench.errors import DataError
from zoobench.evaluate import topk_from_logits
from zoobench.runtimes import load_session


@dataclass
class StageTimer:
    """Accumulated seconds per stage."""

    seconds: dict[str, float] = field(
        default_factory=lambda: {"data_read": 0.0, "preprocess": 0.0, "infer": 0.0, "post": 0.0}
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
) -> InferenceResult:
    """Infer every image of a flat folder (sorted by name); bad images are skipped and listed."""
    if batch_size < 1:
        raise DataError(f"batch size must be >= 1, got {batch_size}")
    images, others = scan_folder(data_dir)
    if limit is not None:
        images = images[:limit]
    skipped: list[tuple[str, str]] = [(p.name, "not an image file (extension)") for p in others]
    session = load_session(engine.path, runtime, threads=threads)
    pp = engine.preprocess
    timer = StageTimer()
    names: list[str] = []
    ids: list[np.ndarray] = []
    probs: list[np.ndarray] = []
    logits_all: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    pending_names: list[str] = []
    n_batches = 0
    t_start = time.perf_counter()

    def flush() -> None:
        nonlocal n_batches
        batch = normalize(np.stack(pending), pp)
        t0 = time.perf_counter()
        out = session.run(batch)
        t1 = time.perf_counter()
        i, p = topk_from_logits(out, 5)
        timer.add("infer", t1 - t0)
        timer.add("post", time.perf_counter() - t1)
        ids.append(i)
        probs.append(p)
        if keep_logits:
            logits_all.append(out)
        names.extend(pending_names)
        n_batches += 1
        if progress:
            progress(len(pending))
        pending.clear()
        pending_names.clear()

    for path in images:
        t0 = time.perf_counter()
        try:
            raw = path.read_bytes()
        except OSError as exc:
            skipped.append((path.name, f"unreadable: {exc.strerror or exc}"))
            if progress:
                progress(1)
            continue
        t1 = time.perf_counter()
        timer.add("data_read", t1 - t0)
        try:
            buf = io.BytesIO(raw)
            buf.name = path.name
            chw = to_chw_uint8(buf, pp)
        except DataError as exc:
            if strict:
                raise
            skipped.append((path.name, str(exc)))
            if progress:
                progress(1)
            continue
        finally:
            timer.add("preprocess", time.perf_counter() - t1)
        pending.append(chw)
        pending_names.append(path.name)
        if len(pending) == batch_size:
            flush()
    if pending:
        flush()
    e2e = time.perf_counter() - t_start
    if strict and skipped:
        raise DataError(f"--strict: {len(skipped)} file(s) skipped, first: {skipped[0][0]}: {skipped[0][1]}")
    n = len(names)
    return InferenceResult(
        names=names,
        topk_ids=np.concatenate(ids) if ids else np.zeros((0, 5), np.int64),
        topk_probs=np.concatenate(probs) if probs else np.zeros((0, 5), np.float32),
        skipped=skipped,
        stages=stage_summary(timer.seconds, n, n_batches, e2e),
        runtime=session.info().to_dict(),
        logits=np.concatenate(logits_all) if logits_all else None,
    )


def keys_of(names: list[str]) -> list[str]:
    return [image_key(n) for n in names]
