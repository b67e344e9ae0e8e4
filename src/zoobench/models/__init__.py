"""Model specs, the registry, and weight loading."""

from zoobench.models.registry import find_spec, get_spec, list_specs, reference_of, register, slug
from zoobench.models.spec import IMAGENET_MEAN, IMAGENET_STD, ModelSpec, Preprocess, Reference, WeightFile

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ModelSpec",
    "Preprocess",
    "Reference",
    "WeightFile",
    "find_spec",
    "get_spec",
    "list_specs",
    "reference_of",
    "register",
    "slug",
]
