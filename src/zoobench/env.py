"""The environment recorded beside every number: CPU, cores, versions."""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from importlib import metadata
from typing import TypedDict

_PACKAGES = (
    "zoobench",
    "numpy",
    "onnx",
    "onnxruntime",
    "onnxruntime-gpu",
    "openvino",
    "torch",
    "torchvision",
    "timm",
    "pillow",
    "tensorrt",
)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


@lru_cache(maxsize=1)
class Environment(TypedDict):
    """The machine and the package versions a result was measured with (``environment`` in the JSON files)."""

    cpu: str
    cpu_count: int | None
    cpu_affinity: int | None
    cpu_features: list[str]
    machine: str
    system: str
    python: str
    versions: dict[str, str]


def environment() -> Environment:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    flags = cpu_flags()
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_features": sorted(
            f
            for f in flags
            if f in {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "fma"}
        ),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
    }
