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


def test_make_input_kinds() -> None:
    assert not make_input((2, 3), "zero").any()
    a, b = make_input((2, 3), "random"), make_input((2, 3), "random")
    assert np.array_equal(a, b) and a.dtype == np.float32
    with pytest.raises(ValueError):
        make_input((1,), "ones")
