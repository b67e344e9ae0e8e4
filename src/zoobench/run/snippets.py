"""The loading snippet of a shipped engine: a few lines that need only PIL, numpy and the engine's runtime (no
zoobench), doing the model's own preprocessing (its resize — shorter side or squash, with its interpolation — and
centre crop, as ``data/transforms.py`` does it, bit for bit) into the engine's input, and printing each image's
top-1 class index.

ONNX Runtime and OpenVINO load the file as it is; a torch column ships the ONNX it was built from, with the ONNX
Runtime lines; a TensorRT plan is loaded with TensorRT's Python API (torch CUDA tensors as buffers), and the
snippet names ``trtexec --loadEngine`` for timing it.
"""

from __future__ import annotations

from typing import Any

from zoobench.models.spec import Preprocess

# the runtime whose lines load a column's shipped file
LOADER = {"onnxruntime": "onnxruntime", "openvino": "openvino", "torch": "onnxruntime", "tensorrt": "tensorrt"}
_PIL_FILTER = {"bilinear": "BILINEAR", "bicubic": "BICUBIC", "nearest": "NEAREST"}
# OpenVINO's INFERENCE_PRECISION_HINT per zoobench precision (runtimes/openvino.py sets the same)
_OV_HINT = {"fp32": "f32", "int8": "f32", "bf16": "bf16", "fp16": "f16"}

_HEAD = '''\
"""{title}

Run it beside {engine}:  python {script} IMAGE [IMAGE ...]
It prints each image's top-1 class index. Needs only: pip install {packages} pillow numpy
"""
import sys

import numpy as np
from PIL import Image
{runtime_import}
ENGINE = "{engine}"
'''

_SHORTER = '''

def crop(path):
    """{describe}: a uint8 {h}x{w}x3 array."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    size = ({resize}, int({resize} * h / w)) if w <= h else (int({resize} * w / h), {resize})
    if size != img.size:
        img = img.resize(size, Image.Resampling.{filter})
    a = np.asarray(img)
    top, left = round((a.shape[0] - {h}) / 2), round((a.shape[1] - {w}) / 2)
    return a[top : top + {h}, left : left + {w}]
'''

_SQUASH = '''

def crop(path):
    """{describe}: a uint8 {h}x{w}x3 array."""
    img = Image.open(path).convert("RGB").resize(({resize}, {resize}), Image.Resampling.{filter})
    top, left = int(({resize} - {h}) / 2), int(({resize} - {w}) / 2)
    return np.asarray(img)[top : top + {h}, left : left + {w}]
'''

_UINT8 = '''

def batch(path):
    """The engine's input: uint8 1x3x{h}x{w} (it normalizes inside)."""
    return np.ascontiguousarray(crop(path).transpose(2, 0, 1)[None])
'''

_FLOAT = '''

MEAN = np.array({mean!r}, dtype=np.float32)[:, None, None]
STD = np.array({std!r}, dtype=np.float32)[:, None, None]


def batch(path):
    """The engine's input: float32 1x3x{h}x{w}, /255 then normalized with the model's mean and std."""
    x = crop(path).transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    return np.ascontiguousarray(((x - MEAN) / STD)[None])
'''

_LOAD = {
    "onnxruntime": """

session = ort.InferenceSession(ENGINE, providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
for path in sys.argv[1:]:
    logits = session.run(None, {{name: batch(path)}})[0]
    print(path, int(np.argmax(logits[0])))
""",
    "openvino": """

core = ov.Core()
compiled = core.compile_model(ENGINE, "CPU", {{"INFERENCE_PRECISION_HINT": "{hint}"}})
for path in sys.argv[1:]:
    logits = compiled(batch(path))[compiled.output(0)]
    print(path, int(np.argmax(logits[0])))
""",
    "tensorrt": """
# Timing it alone: trtexec --loadEngine={engine} --shapes=<input>:1x3x{h}x{w}
# A plan runs only on the GPU model and TensorRT version that built it; buffers here are torch CUDA tensors.

runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
with open(ENGINE, "rb") as f:
    engine = runtime.deserialize_cuda_engine(f.read())
context = engine.create_execution_context()
names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
inp = next(n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT)
out = next(n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT)
stream = torch.cuda.Stream()
for path in sys.argv[1:]:
    x = torch.from_numpy(batch(path)).cuda()
    context.set_input_shape(inp, tuple(x.shape))
    y = torch.empty(tuple(context.get_tensor_shape(out)), dtype=torch.float32, device="cuda")
    context.set_tensor_address(inp, x.data_ptr())
    context.set_tensor_address(out, y.data_ptr())
    context.execute_async_v3(stream.cuda_stream)
    stream.synchronize()
    print(path, int(y[0].argmax()))
""",
}
_IMPORT = {
    "onnxruntime": ("import onnxruntime as ort\n", "onnxruntime"),
    "openvino": ("import openvino as ov\n", "openvino"),
    "tensorrt": ("import tensorrt as trt\nimport torch\n", "tensorrt torch"),
}


def describe_preprocess(pp: Preprocess) -> str:
    """``shorter side to 256 (bilinear), centre crop 224x224``."""
    h, w = pp.crop_size
    if pp.resize_mode == "squash":
        return f"squash to {pp.resize}x{pp.resize} ({pp.interpolation}), crop {h}x{w} from the middle"
    return f"shorter side to {pp.resize} ({pp.interpolation}), centre crop {h}x{w}"


def snippet(
    runtime: str, precision: str, engine: str, input_dtype: str, pp: Preprocess, title: str, script: str = "predict.py"
) -> str:
    """The loading snippet (a whole Python script) for ``engine`` (a file name) of a ``runtime`` column."""
    loader = LOADER.get(runtime)
    if loader is None:
        from zoobench.errors import ZoobenchError

        raise ZoobenchError(f"no loading snippet for runtime {runtime!r}")
    h, w = pp.crop_size
    runtime_import, packages = _IMPORT[loader]
    fields: dict[str, Any] = {"engine": engine, "h": h, "w": w, "script": script}
    fields.update(title=title, runtime_import=runtime_import, packages=packages, hint=_OV_HINT.get(precision, "f32"))
    return _HEAD.format(**fields) + preprocess_code(pp, input_dtype) + _LOAD[loader].format(**fields)


def preprocess_code(pp: Preprocess, input_dtype: str) -> str:
    """The snippet's ``crop(path)`` and ``batch(path)`` (they need ``np`` and PIL's ``Image``): the model's
    geometry into a uint8 crop, and the engine's 1×3×H×W input (normalized too when it takes float)."""
    h, w = pp.crop_size
    fields: dict[str, Any] = {"h": h, "w": w, "resize": pp.resize, "filter": _PIL_FILTER[pp.interpolation]}
    fields.update(describe=describe_preprocess(pp).capitalize())
    fields.update(mean=[float(v) for v in pp.mean], std=[float(v) for v in pp.std])
    geometry = _SQUASH if pp.resize_mode == "squash" else _SHORTER
    return (geometry + (_UINT8 if input_dtype == "uint8" else _FLOAT)).format(**fields)
