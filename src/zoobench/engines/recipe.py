"""The frozen recipe of an engine: everything that makes its bytes, and one key per build step.

A recipe names the model, its weights (by sha256: the files' paths are provenance, never key), the preprocessing,
how the float ONNX is exported (opset, exporter, simplify) and, for a column, the runtime, precision, static batch,
input type, calibration (a listing hash of its images) and accuracy control. :func:`resolve` is the one place a
model name or file becomes a recipe: the only caller of the spec, weights and preprocessing resolvers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict

from zoobench.artifact import Engine, is_model_file, load_engine, model_suffixes
from zoobench.errors import ModelNotFoundError, ZoobenchError
from zoobench.export import DEFAULT_OPSET
from zoobench.io import file_digest, json_digest
from zoobench.models.spec import Preprocess
from zoobench.models.weights import ResolvedWeights


@dataclass(frozen=True)
class Recipe:
    """What one engine is made of. ``file``/``file_sha256``: a model file given as it is (nothing exported);
    ``spec`` is the model's registry entry (not part of any key)."""

    model: str
    preprocess: Preprocess
    weights: ResolvedWeights | None = None
    file: str | None = None
    file_sha256: str | None = None
    opset: int = DEFAULT_OPSET
    exporter: str = "dynamo"
    simplify: bool = True
    input_dtype: str = "uint8"
    runtime: str | None = None
    precision: str | None = None
    batch_size: int | None = None
    calibration: str | None = None  # the calibration images' listing hash; None: random data (or not int8)
    accuracy_control: str | None = None  # the digest of its settings and data
    spec: Any = field(default=None, compare=False, repr=False)

    def export_key(self) -> str:
        """The float ONNX: the model file's bytes, or model + weights sha256 + preprocessing + how it is exported."""
        from zoobench import __version__

        if self.file_sha256:
            return json_digest({"step": "file", "sha256": self.file_sha256})
        assert self.weights is not None
        blob: dict[str, Any] = {
            "step": "export",
            "model": self.model,
            "weights": weights_key(self.weights),
            "preprocess": self.preprocess.hash(),
            "opset": self.opset,
            "exporter": self.exporter,
            "simplify": self.simplify,
            "zoobench": __version__,
        }
        return json_digest(blob)

    def uint8_key(self) -> str:
        """The uint8-input engine made from the float ONNX (the Cast → Mul → Add prefix)."""
        return json_digest({"step": "uint8", "source": self.export_key()})

    def compile_key(self) -> str:
        """The runtime's compiled engine of the column (``runtime``/``precision`` set), compiled from the float
        ONNX with the column's input type."""
        blob = {
            "step": "compile",
            "source": self.export_key(),
            "runtime": self.runtime,
            "precision": self.precision,
            "batch_size": self.batch_size,
            "input_dtype": self.input_dtype,
            "calibration": self.calibration,
            "accuracy_control": self.accuracy_control,
        }
        return json_digest(blob)

    def column(self, runtime: str, precision: str, **made: Any) -> Recipe:
        """This recipe for one runtime × precision column (``made``: batch_size, calibration, accuracy_control,
        input_dtype)."""
        return replace(self, runtime=runtime, precision=precision, **made)


class WeightsKey(TypedDict, total=False):
    """The weights as a key: ``random`` with ``torch`` (the version that drew them), or their ``sha256``."""

    random: bool
    torch: str
    sha256: list[str]


class EngineFileRecord(TypedDict):
    """An engine file as a column record carries it (``engine`` in perf/score JSON)."""

    file: str
    sha256: str
    bytes: int
    input: str


def weights_key(w: ResolvedWeights) -> WeightsKey:
    """The weights as a key: their bytes (sha256), or random init with the torch version that drew it."""
    if w.random:
        return {"random": True, "torch": torch_version()}
    return {"random": False, "sha256": list(w.sha256)}


def torch_version() -> str:
    """``torch.__version__`` (with its local label, ``2.14.1+cu130``), without importing torch where it is not
    imported yet (~2 s of one core): read from the ``torch/version.py`` the import would run. A run whose every
    stage is in the store never needs torch."""
    import sys

    if "torch" not in sys.modules:
        import importlib.util
        import re
        from pathlib import Path

        spec = importlib.util.find_spec("torch")
        if spec is not None and spec.origin:
            try:
                text = (Path(spec.origin).parent / "version.py").read_text()
            except OSError:
                text = ""
            m = re.search(r"^__version__\s*(?::\s*str\s*)?=\s*['\"]([^'\"]+)['\"]", text, re.M)
            if m:
                return m.group(1)
    import torch

    return str(torch.__version__)


def resolve(
    model_or_file: str,
    *,
    weights: str | None = None,
    variant: str | None = None,
    exporter: str = "dynamo",
    check: bool = False,
) -> Recipe:
    """The recipe of a model name (its spec, weights resolved and hashed once, preprocessing variant) or of an
        engine file (its metadata; its sha256 keys what is made from it). ``check``: also load the weights into the
    architecture built without memory (``run``'s checks: a checkpoint that does not fit fails before anything is made).

        Raises:
            ModelNotFoundError / WeightsError / ZoobenchError: one line naming what is wrong.
    """
    if is_model_file(model_or_file):
        if weights:
            raise ZoobenchError("--weights applies to a model name, not to an ONNX file")
        eng = load_engine(model_or_file)
        return Recipe(eng.model, eng.preprocess, file=str(Path(model_or_file)), file_sha256=file_digest(eng.path))
    if model_or_file.lower().endswith(model_suffixes()):
        raise ModelNotFoundError(f"no such file: {model_or_file}")
    from zoobench.models import get_spec
    from zoobench.models.weights import check_weights
    from zoobench.models.weights import resolve as resolve_weights

    spec = get_spec(model_or_file)
    pp = spec.preprocess_for(variant)
    resolved = check_weights(spec, weights) if check else resolve_weights(spec, weights)
    return Recipe(spec.name, pp, weights=resolved, exporter=exporter, spec=spec)


def engine_record(engine: Engine, root: Path, sha256: str | None = None) -> EngineFileRecord:
    """What perf timed and score scored, as the column records carry it: the file (relative to ``root``, the
    model's run folder, when it is inside), its sha256, bytes and input type."""
    path = Path(engine.path)
    try:
        rel = str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        rel = str(path)
    return {
        "file": rel,
        "sha256": sha256 or file_digest(path),
        "bytes": path.stat().st_size,
        "input": engine.input_dtype,
    }
