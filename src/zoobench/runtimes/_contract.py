"""Each runtime module held to its contract where mypy sees it: an assignment per module to
:class:`~zoobench.runtimes.base.RuntimeModule`, or :class:`~zoobench.runtimes.base.CompilingRuntime` for one that
compiles, so ``mypy src/zoobench`` fails when a module lacks a part or defines one with another signature.
Nothing here runs (the imports are for the checker only); a new runtime adds its line."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoobench.runtimes import onnxruntime, openvino, tensorrt, torch
    from zoobench.runtimes.base import CompilingRuntime, RuntimeModule

    _onnxruntime: CompilingRuntime = onnxruntime
    _openvino: CompilingRuntime = openvino
    _tensorrt: CompilingRuntime = tensorrt
    _torch: RuntimeModule = torch
