"""The Server scenario's two serving policies over a :class:`~zoobench.scenarios.sut.Runner`'s sessions.

* ``streams``: every worker thread (N sessions × T concurrent runs each) takes the next single request: MLPerf's
  Python reference scheme (one sample per worker thread, no batching), generalised to several sessions.
* ``batch``: a dynamic batcher. Requests gather until ``max_batch`` of them wait or ``wait_s`` has passed since the
  first one arrived; the batch is padded to the smallest warmed bucket (1, 2, 4, …, ``max_batch``) that holds it,
  run as one, and only its real rows are completed. The sizes run are counted (the batch histogram).

``issue_queries`` only enqueues (with the arrival time). A request that has already waited ``shed_after_s`` (a
multiple of the latency bound: it is over the bound whatever happens next) is completed empty at once instead of
being run, so an overloaded test drains its backlog and ends when LoadGen stops issuing (``max_duration``); the
shed count makes the row INVALID. :class:`Gather` is the batcher's clock-free logic: the tests drive it with a
fake clock.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, TypedDict

POLICIES = ("streams", "batch")


def buckets(max_batch: int) -> list[int]:
    """1, 2, 4, … below ``max_batch``, then ``max_batch`` itself: the sizes warmed before the test."""
    out, n = [], 1
    while n < max_batch:
        out.append(n)
        n *= 2
    return [*out, max_batch]


def bucket_for(n: int, sizes: list[int]) -> int:
    """The smallest bucket that holds ``n`` requests."""
    return next(b for b in sizes if b >= n)


class BatcherRecord(TypedDict):
    """The Server batcher as loadgen.json records it."""

    policy: str
    max_batch: int
    batch_wait_ms: float
    buckets: list[int]
    batch_histogram: dict[str, int]
    shed_samples: int
    shed_after_ms: float


class Gather:
    """Requests waiting to be batched: ``(item, arrival)`` in arrival order; nothing here reads a clock."""

    def __init__(self, max_batch: int, wait_s: float) -> None:
        self.max_batch, self.wait_s = max(1, int(max_batch)), max(0.0, float(wait_s))
        self.pending: deque[tuple[Any, float]] = deque()

    def add(self, items: list[Any], now: float) -> None:
        self.pending.extend((item, now) for item in items)

    def due(self) -> float | None:
        """When the next batch may leave: now if a full batch waits, else the first arrival + the wait."""
        if not self.pending:
            return None
        if len(self.pending) >= self.max_batch:
            return float("-inf")
        return self.pending[0][1] + self.wait_s

    def take(self, now: float, drain: bool = False) -> list[tuple[Any, float]]:
        """The next batch (up to ``max_batch``, oldest first) when it is due at ``now`` (or ``drain``), else []."""
        due = self.due()
        if due is None or (now < due and not drain):
            return []
        count = min(self.max_batch, len(self.pending))
        return [self.pending.popleft() for _ in range(count)]


class Workers:
    """Worker threads that answer requests through ``answer(items, worker, padded_to)``; ``items`` are LoadGen's
    samples. ``policy`` ``streams``: one request at a time; ``batch``: :class:`Gather`'s batches, padded."""

    def __init__(
        self,
        answer: Callable[[list[Any], int, int], None],
        shed: Callable[[list[Any]], None],
        workers: int,
        *,
        policy: str = "streams",
        max_batch: int = 1,
        wait_s: float = 0.0,
        shed_after_s: float = float("inf"),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._answer, self._shed, self.policy, self.clock = answer, shed, policy, clock
        self.shed_after_s = shed_after_s
        self.gather = Gather(max_batch if policy == "batch" else 1, wait_s if policy == "batch" else 0.0)
        self.sizes = buckets(self.gather.max_batch)
        self.histogram: Counter[int] = Counter()
        self.shed_count = 0
        self._cond = threading.Condition()
        self._stopped = False
        self._threads = [
            threading.Thread(target=self._work, args=(w,), daemon=True, name=f"zoobench-server-{w}")
            for w in range(max(1, workers))
        ]
        for t in self._threads:
            t.start()

    def issue(self, samples: Any) -> None:
        """LoadGen's ``issue_queries``: enqueue with the arrival time, wake a worker, return."""
        items = list(samples)
        with self._cond:
            self.gather.add(items, self.clock())
            self._cond.notify(len(items))

    def next_batch(self) -> list[tuple[Any, float]] | None:
        """Block until a batch is due (or the workers stop: None)."""
        with self._cond:
            while True:
                now = self.clock()
                batch = self.gather.take(now, drain=self._stopped)
                if batch:
                    return batch
                if self._stopped:
                    return None
                due = self.gather.due()
                self._cond.wait(None if due is None else max(0.0, due - now))

    def step(self, batch: list[tuple[Any, float]], worker: int) -> None:
        """Shed the requests already too late, run the rest as one batch padded to its bucket, count its size."""
        now = self.clock()
        late = [item for item, arrived in batch if now - arrived > self.shed_after_s]
        live = [item for item, arrived in batch if now - arrived <= self.shed_after_s]
        if late:
            with self._cond:
                self.shed_count += len(late)
            self._shed(late)
        if live:
            with self._cond:
                self.histogram[len(live)] += 1
            self._answer(live, worker, bucket_for(len(live), self.sizes))

    def _work(self, worker: int) -> None:
        while True:
            batch = self.next_batch()
            if batch is None:
                return
            self.step(batch, worker)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for t in self._threads:
            t.join()

    def record(self) -> BatcherRecord:
        return {
            "policy": self.policy,
            "max_batch": self.gather.max_batch,
            "batch_wait_ms": self.gather.wait_s * 1e3,
            "buckets": self.sizes,
            "batch_histogram": {str(k): v for k, v in sorted(self.histogram.items())},
            "shed_samples": self.shed_count,
            "shed_after_ms": self.shed_after_s * 1e3,
        }
