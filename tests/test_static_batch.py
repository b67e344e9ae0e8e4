"""A static-batch engine (``compile -b 8``) runs every batch at 8: the last (61 images = 7 × 8 + 5) is padded with
zero rows and their results dropped, in the batch runner that the local loop and the Ray actor share, so its
predictions are the dynamic engine's. TensorRT's static plan is tested against the fake TensorRT in
tests/runtimes/test_tensorrt_fake.py (a real one needs a GPU)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "data"))
from datahelp import make_tiny_onnx, write_jpegs

from zoobench.artifact import load_engine
from zoobench.errors import DataError
from zoobench.infer.batch import BatchRunner, static_batch
from zoobench.runtimes import RuntimeInfo


class Fixed:
    """A session whose graph takes exactly ``n`` rows (as a static IR does), recording what it was given."""

    input_name, output_name, input_dtype = "image", "class", np.dtype(np.float32)

    def __init__(self, n: int) -> None:
        self.input_shape: tuple[int | str, ...] = (n, 3, 32, 32)
        self.seen: list[int] = []

    def run(self, batch: np.ndarray) -> np.ndarray:
        if len(batch) != self.input_shape[0]:
            raise RuntimeError(f"static graph got {len(batch)} rows")
        self.seen.append(len(batch))
        return batch.reshape(len(batch), -1)[:, :10].astype(np.float32)  # each row's logits are its own pixels

    def info(self) -> RuntimeInfo:
        return RuntimeInfo("fixed", "cpu", "fp32", 1, "0")

    def in_flight(self) -> None:
        return None

    def release(self) -> None:
        pass


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_onnx(tmp_path_factory.mktemp("static") / "tiny.onnx")


def test_a_short_batch_is_padded_to_the_static_size_and_the_padding_dropped(tiny: Path) -> None:
    engine, session = load_engine(str(tiny)), Fixed(8)
    runner = BatchRunner(engine, session, 8)
    assert static_batch(session) == 8 and session.seen == [8]  # warmed up at 8
    rows = np.random.default_rng(0).standard_normal((5, 3, 32, 32)).astype(np.float32)
    out = runner.run(rows)
    assert session.seen == [8, 8] and out.logits.shape == (5, 10) and out.ids.shape == (5, 5)
    np.testing.assert_array_equal(out.logits, rows.reshape(5, -1)[:, :10])  # the real rows, in order
    with pytest.raises(DataError, match=r"compiled for batch 8 \(compile -b\); run it with a batch size of at most 8"):
        BatchRunner(engine, Fixed(8), 16)
    assert static_batch(Fixed(8)) == 8
    dynamic = Fixed(8)
    dynamic.input_shape = ("batch", 3, 32, 32)
    assert static_batch(dynamic) is None


def _predictions(out: Path) -> list[list[str]]:
    with (out / "predictions.csv").open() as f:
        return list(csv.reader(f))


def test_61_images_at_batch_8_on_a_static_openvino_ir_match_the_dynamic_one(tiny: Path, tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    from zoobench.compile import compile_engine
    from zoobench.infer.stage import do_infer

    data = tmp_path / "val"
    write_jpegs(data, 61)
    static = compile_engine(str(tiny), runtime="openvino", batch_size=8, output=str(tmp_path / "b8.xml"))
    dynamic = compile_engine(str(tiny), runtime="openvino", output=str(tmp_path / "dyn.xml"))
    assert static.metadata["batch_size"] == 8
    for name, engine, batch in (("static", static, None), ("dynamic", dynamic, 8)):
        do_infer(engine.path, str(data), outdir=str(tmp_path / name), batch_size=batch, workers=0, quiet=True)
    summary = json.loads((tmp_path / "static" / "summary.json").read_text())
    assert summary["batch_size"] == 8 and summary["images_inferred"] == 61  # None: the engine's own batch
    assert summary["runtime"]["runtime"] == "openvino"
    got, want = _predictions(tmp_path / "static"), _predictions(tmp_path / "dynamic")
    assert len(got) == len(want) == 62 and got == want  # header + 61 rows, ids and probabilities alike
