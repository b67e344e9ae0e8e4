"""Resolve what the user named (a model name or an .onnx / engine file) into a runnable engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoobench.errors import ModelNotFoundError, ZoobenchError
from zoobench.models.spec import Preprocess


@dataclass
class Engine:
    """A model file ready for a runtime, with what it needs to be fed correctly."""

    path: str
    model: str
    preprocess: Preprocess
    metadata: dict[str, Any]

    @property
    def random_weights(self) -> bool:
        return bool(self.metadata.get("weights", {}).get("random", False))

    @property
    def runtime(self) -> str | None:
        """The runtime a compiled engine was built for; None for a plain export (any runtime)."""
        value = self.metadata.get("runtime")
        return str(value) if value else None

    @property
    def precision(self) -> str:
        return str(self.metadata.get("precision", "fp32"))

    @property
    def input_dtype(self) -> str:
        """``uint8`` for an engine that takes the uint8 crop and normalizes inside; else ``float32``."""
        return "uint8" if self.metadata.get("input_dtype") == "uint8" else "float32"


# Files zoobench can run: ONNX (metadata inside), OpenVINO IR and TensorRT plans (metadata in a sidecar).
MODEL_SUFFIXES = (".onnx", ".xml", ".plan", ".engine")


def is_model_file(name: str) -> bool:
    return Path(name).suffix.lower() in MODEL_SUFFIXES and Path(name).is_file()


def sidecar_path(path: str | Path) -> Path:
    """``ENGINE.zoobench.json`` beside a compiled artifact that cannot carry metadata itself."""
    p = Path(path)
    return p.with_name(f"{p.stem}.zoobench.json")


def load_engine(path: str) -> Engine:
    """An existing model file with zoobench metadata: ONNX (``metadata_props``), or an OpenVINO IR /
    TensorRT plan with its ``ENGINE.zoobench.json`` sidecar (the IR's ``rt_info`` holds the same)."""
    if Path(path).suffix.lower() == ".onnx":
        from zoobench.export import read_metadata

        meta = read_metadata(path)
    else:
        side = sidecar_path(path)
        if not side.is_file():
            raise ZoobenchError(
                f"{path} has no zoobench metadata ({side.name} is missing); compile it with `zoobench compile`"
            )
        import json

        try:
            meta = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ZoobenchError(f"{side}: unreadable zoobench metadata ({exc})") from exc
    if "preprocess" not in meta:
        raise ZoobenchError(
            f"{path} carries no zoobench preprocessing metadata; export it with `zoobench export` "
            "so its inputs can be made correctly"
        )
    return Engine(path, str(meta.get("model", Path(path).stem)), Preprocess.from_dict(meta["preprocess"]), meta)


def resolve_engine(
    model_or_file: str,
    *,
    weights: str | None = None,
    variant: str | None = None,
    workdir: str | Path = ".",
    exporter: str = "dynamo",
    log: Any = None,
) -> Engine:
    """Use an ONNX file as it is, or export a model name into ``workdir/<name>.onnx``.

    An existing export in ``workdir`` is reused when its weights and preprocessing are the same.
    """
    if is_model_file(model_or_file):
        if weights:
            raise ZoobenchError("--weights applies to a model name, not to an ONNX file")
        return load_engine(model_or_file)
    if model_or_file.lower().endswith(MODEL_SUFFIXES):
        raise ModelNotFoundError(f"no such file: {model_or_file}")
    from zoobench.export import export_model
    from zoobench.models import get_spec
    from zoobench.models.weights import build_model, resolve

    spec = get_spec(model_or_file)
    pp = spec.preprocess_for(variant)
    resolved = resolve(spec, weights)
    safe = spec.name.replace(":", "_")
    out = Path(workdir) / f"{safe}.onnx"
    if out.is_file():
        try:
            eng = load_engine(str(out))
            if eng.metadata.get("weights") == resolved.to_dict() and eng.preprocess == pp:
                if log:
                    log(f"reusing {out} (same weights and preprocessing)")
                return eng
        except Exception:  # a stale or foreign file: export again
            pass
    if log:
        log(f"exporting {spec.name} ({resolved.describe()}) -> {out}")
    model, resolved = build_model(spec, weights, resolved)
    export_model(model, spec, out, preprocess=pp, weights_info=resolved.to_dict(), exporter=exporter)
    return load_engine(str(out))


def uint8_engine(engine: Engine, *, log: Any = None) -> Engine:
    """The uint8-input twin of a float ONNX export: ``STEM.u8.onnx`` beside it, made once and reused.

    Raises:
        ZoobenchError: ``engine`` is a compiled artifact (compile it with ``--input uint8`` instead).
    """
    if engine.input_dtype == "uint8":
        return engine
    if engine.runtime or Path(engine.path).suffix.lower() != ".onnx":
        raise ZoobenchError(
            f"{engine.path} is a compiled float-input engine; compile its ONNX with `--input uint8` instead"
        )
    from zoobench.run.ledger import sha256_file
    from zoobench.uint8_input import write_input_variant

    src = Path(engine.path)
    out = src.with_name(f"{src.stem}.u8.onnx")
    digest = sha256_file(src)
    if out.is_file():
        try:
            twin = load_engine(str(out))
            if twin.input_dtype == "uint8" and twin.metadata.get("float_source_sha256") == digest:
                return twin
        except ZoobenchError:  # unreadable or foreign: make it again
            pass
    if log:
        log(f"uint8-input engine (normalization inside the graph) -> {out}")
    write_input_variant(src, out, "uint8", extra={"float_source_sha256": digest})
    return load_engine(str(out))
