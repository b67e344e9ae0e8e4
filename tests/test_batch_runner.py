"""The batch runner (zoobench.infer.batch): top-k from logits, the input check, the warm-up, normalization of
uint8 crops, the runtime's own load options, and release; what the local loop and the Ray actor both run."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data"))
from datahelp import make_tiny_onnx

from zoobench.artifact import Engine, load_engine
from zoobench.data.transforms import normalize
from zoobench.errors import DataError
from zoobench.infer.batch import BatchRunner, topk_from_logits
from zoobench.infer.settings import InferSettings
from zoobench.runtimes import RUNTIMES, Candidate, RuntimeInfo, RuntimeSpec, options_beside_decoders, register

loads_seen: list[dict[str, Any]] = []  # what this file's runtime ("optfake") was asked to load


class Recording:
    """A session that records its runs and its release (no runtime involved)."""

    input_name, output_name, input_shape = "image", "class", ("batch", 3, 32, 32)

    def __init__(self, dtype: Any = np.float32) -> None:
        self.input_dtype = np.dtype(dtype)
        self.runs: list[tuple[tuple[int, ...], np.dtype[Any]]] = []
        self.released = 0

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.runs.append((batch.shape, batch.dtype))
        return np.arange(batch.shape[0] * 10, dtype=np.float32).reshape(batch.shape[0], 10)

    def info(self) -> RuntimeInfo:
        return RuntimeInfo("optfake", "cpu", "fp32", 1, "0")

    def in_flight(self) -> None:
        return None

    def release(self) -> None:
        self.released += 1


# --- this file is also a runtime's module: "optfake" declares what it wants beside decode processes -------------
def load(model_path: str, **kw: Any) -> Recording:
    loads_seen.append({"path": model_path, **kw})
    return Recording()


def beside_decoders() -> dict[str, Any]:
    return {"quiet_threads": True}


def server_streams(cores: int) -> dict[str, Any]:
    return {}


# the rest of the runtime contract (zoobench.runtimes.RuntimeModule): nothing this file's tests use
COMPILED_PRECISIONS: frozenset[str] = frozenset()
PERF_OPTIONS: dict[str, Any] = {}


def describe() -> dict[str, Any]:
    return {"available": True, "version": "0", "devices": ["cpu"], "precisions": ["fp32"]}


def supports(precision: str, device: str = "cpu") -> str | None:
    return None


def tunables(cores: int, precision: str = "fp32", deep: bool = False) -> list[Candidate]:
    return [Candidate()]


@pytest.fixture
def optfake() -> Iterator[None]:
    register(RuntimeSpec("optfake", __name__, "numpy", "pip install numpy"))
    loads_seen.clear()
    yield
    del RUNTIMES["optfake"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return load_engine(str(make_tiny_onnx(tmp_path_factory.mktemp("tiny") / "tiny.onnx")))


def _crops(n: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)


def test_topk_from_logits_order_probs_and_ties() -> None:
    logits = np.array([[1.0, 3.0, 3.0, 0.0, 3.0, 2.0], [0.0, 0.0, 0.0, 0.0, 0.0, 9.0]], dtype=np.float32)
    ids, probs = topk_from_logits(logits)
    assert ids.dtype == np.int64 and probs.dtype == np.float32 and ids.shape == probs.shape == (2, 5)
    assert ids.tolist() == [[1, 2, 4, 5, 0], [5, 0, 1, 2, 3]]  # equal scores: lower class index first
    ref = np.exp(logits.astype(np.float64))
    ref /= ref.sum(axis=1, keepdims=True)
    assert np.allclose(probs, np.take_along_axis(ref, ids, axis=1), rtol=1e-6)
    assert np.all(np.diff(probs, axis=1) <= 0)


def test_topk_from_logits_large_logits_and_k() -> None:
    ids, probs = topk_from_logits(np.array([[1000.0, 1001.0, -1000.0]]), k=2)
    assert ids.tolist() == [[1, 0]] and np.all(np.isfinite(probs))
    assert probs[0, 0] == pytest.approx(1 / (1 + np.exp(-1)), rel=1e-6)
    with pytest.raises(ValueError):
        topk_from_logits(np.zeros((2, 3)), k=4)
    with pytest.raises(ValueError):
        topk_from_logits(np.zeros(3))


def test_a_runner_checks_the_input_type_and_warms_up_once_at_the_batch_size(tiny: Engine) -> None:
    session = Recording()
    with BatchRunner(tiny, session, batch_size=4) as runner:
        assert session.runs == [((4, 3, 32, 32), np.dtype(np.float32))] and not runner.in_graph
        assert session.released == 0
    assert session.released == 1  # the context releases the session

    liar = Recording(np.uint8)  # the graph takes uint8, the engine's metadata says float32
    with pytest.raises(DataError, match=r"metadata.*float32.*graph.*uint8"):
        BatchRunner(tiny, liar, batch_size=4)
    assert liar.runs == []  # refused before any run


def test_run_normalizes_uint8_crops_unless_they_come_prepared(tiny: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import zoobench.infer.batch as batch
    from zoobench.runtimes import load_session

    calls: list[int] = []

    def counted(x: np.ndarray, pp: Any) -> np.ndarray:
        calls.append(len(x))
        return normalize(x, pp)

    monkeypatch.setattr(batch, "normalize", counted)
    crops = _crops(3)
    with BatchRunner(tiny, load_session(tiny), batch_size=3) as runner:
        raw = runner.run(crops)
        assert calls == [3]
        prepared = runner.prepare(crops)
        ready = runner.run(prepared)
        assert calls == [3, 3] and prepared.dtype == np.float32  # prepare normalized; run did not again
    expected = load_session(tiny).run(normalize(crops, tiny.preprocess))
    for out in (raw, ready):
        assert np.array_equal(out.logits, expected)  # bit for bit: the same normalization, the same session
        ids, probs = topk_from_logits(expected)
        assert np.array_equal(out.ids, ids) and np.array_equal(out.probs, probs) and out.ids.shape == (3, 5)


def test_a_uint8_graph_gets_the_crops_as_they_are(tiny: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import zoobench.infer.batch as batch

    def refuse(*_a: object) -> None:
        raise AssertionError("normalized on the host")

    monkeypatch.setattr(batch, "normalize", refuse)
    u8 = Engine(tiny.path, tiny.model, tiny.preprocess, {**tiny.metadata, "input_dtype": "uint8"})
    session = Recording(np.uint8)
    runner = BatchRunner(u8, session, batch_size=2)
    crops = _crops(2)
    assert runner.in_graph and runner.prepare(crops) is crops
    runner.run(crops)
    assert session.runs == [((2, 3, 32, 32), np.dtype(np.uint8))] * 2  # the warm-up and the batch, both uint8


def test_load_takes_the_runtimes_own_options_and_the_tuned_profile(tiny: Engine, optfake: None) -> None:
    tuned = {"threads": 3, "streams": 2, "quiet_threads": False, "x": 1}
    BatchRunner.load(tiny, InferSettings(runtime="optfake", batch_size=2, threads=8), beside_decoders=True)
    BatchRunner.load(tiny, InferSettings(runtime="optfake", batch_size=2, threads=8), beside_decoders=False)
    BatchRunner.load(tiny, InferSettings(runtime="optfake", tuned=tuned), beside_decoders=True, path="/node/t.onnx")
    common = {"device": "cpu", "precision": "fp32"}  # the engine's recorded precision, not read again from disk
    assert loads_seen == [
        {"path": tiny.path, **common, "threads": 8, "quiet_threads": True},
        {"path": tiny.path, **common, "threads": 8},
        {"path": "/node/t.onnx", **common, "threads": 3, "quiet_threads": False, "x": 1},  # the profile wins
    ]
    assert options_beside_decoders("optfake") == {"quiet_threads": True}
    assert options_beside_decoders("onnxruntime") == {"spin": False}  # ORT's own: no spinning beside decoders
    assert options_beside_decoders("torch") == {}  # wants none


def test_a_runner_that_fails_its_check_releases_its_session(
    tiny: Engine, optfake: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Recording] = []

    def load_u8(model_path: str, **kw: Any) -> Recording:
        made.append(Recording(np.uint8))
        return made[-1]

    monkeypatch.setattr(sys.modules[__name__], "load", load_u8)
    with pytest.raises(DataError, match="metadata says float32 input"):
        BatchRunner.load(tiny, InferSettings(runtime="optfake"), beside_decoders=False)
    assert [s.released for s in made] == [1]


def test_load_session_takes_an_engine_without_reading_it_again(tiny: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import zoobench.artifact as artifact
    from zoobench.runtimes import load_session

    def refuse(*_a: object) -> None:
        raise AssertionError("the engine's metadata was read again")

    monkeypatch.setattr(artifact, "load_engine", refuse)
    bf = Engine(tiny.path, tiny.model, tiny.preprocess, {**tiny.metadata, "precision": "int8"})
    assert load_session(bf).info().precision == "int8"  # the precision the engine records, as given
