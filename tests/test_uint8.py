"""uint8-input engines: normalization inside the graph (ONNX prefix, OpenVINO PrePostProcessor, TensorRT from
the uint8 ONNX); the same predictions as the float engine on real photos; never normalized twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from zoobench.artifact import Engine, load_engine
from zoobench.engines import uint8_engine
from zoobench.errors import DataError
from zoobench.infer.settings import InferSettings
from zoobench.runtimes import load_session


@pytest.fixture(scope="session")
def lite0_u8(lite0_onnx: Path) -> Engine:
    return uint8_engine(load_engine(str(lite0_onnx)))


@pytest.fixture(scope="session")
def photo_crops(photos: tuple[Path, Path], lite0_onnx: Path) -> np.ndarray:
    from zoobench.quantize import load_images

    crops, names = load_images(photos[0], load_engine(str(lite0_onnx)).preprocess, raw=True)
    assert crops.dtype == np.uint8 and len(names) >= 5
    return crops


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def assert_same_predictions(ref_logits: np.ndarray, logits: np.ndarray) -> None:
    """Same top-5 classes in the same order, probabilities within 1e-4."""
    np.testing.assert_array_equal(np.argsort(-ref_logits, 1)[:, :5], np.argsort(-logits, 1)[:, :5])
    np.testing.assert_allclose(_softmax(logits), _softmax(ref_logits), rtol=0, atol=1e-4)


def _float_reference(lite0_onnx: Path, crops: np.ndarray) -> np.ndarray:
    from zoobench.data.transforms import normalize

    eng = load_engine(str(lite0_onnx))
    return load_session(eng.path).run(normalize(crops, eng.preprocess))


def test_uint8_twin_graph_and_metadata(lite0_onnx: Path, lite0_u8: Engine) -> None:
    import onnx

    m = onnx.load(lite0_u8.path)
    (inp,) = m.graph.input
    assert inp.name == "image" and inp.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert [n.op_type for n in m.graph.node[:3]] == ["Cast", "Mul", "Add"]
    assert lite0_u8.input_dtype == "uint8" and lite0_u8.metadata["normalization"] == "in_graph"
    assert lite0_u8.metadata["input_layout"] == "NCHW" and lite0_u8.metadata["input_parity"]["passed"]
    assert load_engine(str(lite0_onnx)).input_dtype == "float32"
    # the twin shares the float engine's weights: made once, then reused
    mtime = Path(lite0_u8.path).stat().st_mtime_ns
    assert uint8_engine(load_engine(str(lite0_onnx))).path == lite0_u8.path
    assert Path(lite0_u8.path).stat().st_mtime_ns == mtime


def test_ort_uint8_matches_float_on_photos(lite0_onnx: Path, lite0_u8: Engine, photo_crops: np.ndarray) -> None:
    got = load_session(lite0_u8.path).run(photo_crops)
    assert_same_predictions(_float_reference(lite0_onnx, photo_crops), got)


def test_dtype_mismatch_is_a_clear_error(lite0_onnx: Path, lite0_u8: Engine, photo_crops: np.ndarray) -> None:
    with pytest.raises(DataError, match=r"float32.*got uint8"):
        load_session(str(lite0_onnx)).run(photo_crops[:1])
    with pytest.raises(DataError, match=r"uint8.*got float32"):
        load_session(lite0_u8.path).run(photo_crops[:1].astype(np.float32))


def test_compile_ort_fp32_uint8(lite0_onnx: Path, photo_crops: np.ndarray, tmp_path: Path) -> None:
    from zoobench.compile import compile_engine

    eng = compile_engine(str(lite0_onnx), runtime="onnxruntime", input_dtype="uint8", output=str(tmp_path / "c.onnx"))
    assert eng.input_dtype == "uint8" and eng.metadata["normalization"] == "in_graph"
    assert_same_predictions(_float_reference(lite0_onnx, photo_crops), load_session(eng.path).run(photo_crops))


def test_compile_ort_int8_uint8(lite0_onnx: Path, photos: tuple[Path, Path], tmp_path: Path) -> None:
    from zoobench.compile import compile_engine

    eng = compile_engine(
        str(lite0_onnx), runtime="onnxruntime", precision="int8", calibration=str(photos[0]), input_dtype="uint8"
    )
    assert eng.path.endswith(".onnxruntime.int8.u8.onnx") and eng.input_dtype == "uint8"
    agree = eng.metadata["agreement"]  # the uint8 engine fed the photos' crops vs fp32 fed normalized floats
    assert agree["count"] >= 5 and agree["top1_agreement_pct"] >= 80.0


def test_openvino_preprocessor_matches_float(
    lite0_onnx: Path, lite0_u8: Engine, photo_crops: np.ndarray, tmp_path: Path
) -> None:
    pytest.importorskip("openvino")
    from zoobench.compile import compile_engine

    ref = _float_reference(lite0_onnx, photo_crops)
    for src in (str(lite0_onnx), lite0_u8.path):  # from the float ONNX, and from the uint8 one's float core
        out = tmp_path / f"{Path(src).stem}.xml"
        eng = compile_engine(src, runtime="openvino", input_dtype="uint8", output=str(out))
        side = json.loads(out.with_name(f"{out.stem}.zoobench.json").read_text())
        assert side["input_dtype"] == "uint8" and side["normalization"] == "in_graph"
        assert side["normalization_impl"] == "openvino.preprocess.PrePostProcessor"
        sess = load_session(eng.path, "openvino")
        assert_same_predictions(ref, sess.run(photo_crops))
        with pytest.raises(DataError, match="takes uint8 pixels"):
            sess.run(photo_crops.astype(np.float32))
    float_ir = compile_engine(str(lite0_onnx), runtime="openvino", output=str(tmp_path / "f.xml"))
    assert float_ir.input_dtype == "float32"


def test_tensorrt_plan_is_built_from_the_uint8_onnx(
    lite0_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnx

    import zoobench.runtimes.tensorrt as trt_mod
    from zoobench.compile import compile_engine

    seen: dict[str, Any] = {}

    def fake_build(onnx_path: str, plan_path: str, **kw: Any) -> None:
        m = onnx.load(onnx_path)
        seen["elem"] = m.graph.input[0].type.tensor_type.elem_type
        seen["ops"] = [n.op_type for n in m.graph.node[:3]]
        seen.update(kw)
        Path(plan_path).write_bytes(b"plan")

    monkeypatch.setattr(trt_mod, "build_plan", fake_build)
    eng = compile_engine(str(lite0_onnx), runtime="tensorrt", precision="fp16", input_dtype="uint8", batch_size=8)
    assert seen["elem"] == onnx.TensorProto.UINT8 and seen["ops"] == ["Cast", "Mul", "Add"]
    assert seen["input_size"] == (3, 224, 224) and seen["max_batch"] == 8
    assert eng.path.endswith(".tensorrt.fp16.b8.u8.plan") and eng.input_dtype == "uint8"


def test_infer_never_normalizes_twice(
    lite0_onnx: Path, lite0_u8: Engine, photos: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zoobench.infer.batch as batch
    from zoobench.data.cache import prep_cache
    from zoobench.infer.loop import run_folder

    float_eng = load_engine(str(lite0_onnx))
    cache = tmp_path / "cache"
    prep_cache(photos[0], float_eng.preprocess, cache, workers=0)
    ref = run_folder(float_eng, cache, InferSettings(batch_size=4), keep_logits=True)

    def refuse(*_a: object) -> None:
        raise AssertionError("a uint8 engine's input was normalized on the host")

    monkeypatch.setattr(batch, "normalize", refuse)
    for data, workers in ((cache, 0), (photos[0], 0), (photos[0], 1)):
        got = run_folder(lite0_u8, data, InferSettings(batch_size=4, workers=workers), keep_logits=True)
        assert got.names == ref.names
        assert ref.logits is not None and got.logits is not None
        assert_same_predictions(ref.logits, got.logits)


def test_engine_metadata_must_match_graph(lite0_onnx: Path, photos: tuple[Path, Path]) -> None:
    from zoobench.infer.loop import run_folder

    eng = load_engine(str(lite0_onnx))
    liar = Engine(eng.path, eng.model, eng.preprocess, {**eng.metadata, "input_dtype": "uint8"})
    with pytest.raises(DataError, match=r"metadata.*uint8.*graph.*float"):
        run_folder(liar, photos[0], InferSettings(batch_size=4, workers=0))


def test_do_infer_uint8_from_cache(lite0_onnx: Path, photos: tuple[Path, Path], tmp_path: Path) -> None:
    from zoobench.data.cache import prep_cache
    from zoobench.infer.stage import do_infer

    eng = load_engine(str(lite0_onnx))
    prep_cache(photos[0], eng.preprocess, tmp_path / "cache", workers=0)
    s = do_infer("x", str(tmp_path / "cache"), engine=eng, quiet=True, outdir=str(tmp_path / "o"), input_dtype="uint8")
    assert s["input_dtype"] == "uint8" and s["engine"].endswith(".u8.onnx") and s["images_inferred"] >= 5


def test_cli_export_uint8(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from click.testing import CliRunner

    from zoobench.cli import cli

    out = tmp_path / "m.onnx"
    args = ["export", "mnasnet1_0", "-w", "random", "--exporter", "torchscript", "--input", "uint8", "-o", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "uint8 (normalized inside)" in res.output
    eng = load_engine(str(out))
    assert eng.input_dtype == "uint8" and eng.metadata["normalization"] == "in_graph"
    sess = load_session(str(out))
    x = np.random.default_rng(0).integers(0, 256, (3, 3, 224, 224), dtype=np.uint8)
    assert sess.input_name == "image" and sess.run(x).shape == (3, 1000)


class _Recording:
    """A session that keeps a copy of every batch it is given."""

    def __init__(self, session: Any) -> None:
        self.session, self.fed = session, []  # type: ignore[var-annotated]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.fed.append(batch.copy())
        return self.session.run(batch)  # type: ignore[no-any-return]


def test_perf_feeds_uint8_pixels_to_a_uint8_engine(lite0_onnx: Path, lite0_u8: Engine) -> None:
    """perf times a uint8 engine on uint8 pixels (0..255, or zeros), one fixed batch, never normalized floats; a
    float engine on normalized floats."""
    from zoobench.perf.timing import Timing, time_session

    for engine, data in ((lite0_u8, "random"), (lite0_u8, "zero"), (load_engine(str(lite0_onnx)), "random")):
        sess = _Recording(load_session(engine))
        res = time_session(sess, 2, (3, 224, 224), Timing(seconds=0.0, min_iters=2, warmup=1, data=data))
        assert res.latency.count >= 2 and len(sess.fed) == 1 + res.latency.count  # one warm-up, then the timed runs
        assert res.data == data and res.throughput_img_s == pytest.approx(2 * res.latency.count / res.wall_s)
        first = sess.fed[0]
        assert first.shape == (2, 3, 224, 224) and all(np.array_equal(b, first) for b in sess.fed)
        if engine is not lite0_u8:
            assert first.dtype == np.float32 and first.min() < -2 and first.max() > 2  # standard normal
        elif data == "zero":
            assert first.dtype == np.uint8 and not first.any()
        else:  # the whole pixel range, as a camera gives it: not floats cast to bytes
            assert first.dtype == np.uint8 and (first.min(), first.max()) == (0, 255)
