"""One model file and its metadata: an ONNX file (zoobench's metadata in ``metadata_props``), an OpenVINO IR
or a TensorRT plan (metadata in an ``ENGINE.zoobench.json`` sidecar). An :class:`Engine` is such a file with what
it needs to be fed correctly: its preprocessing, its input type, the weights it came from, its precision."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoobench.errors import ZoobenchError
from zoobench.models.spec import Preprocess

META_PREFIX = "zoobench."


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


_MODEL_SUFFIXES = {".onnx", ".xml", ".plan", ".engine"}  # and what each registered runtime loads


def add_model_suffixes(*suffixes: str) -> None:
    """Model files a runtime loads (``zoobench.runtimes.register`` calls this): a file name ending so is a model."""
    _MODEL_SUFFIXES.update(s.lower() for s in suffixes if s)


def model_suffixes() -> tuple[str, ...]:
    return tuple(sorted(_MODEL_SUFFIXES))


def is_model_file(name: str) -> bool:
    return Path(name).suffix.lower() in _MODEL_SUFFIXES and Path(name).is_file()


def sidecar_path(path: str | Path) -> Path:
    """``ENGINE.zoobench.json`` beside a compiled artifact that cannot carry metadata itself."""
    p = Path(path)
    return p.with_name(f"{p.stem}.zoobench.json")


def load_engine(path: str) -> Engine:
    """An existing model file with zoobench metadata: ONNX (``metadata_props``), or an OpenVINO IR /
    TensorRT plan with its ``ENGINE.zoobench.json`` sidecar (the IR's ``rt_info`` holds the same)."""
    if Path(path).suffix.lower() == ".onnx":
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


def resolve_preprocess(model_or_file: str, variant: str | None = None) -> Preprocess:
    """The preprocessing a model takes, resolved in one place (as timm's ``resolve_data_config`` does): a model
    file's recorded one, or a model name's default or named variant (``--preprocess``). Errors are one line: an
    unknown model or variant, a missing file, or a variant asked of a file (its preprocessing is recorded in it)."""
    from zoobench.errors import ModelNotFoundError, UsageError

    if is_model_file(model_or_file):
        if variant not in (None, "", "default"):
            raise UsageError(
                f"--preprocess applies to a model name; {model_or_file} records its own preprocessing "
                f"(export the model with --preprocess {variant} instead)"
            )
        return load_engine(model_or_file).preprocess
    if model_or_file.lower().endswith(model_suffixes()):
        raise ModelNotFoundError(f"no such file: {model_or_file}")
    from zoobench.models import get_spec

    return get_spec(model_or_file).preprocess_for(variant)


def read_metadata(onnx_path: str | Path) -> dict[str, Any]:
    """zoobench's metadata of an ONNX file (values JSON-decoded where they are JSON)."""
    from zoobench.onnx_meta import NotOnnx, metadata_props

    try:
        props = metadata_props(onnx_path)  # the wire format's field 14 only: no `import onnx`, no full parse
    except (NotOnnx, OSError) as exc:  # a truncated file, not protobuf, unreadable: one line, not a traceback
        raise ZoobenchError(f"{onnx_path}: not a readable ONNX model ({' '.join(str(exc).split())})") from exc
    out: dict[str, Any] = {}
    for key, value in props:
        if key.startswith(META_PREFIX):
            try:
                out[key[len(META_PREFIX) :]] = json.loads(value)
            except json.JSONDecodeError:
                out[key[len(META_PREFIX) :]] = value
    return out


def preprocess_of(onnx_path: str | Path) -> Preprocess | None:
    meta = read_metadata(onnx_path)
    return Preprocess.from_dict(meta["preprocess"]) if "preprocess" in meta else None


def set_metadata(model: Any, values: dict[str, Any]) -> None:
    """Store ``values`` as ``zoobench.*`` metadata_props (JSON-encoded), replacing old ones."""
    keep = [p for p in model.metadata_props if p.key[len(META_PREFIX) :] not in values]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for key, value in values.items():
        prop = model.metadata_props.add()
        prop.key = META_PREFIX + key
        prop.value = json.dumps(value)
