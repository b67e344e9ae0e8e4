"""The model registry: a module-level dict filled by :func:`register`, plus timm/torchvision names."""

from __future__ import annotations

import fnmatch
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoobench.errors import ModelNotFoundError
from zoobench.models.spec import ModelSpec, Preprocess, WeightFile

_REGISTRY: dict[str, ModelSpec] = {}


def register(factory: Callable[[], ModelSpec]) -> Callable[[], ModelSpec]:
    """Decorator: register the spec that ``factory`` returns under its name."""
    spec = factory()
    if spec.name in _REGISTRY:
        warnings.warn(f"model {spec.name!r} registered twice; keeping the first", stacklevel=2)
    else:
        _REGISTRY[spec.name] = spec
    return factory


def _natural_key(name: str) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def list_specs(pattern: str = "*") -> list[ModelSpec]:
    """Registered specs whose name matches the fnmatch ``pattern``, in natural order."""
    _ensure_zoo()
    names = sorted((n for n in _REGISTRY if fnmatch.fnmatch(n, pattern)), key=_natural_key)
    return [_REGISTRY[n] for n in names]


def get_spec(name: str) -> ModelSpec:
    """The spec for a registry name, ``timm:NAME`` or ``torchvision:NAME``."""
    _ensure_zoo()
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name.startswith("timm:"):
        return _timm_spec(name[5:])
    if name.startswith("torchvision:"):
        return _torchvision_spec(name[12:])
    close = [n for n in _REGISTRY if name.replace("-", "_").lower() in n]
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ModelNotFoundError(
        f"unknown model {name!r}.{hint} Known: {', '.join(sorted(_REGISTRY))}; "
        "or use timm:NAME / torchvision:NAME, or pass an .onnx file."
    )


def _ensure_zoo() -> None:
    """Register the zoo's specs, once."""
    from zoobench.models.zoo import FACTORIES

    for factory in FACTORIES:
        if factory.__name__ not in _ZOO_DONE:
            _ZOO_DONE.add(factory.__name__)
            register(factory)


_ZOO_DONE: set[str] = set()


def _timm_spec(model_name: str) -> ModelSpec:
    try:
        import timm
    except ImportError as exc:
        raise ModelNotFoundError(f"timm:{model_name} needs timm: pip install 'zoobench[torch]'") from exc
    if not timm.is_model(model_name):
        raise ModelNotFoundError(f"timm has no model {model_name!r} (see timm.list_models())")
    cfg = timm.models.get_pretrained_cfg(model_name) or None
    pp = _timm_preprocess(model_name, cfg) if cfg is not None else Preprocess.from_crop_pct(224, 0.875)
    num_classes = int(cfg.num_classes) if cfg is not None and cfg.num_classes else 1000

    def build() -> object:
        return timm.create_model(model_name, pretrained=False, num_classes=num_classes)

    hub = cfg.hf_hub_id if cfg is not None else None
    file = (cfg.hf_hub_filename if cfg is not None else None) or "model.safetensors"
    # timm's pretrained=True file: the Hugging Face repo of its pretrained cfg, in the Hugging Face cache
    weights = (WeightFile(file, f"https://huggingface.co/{hub}", library=f"hf:{hub}"),) if hub else ()
    return ModelSpec(
        name=f"timm:{model_name}",
        builder=build,
        loader=None,
        weights=weights,
        preprocess=pp,
        input_name="image",
        output_name="class",
        num_classes=num_classes,
        description=f"timm {model_name} (weights: timm's pretrained file"
        + (f" {hub}, via the Hugging Face cache" if hub else ": none published")
        + "; or --weights PATH)",
    )


def _timm_preprocess(model_name: str, cfg: Any) -> Preprocess:
    """What timm's ``create_transform(**resolve_data_config({}, model=...))`` does at eval, from the pretrained cfg:
    ``crop_mode`` center (shorter side, torchvision's CenterCrop) or squash (``squash_center``: both sides, the
    same crop), ``crop_pct`` (timm's default 0.875 when unset), the interpolation and mean/std. What zoobench
    cannot reproduce exactly is refused in one line naming the field and the model: ``border`` crops, a
    non-square or non-RGB ``input_size``, a ``crop_pct`` over 1 (timm pads), an interpolation PIL does not have."""
    from zoobench.errors import ZoobenchError
    from zoobench.models.spec import INTERPOLATIONS

    def refuse(field: str, value: object, why: str) -> ZoobenchError:
        return ZoobenchError(f"timm:{model_name}: pretrained cfg {field}={value!r} is not supported ({why})")

    mode = cfg.crop_mode or "center"
    if mode not in ("center", "squash"):
        raise refuse("crop_mode", mode, "zoobench reproduces timm's center and squash crops only")
    size = tuple(int(v) for v in cfg.input_size)
    if len(size) != 3 or size[0] != 3 or size[1] != size[2]:
        raise refuse("input_size", size, "zoobench reproduces square RGB inputs only")
    crop_pct = float(cfg.crop_pct or 0.875)
    if crop_pct > 1:
        raise refuse("crop_pct", crop_pct, "above 1 timm pads the crop; zoobench does not")
    interp = cfg.interpolation or "bilinear"
    if interp not in INTERPOLATIONS:
        raise refuse("interpolation", interp, f"known: {', '.join(INTERPOLATIONS)}")
    norm = {"mean": tuple(cfg.mean), "std": tuple(cfg.std)} if cfg.mean and cfg.std else {}
    if norm and (len(norm["mean"]) != 3 or len(norm["std"]) != 3):
        raise refuse("mean", norm["mean"], "zoobench normalizes three channels")
    mode_kw = {"resize_mode": "squash_center"} if mode == "squash" else {}
    return Preprocess.from_crop_pct(size[2], crop_pct, interpolation=interp, **mode_kw, **norm)


def _torchvision_spec(model_name: str) -> ModelSpec:
    try:
        import torchvision
    except ImportError as exc:
        raise ModelNotFoundError(f"torchvision:{model_name} needs pip install 'zoobench[torch]'") from exc
    if model_name not in torchvision.models.list_models(module=torchvision.models):
        raise ModelNotFoundError(f"torchvision has no classification model {model_name!r}")

    def build() -> object:
        return torchvision.models.get_model(model_name, weights=None)

    published = _torchvision_weights(torchvision, model_name)
    pp, weights, reference = published if published else (Preprocess(), (), None)
    return ModelSpec(
        name=f"torchvision:{model_name}",
        builder=build,
        loader=None,
        weights=weights,
        preprocess=pp,
        reference=reference,
        description=f"torchvision {model_name} (weights: torchvision's published file, via torch hub's cache; or "
        "--weights PATH)",
    )


def find_spec(name: str) -> ModelSpec | None:
    """The spec, or None for a name zoobench does not know (an ONNX file of someone else's model).

    Only :class:`ModelNotFoundError` means "not known"; any other error is a bug and propagates.
    """
    try:
        return get_spec(name)
    except ModelNotFoundError:
        return None


def reference_of(name: str) -> tuple[float | None, float | None]:
    """The published (top-1, top-5) of a model, or (None, None) when it has none or zoobench does not know it."""
    spec = find_spec(name)
    ref = spec.reference if spec is not None else None
    return (ref.top1, ref.top5) if ref is not None else (None, None)


def slug(model: str) -> str:
    """A file and directory name for a model name or an ONNX path: ``timm:resnet50`` → ``timm_resnet50``."""
    if model.lower().endswith(".onnx"):
        return Path(model).stem
    return model.replace(":", "_").replace("/", "_")


def _torchvision_weights(torchvision: Any, model_name: str) -> tuple[Preprocess, tuple[WeightFile, ...], Any] | None:
    """The model's default weights enum: its file (in torch hub's cache), its eval preprocessing and its published
    ImageNet accuracy; None where torchvision publishes none."""
    from zoobench.models.spec import Reference

    try:
        w = torchvision.models.get_model_weights(model_name).DEFAULT
        t = w.transforms()
        crop, resize = int(t.crop_size[0]), int(t.resize_size[0])
        pp = Preprocess(
            input_size=(3, crop, crop),
            resize=resize,
            interpolation=t.interpolation.value,
            mean=tuple(t.mean),
            std=tuple(t.std),
        )
    except (ValueError, AttributeError, IndexError, TypeError):  # no weights, or a transform we do not model
        return None
    filename = w.url.rsplit("/", 1)[-1]
    digest = re.search(r"-([0-9a-f]{6,})\.", filename)
    wf = WeightFile(filename, w.url, sha256_prefix=digest.group(1) if digest else None, library="torch.hub")
    metrics = (w.meta.get("_metrics") or {}).get("ImageNet-1K") or {}
    ref = None
    if "acc@1" in metrics:
        ref = Reference(float(metrics["acc@1"]), metrics.get("acc@5"), f"torchvision {type(w).__name__}.{w.name} meta")
    return pp, (wf,), ref
