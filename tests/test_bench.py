from __future__ import annotations

import numpy as np
import pytest

from zoobench.data.synthetic import make_input
from zoobench.perf.timing import Latency, Timing, time_session
from zoobench.runtimes.base import RuntimeInfo


def test_latency_statistics() -> None:
    lat = Latency.from_values([0.001 * v for v in range(1, 101)])
    assert lat.count == 100 and lat.min_ms == pytest.approx(1) and lat.max_ms == pytest.approx(100)
    assert lat.median_ms == pytest.approx(50.5) and lat.p99_ms == pytest.approx(99.01)
    with pytest.raises(ValueError):
        Latency.from_values([])


class _Counting:
    input_name, output_name, input_shape, input_dtype = "x", "y", ("batch", 3, 4, 4), np.dtype(np.float32)

    def __init__(self) -> None:
        self.calls = 0
        self.shapes: set[tuple[int, ...]] = set()

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.shapes.add(batch.shape)
        return np.zeros((batch.shape[0], 10), np.float32)

    def info(self) -> RuntimeInfo:
        return RuntimeInfo("fake", "cpu", "fp32", 1, "0")

    def in_flight(self) -> None:
        return None

    def release(self) -> None:
        pass


def test_timed_loop_reaches_min_count_and_excludes_warmup() -> None:
    s = _Counting()
    r = time_session(s, 4, (3, 4, 4), Timing(seconds=0.0, min_iters=7, warmup=2))
    assert r.latency.count == 7 and s.calls == 9 and s.shapes == {(4, 3, 4, 4)}
    assert r.throughput_img_s == pytest.approx(4 * 7 / r.wall_s)


class _Queue(_Counting):
    """A session with an in-flight form that reports fixed latencies."""

    timing_mode = "async"

    def in_flight(self) -> _Queue:  # type: ignore[override]
        return self

    def time_async(self, batch: np.ndarray, timing: Timing) -> tuple[list[float], float]:
        self.timing = timing
        self.shapes.add(batch.shape)
        return [0.5, 0.5, 0.5, 0.5], 1.0


def test_throughput_keeps_requests_in_flight_when_the_session_can_else_times_one_at_a_time() -> None:
    from zoobench.perf.timing import time_throughput

    sync = time_throughput(_Counting(), 2, (3, 4, 4), Timing(seconds=0.0, min_iters=3, warmup=1))
    assert sync.mode == "sync" and sync.latency.count == 3
    q = _Queue()
    res = time_throughput(q, 2, (3, 4, 4), Timing(seconds=0.5, min_iters=3, warmup=2))
    assert q.calls == 0 and q.shapes == {(2, 3, 4, 4)}  # all through the in-flight form
    assert q.timing == Timing(seconds=0.5, min_iters=3, warmup=2)
    assert res.mode == "async" and res.latency.count == 4 and res.throughput_img_s == 8.0  # 4 batches of 2 in 1 s


def test_make_input_kinds() -> None:
    assert not make_input((2, 3), "zero").any()
    a, b = make_input((2, 3), "random"), make_input((2, 3), "random")
    assert np.array_equal(a, b) and a.dtype == np.float32
    with pytest.raises(ValueError):
        make_input((1,), "ones")
