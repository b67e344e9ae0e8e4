"""ImageNet-1k class names (torchvision order = the seeds' label ids 0..999)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[str, ...]:
    text = resources.files("zoobench").joinpath("assets/imagenet_classes.txt").read_text(encoding="utf-8")
    names = tuple(line for line in text.splitlines() if line)
    assert len(names) == 1000, "packaged class list is damaged"
    return names


def class_name(idx: int) -> str:
    names = imagenet_classes()
    return names[idx] if 0 <= idx < len(names) else f"class {idx}"
