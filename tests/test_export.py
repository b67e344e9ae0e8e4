"""Each seed model exports with its seed IO names and a dynamic batch, and ORT matches PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from zoobench.artifact import preprocess_of, read_metadata  # noqa: E402
from zoobench.errors import ExportError  # noqa: E402
from zoobench.export import export_model  # noqa: E402
from zoobench.models import get_spec, list_specs  # noqa: E402
from zoobench.models.weights import build_model  # noqa: E402

SEED_NAMES = [s.name for s in list_specs() if s.seed]
DEFAULT_SEED = "mnasnet1_0"  # the default suite exports one seed model; .ci/run exports the other four (-m slow)


@pytest.mark.parametrize(
    "name", [n if n == DEFAULT_SEED else pytest.param(n, marks=pytest.mark.slow) for n in SEED_NAMES]
)
def test_seed_model_exports_and_matches_pytorch(name: str, tmp_path: Path) -> None:
    """Through the engine build, as `export` and `run` make it (the session's store: the runner's random-weights
    mnasnet1_0 run links this same export). Random init is seeded, so the model built here has its weights."""
    from zoobench.engines import resolve_engine

    spec = get_spec(name)
    model, _resolved = build_model(spec, "random")
    out = Path(resolve_engine(name, weights="random", workdir=tmp_path).path)
    assert out.parent == tmp_path and out.name == f"{name}.onnx"
    m = onnx.load(str(out))
    (inp,) = [i for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}]
    assert (inp.name, m.graph.output[0].name) == (spec.input_name, spec.output_name)
    assert inp.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert [d.dim_value for d in inp.type.tensor_type.shape.dim[1:]] == list(spec.preprocess.input_size)
    meta = read_metadata(out)
    assert meta["model"] == name and meta["weights"]["random"] is True
    assert preprocess_of(out) == spec.preprocess
    assert meta["parity"]["passed"] and meta["exporter"] == "dynamo" and meta["opset"] == 18
    # dynamic batch: batch 3 runs and agrees with PyTorch
    x = np.random.default_rng(1).standard_normal((3, *spec.preprocess.input_size), dtype=np.float32)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {spec.input_name: x})[0]
    with torch.inference_mode():
        ref = model(torch.from_numpy(x)).numpy()
    assert got.shape == (3, 1000)
    np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4 * max(1.0, float(np.abs(ref).max())))


def test_parity_failure_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zoobench.export as ex

    spec = get_spec("torchvision:resnet18")
    model, _resolved = build_model(spec, "random")
    real = ex.check_parity

    def broken(*a, **k):  # type: ignore[no-untyped-def]
        p = real(*a, **k)
        p.rel_diff, p.passed = 0.5, False
        return p

    monkeypatch.setattr(ex, "check_parity", broken)
    with pytest.raises(ExportError, match="parity check failed"):
        export_model(
            model, spec, tmp_path / "r.onnx", preprocess=spec.preprocess, weights_info={}, exporter="torchscript"
        )
    assert not (tmp_path / "r.onnx").exists()  # no half-checked file left behind
