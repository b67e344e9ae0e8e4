"""The query sample library over the prep cache (rows into RAM on load, gathered by one take), and a session's
concurrent runs (OpenVINO: one infer request per caller) giving the sequential outputs."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from lghelp import tiny_data

from zoobench.errors import DataError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    from zoobench.artifact import load_engine
    from zoobench.data.cache import prep_cache
    from zoobench.engines import uint8_engine

    root = tmp_path_factory.mktemp("qsl")
    onnx, images, _ = tiny_data(root, 10)
    u8 = uint8_engine(load_engine(str(onnx)))
    prep_cache(images, u8.preprocess, root / "cache")
    return u8.path, root / "cache"


def test_load_gather_unload(tiny: tuple[str, Path]) -> None:
    from zoobench.data.cache import open_cache
    from zoobench.scenarios.qsl import CacheQSL

    _, cache = tiny
    pixels = np.asarray(open_cache(cache).pixels)
    qsl = CacheQSL(str(cache))
    assert qsl.total == 10 and qsl.shape == pixels.shape[1:]
    out = np.zeros((4, *qsl.shape), np.uint8)
    with pytest.raises(DataError, match="not loaded"):
        qsl.gather(np.array([0]), out)
    qsl.load([7, 2, 5])
    qsl.load([5, 9])  # a second load keeps the rows already in RAM
    got = qsl.gather(np.array([9, 2, 7, 5]), out)
    np.testing.assert_array_equal(got, pixels[[9, 2, 7, 5]])
    assert got.base is out or got is out or np.shares_memory(got, out)  # gathered into the preallocated array
    qsl.unload([7, 2, 5, 9])
    with pytest.raises(DataError, match="not loaded"):
        qsl.gather(np.array([2]), out)


def test_concurrent_runs_give_the_sequential_outputs(tiny: tuple[str, Path]) -> None:
    pytest.importorskip("openvino")
    from zoobench.runtimes import load_session

    path, _ = tiny
    session = load_session(path, "openvino", hint="throughput")
    try:
        assert session.concurrent_runs() >= 1
        rng = np.random.default_rng(0)
        batches = [rng.integers(0, 256, (4, 3, 32, 32), dtype=np.uint8) for _ in range(12)]
        want = [session.run(b) for b in batches]
        got: dict[int, np.ndarray] = {}

        def work(i: int) -> None:
            for j in range(i, len(batches), 4):
                got[j] = session.run(batches[j])

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for j, w in enumerate(want):
            np.testing.assert_array_equal(got[j], w)
    finally:
        session.release()
    assert load_session(path, "onnxruntime").concurrent_runs() == 1
