"""A runtime is one module plus one registry line: this test registers one from outside the package and uses it
through export's ONNX, compile, load_session, perf and `zoobench runtimes`, with no other change anywhere."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from zoobench.runtimes import RUNTIMES, Candidate, RuntimeInfo, RuntimeSpec, load_session, register, runtime_status

# --- the fake runtime's module (this file): ONNX Runtime underneath, its artifacts called *.fake ---------------
COMPILED_PRECISIONS = frozenset({"int8"})  # "int8" here is a renamed copy: enough to prove the compile path
CALLS: list[str] = []


class FakeSession:
    def __init__(self, path: str, precision: str) -> None:
        import onnxruntime as ort

        self._sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        self.input_name = self._sess.get_inputs()[0].name
        self.output_name = self._sess.get_outputs()[0].name
        self.input_shape = tuple(self._sess.get_inputs()[0].shape)
        u8 = self._sess.get_inputs()[0].type == "tensor(uint8)"  # the engine's own input, as every runtime takes it
        self.input_dtype = np.dtype(np.uint8 if u8 else np.float32)
        self._precision = precision

    def run(self, batch: np.ndarray) -> np.ndarray:
        CALLS.append("run")
        return np.asarray(self._sess.run([self.output_name], {self.input_name: batch})[0])

    def info(self) -> RuntimeInfo:
        return RuntimeInfo("fake", "cpu", self._precision, 1, "0.0")

    def in_flight(self) -> None:
        return None  # one request at a time

    def release(self) -> None:
        CALLS.append("release")
        self._sess = None


def load(model_path: str, *, device: str = "cpu", precision: str = "fp32", threads: Any = None, **_: Any) -> Any:
    return FakeSession(model_path, precision)


def describe() -> dict[str, Any]:
    return {"available": True, "version": "0.0", "devices": ["cpu"], "precisions": ["fp32", "int8"]}


def supports(precision: str, device: str = "cpu") -> str | None:
    return None if precision in ("fp32", "int8") else f"fake runs fp32 and int8 only, not {precision}"


def compile_artifact(core: Any, out: Path, precision: str, calib: Any, batch_size: Any, meta: dict[str, Any]) -> None:
    CALLS.append(f"compile {precision}")
    shutil.copyfile(core.path, out)


PERF_OPTIONS: dict[str, Any] = {}


def tunables(cores: int, precision: str = "fp32", deep: bool = False) -> list[Candidate]:
    return [Candidate()]  # nothing to search


def beside_decoders() -> dict[str, Any]:
    return {}


def server_streams(cores: int) -> dict[str, Any]:
    return {}


# --- the tests -----------------------------------------------------------------------------------------------------
@pytest.fixture
def fake() -> Iterator[RuntimeSpec]:
    spec = register(RuntimeSpec("fake", __name__, "numpy", "pip install numpy", suffix=".fake", loads=(".fake",)))
    CALLS.clear()
    yield spec
    del RUNTIMES["fake"]


def test_a_registered_runtime_is_listed_compiles_loads_and_is_timed(
    fake: RuntimeSpec, cnn_onnx: str, tmp_path: Path
) -> None:
    from zoobench.compile import compile_engine
    from zoobench.perf.sweep import do_perf

    row = next(r for r in runtime_status() if r["runtime"] == "fake")
    assert row["available"] and row["precisions"] == ["fp32", "int8"]

    eng = compile_engine(cnn_onnx, runtime="fake", precision="fp32", output=str(tmp_path / "m.fake"))
    assert CALLS == ["compile fp32"] and eng.runtime == "fake" and eng.path.endswith("m.fake")
    session = load_session(eng.path)  # the suffix says which runtime loads it
    assert isinstance(session, FakeSession)
    assert session.run(np.zeros((1, 3, 224, 224), np.float32)).shape == (1, 1000)

    res = do_perf(
        cnn_onnx,
        batch_sizes=[1],
        runtimes=["onnxruntime", "fake"],
        precisions=["fp32", "int8", "bf16"],
        workdir=str(tmp_path / "w"),
        seconds=0.0,
        min_iters=1,
        warmup=0,
        repeats=1,
        quiet=True,
    )
    cols = {c["name"]: c for c in res["columns"]}
    assert cols["fake fp32"]["available"] and cols["fake int8"]["available"]
    assert "compile int8" in CALLS  # int8 is one of its compiled precisions: compiled once into the workdir
    assert CALLS.count("release") == 2  # perf frees each column's session (fake fp32, fake int8) when it is done
    assert (
        not cols["fake bf16"]["available"] and cols["fake bf16"]["reason"] == "fake runs fp32 and int8 only, not bf16"
    )
    assert res["table"]["best"]["fake fp32"]["batch_size"] == 1


def test_the_cli_compiles_infers_evals_and_times_a_registered_runtime(
    fake: RuntimeSpec, cnn_onnx: str, photos: tuple[Path, Path], tmp_path: Path
) -> None:
    """`compile --runtime fake`, infer, eval, perf, run and report through the CLI; nothing else names the runtime."""
    import json

    from click.testing import CliRunner

    from zoobench.cli import cli

    folder, labels = photos
    engine, out, perf_dir = tmp_path / "m.fake", tmp_path / "out", tmp_path / "perf"

    def zb(*args: str) -> str:
        res = CliRunner().invoke(cli, list(args))
        assert res.exit_code == 0, res.output
        return res.output

    zb("compile", cnn_onnx, "--runtime", "fake", "--precision", "fp32", "-o", str(engine))
    assert CALLS == ["compile fp32"] and engine.is_file()
    zb("infer", str(engine), "--runtime", "fake", "--data", str(folder), "-b", "2", "-o", str(out), "--json")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runtime"]["runtime"] == "fake" and summary["images_inferred"] == len(list(folder.iterdir()))
    assert CALLS.count("run") >= 2  # the batches ran on the fake session
    zb("eval", str(out), "--labels", str(labels))
    assert json.loads((out / "accuracy.json").read_text())["count"] == 4  # the four labelled photos
    zb("perf", str(engine), "--runtimes", "fake", "-b", "1", "--seconds", "0", "--repeats", "1", "-o", str(perf_dir))
    perf = json.loads((perf_dir / "perf.json").read_text())
    assert [c["name"] for c in perf["columns"]] == ["fake fp32"] and perf["columns"][0]["available"]
    rundir = tmp_path / "run"  # report reads run directories: `run` times the fake column beside ORT's
    zb("run", cnn_onnx, "--runtimes", "onnxruntime,fake", "-b", "1", "--seconds", "0", "--repeats", "1",
       "-o", str(rundir))  # fmt: skip
    zb("report", str(rundir))
    model_report = (rundir / "torchvision_squeezenet1_1" / "report.md").read_text()
    assert "fake fp32 img/s" in model_report and "| perf:fake-fp32 | done |" in model_report
