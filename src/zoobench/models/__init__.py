"""Model specs, the registry, and weight loading."""

from zoobench.models.registry import get_spec, list_specs, register
from zoobench.models.spec import IMAGENET_MEAN, IMAGENET_STD, ModelSpec, Preprocess, Reference, WeightFile

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ModelSpec",
    "Preprocess",
    "Reference",
    "WeightFile",
    "get_spec",
    "list_specs",
    "register",
]
