"""LoadGen's system under test over the :class:`~zoobench.runtimes.base.Session` protocol (nothing runtime-specific
here): SingleStream runs each query inside ``issue_queries``; MultiStream runs its 8 samples as one batch;
Offline splits its one big query into batches that worker threads (one session each; the runtimes release the
GIL while they compute) run and complete as they finish.

A response is the sample's top-5 class ids as int32, top-1 first (MLPerf's accuracy-imagenet.py reads the first).
Every callback catches every exception: the affected samples complete with an empty response (never a hang) and
the error is kept; a test with an error is INVALID whatever LoadGen's own checks say.
"""

from __future__ import annotations

import queue
import threading
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from zoobench.data.transforms import normalize
from zoobench.infer.batch import topk_ids
from zoobench.models.spec import Preprocess
from zoobench.runtimes.base import Session, takes_uint8
from zoobench.scenarios.qsl import CacheQSL
from zoobench.scenarios.settings import MULTI_STREAM_SAMPLES

TOP_K = 5
MAX_ERRORS = 20  # errors kept verbatim; the rest are counted


class Runner:
    """Sample indices → int32 top-5, and the completion of LoadGen's samples. Worker ``w`` runs on
    ``sessions[w % len(sessions)]`` (a session takes :meth:`~zoobench.runtimes.base.Session.concurrent_runs`
    callers at once) with its own preallocated batch buffer."""

    def __init__(
        self, lg: Any, qsl: CacheQSL, sessions: list[Session], pp: Preprocess, batch: int, workers: int = 1
    ) -> None:  # batch: the largest batch a worker runs
        self.lg, self.qsl, self.sessions, self.pp = lg, qsl, sessions, pp
        self.in_graph = takes_uint8(sessions[0])
        self.workers = max(1, workers)
        cap = max(batch, MULTI_STREAM_SAMPLES)
        self._bufs = [np.empty((cap, *qsl.shape), np.uint8) for _ in range(self.workers)]
        self.errors: list[str] = []
        self.error_count = 0
        self.failed_samples = 0
        self._lock = threading.Lock()

    def warm(self, sizes: list[int]) -> None:
        """One run per session and batch size before LoadGen's clock (first-run allocations, per-shape compiles)."""
        dtype = np.uint8 if self.in_graph else np.float32
        for session in self.sessions:
            for n in sorted(set(sizes)):
                session.run(np.zeros((n, *self.qsl.shape), dtype))

    def top5(self, indices: np.ndarray, worker: int) -> np.ndarray:
        x = self.qsl.gather(indices, self._bufs[worker])
        if not self.in_graph:
            x = normalize(x, self.pp)
        return topk_ids(self.sessions[worker % len(self.sessions)].run(x), TOP_K).astype(np.int32)

    def answer(self, samples: Any, worker: int, padded_to: int = 0) -> None:
        """Run ``samples`` (LoadGen's QuerySamples) as one batch (padded to ``padded_to`` rows by repeating the
        first: only the real rows are answered) and complete them; an exception completes them empty and is
        kept."""
        lg = self.lg
        try:
            idx = np.fromiter((s.index for s in samples), np.int64, len(samples))
            if padded_to > len(idx):
                idx = np.concatenate([idx, np.full(padded_to - len(idx), idx[0], np.int64)])
            ids = self.top5(idx, worker)[: len(samples)]
            base, row = ids.ctypes.data, ids.strides[0]
            responses = [lg.QuerySampleResponse(s.id, base + i * row, row) for i, s in enumerate(samples)]
        except BaseException as exc:  # the test must end: complete empty, mark INVALID
            self.fail(exc, len(samples))
            responses = [lg.QuerySampleResponse(s.id, 0, 0) for s in samples]
        try:
            lg.QuerySamplesComplete(responses)
        except BaseException as exc:
            self.fail(exc, 0)

    def complete_empty(self, samples: Any) -> None:
        """Complete ``samples`` without an answer (the Server's shed requests: already over the bound)."""
        try:
            self.lg.QuerySamplesComplete([self.lg.QuerySampleResponse(s.id, 0, 0) for s in samples])
        except BaseException as exc:
            self.fail(exc, 0)

    def fail(self, exc: BaseException, samples: int) -> None:
        with self._lock:
            self.error_count += 1
            self.failed_samples += samples
            if len(self.errors) < MAX_ERRORS:
                last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
                where = f" ({last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
                self.errors.append(f"{type(exc).__name__}: {exc}{where}")

    def fail_all(self, samples: Any, exc: BaseException) -> None:
        """``issue_queries`` itself failed: complete every sample empty."""
        self.fail(exc, len(samples))
        try:
            self.lg.QuerySamplesComplete([self.lg.QuerySampleResponse(s.id, 0, 0) for s in samples])
        except BaseException as again:
            self.fail(again, 0)


class OfflineWorkers:
    """The runner's worker threads; ``issue`` splits the query into batches on a queue and returns."""

    def __init__(self, runner: Runner, batch: int) -> None:
        self.runner, self.batch = runner, batch
        self._queue: queue.Queue[Any] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._work, args=(w,), daemon=True, name=f"zoobench-offline-{w}")
            for w in range(runner.workers)
        ]
        for t in self._threads:
            t.start()

    def _work(self, worker: int) -> None:
        while True:
            samples = self._queue.get()
            if samples is None:
                return
            self.runner.answer(samples, worker)

    def issue(self, samples: Any) -> None:
        try:
            items = list(samples)
            for start in range(0, len(items), self.batch):
                self._queue.put(items[start : start + self.batch])
        except BaseException as exc:
            self.runner.fail_all(samples, exc)

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join()


def construct(lg: Any, scenario: str, runner: Runner, batch: int) -> tuple[Any, Callable[[], None]]:
    """LoadGen's SUT handle for ``scenario`` and what stops it (after the test; then ``lg.DestroySUT``)."""
    if scenario == "Offline":
        workers = OfflineWorkers(runner, batch)
        return lg.ConstructSUT(workers.issue, _flush), workers.stop

    def issue_inline(samples: Any) -> None:  # SingleStream: 1 sample; MultiStream: 8, run as one batch
        try:
            runner.answer(samples, 0)
        except BaseException as exc:
            runner.fail_all(samples, exc)

    return lg.ConstructSUT(issue_inline, _flush), _nothing


def _flush() -> None:
    return None


def _nothing() -> None:
    return None
