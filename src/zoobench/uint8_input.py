"""uint8-input engines: the normalization ``(x/255 - mean)/std`` moved inside the ONNX graph.

A uint8 engine takes the uint8 crop the prep cache stores (after resize + crop, before normalization) and
starts with ``Cast(float) -> Mul(scale) -> Add(bias)`` (``scale = 1/(255*std)``, ``bias = -mean/std``, per
channel, float32), prepended to the float export's graph with ``onnx.helper``: float and uint8 engines share
the same core graph and weights. The input keeps its name (the seeds' ``image``); only its type changes.

The prefix nodes are named ``zoobench_u8_*`` so :func:`strip_uint8_input` can recover the float core (e.g.
for OpenVINO, which applies the same normalization with its own ``PrePostProcessor``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from zoobench.errors import DataError, ExportError
from zoobench.logits import compare_logits
from zoobench.models.spec import Preprocess

PREFIX = "zoobench_u8_"
NORMALIZED = "zoobench_u8_normalized"  # the float tensor the core graph now reads
INPUT_DTYPES = ("float32", "uint8")
LAYOUTS = ("NCHW",)


class InputMeta(TypedDict):
    """How zoobench feeds an engine: its input's dtype, where normalization happens, its layout."""

    input_dtype: str
    normalization: str
    input_layout: str


def input_meta(input_dtype: str, layout: str = "NCHW") -> InputMeta:
    """The metadata that tells zoobench how to feed an engine (``input_dtype``, ``normalization``...)."""
    if input_dtype == "uint8":
        return {"input_dtype": "uint8", "normalization": "in_graph", "input_layout": layout}
    return {"input_dtype": "float32", "normalization": "host", "input_layout": "NCHW"}


def scale_bias(pp: Preprocess) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel float32 ``scale`` and ``bias`` with ``x * scale + bias == (x/255 - mean)/std``."""
    mean = np.asarray(pp.mean, dtype=np.float64)
    std = np.asarray(pp.std, dtype=np.float64)
    return (1.0 / (255.0 * std)).astype(np.float32), (-mean / std).astype(np.float32)


def _graph_input(model: Any) -> Any:
    graph = model.graph
    inits = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise ExportError(f"expected one graph input, got {len(inputs)}")
    return inputs[0]


def _replace_input(graph: Any, old: Any, new: Any) -> None:
    kept = [new if i.name == old.name else i for i in graph.input]
    del graph.input[:]
    graph.input.extend(kept)


def _rename_uses(graph: Any, old: str, new: str) -> None:
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name == old:
                node.input[k] = new
    if any(o.name == old for o in graph.output):
        raise ExportError(f"the graph input {old!r} is also an output")


def add_uint8_input(model: Any, pp: Preprocess, layout: str = "NCHW") -> Any:
    """Prepend ``Cast -> Mul -> Add`` to a float ONNX model (in place): its input becomes uint8 NCHW.

    Returns:
        The same ``ModelProto``, whose single input has the old name and type uint8.
    """
    from onnx import TensorProto, helper, numpy_helper

    if layout not in LAYOUTS:
        raise ExportError(f"input layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    graph = model.graph
    inp = _graph_input(model)
    if inp.type.tensor_type.elem_type != TensorProto.FLOAT:
        raise ExportError(f"input {inp.name!r} is not float32: the model already takes another type")
    name = inp.name
    _rename_uses(graph, name, NORMALIZED)
    c, h, w = pp.input_size
    new = helper.make_tensor_value_info(name, TensorProto.UINT8, ["batch", c, h, w])
    _replace_input(graph, inp, new)
    scale, bias = scale_bias(pp)
    graph.initializer.extend(
        [
            numpy_helper.from_array(scale.reshape(1, 3, 1, 1), PREFIX + "scale"),
            numpy_helper.from_array(bias.reshape(1, 3, 1, 1), PREFIX + "bias"),
        ]
    )
    prefix = [
        helper.make_node("Cast", [name], [PREFIX + "float"], name=PREFIX + "cast", to=TensorProto.FLOAT),
        helper.make_node("Mul", [PREFIX + "float", PREFIX + "scale"], [PREFIX + "scaled"], name=PREFIX + "mul"),
        helper.make_node("Add", [PREFIX + "scaled", PREFIX + "bias"], [NORMALIZED], name=PREFIX + "add"),
    ]
    nodes = prefix + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def strip_uint8_input(model: Any, pp: Preprocess) -> Any:
    """Undo :func:`add_uint8_input` (in place): the float core that takes normalized float32 NCHW.

    Raises:
        ExportError: the model's uint8 input was not made by zoobench.
    """
    from onnx import TensorProto, helper

    graph = model.graph
    prefix = [n for n in graph.node if n.name.startswith(PREFIX)]
    if not prefix or not any(NORMALIZED in n.output for n in prefix):
        raise ExportError("this uint8 model has no zoobench normalization prefix to remove")
    inp = _graph_input(model)
    kept = [n for n in graph.node if not n.name.startswith(PREFIX)]
    del graph.node[:]
    graph.node.extend(kept)
    inits = [t for t in graph.initializer if not t.name.startswith(PREFIX)]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    _rename_uses(graph, NORMALIZED, inp.name)
    c, h, w = pp.input_size
    _replace_input(graph, inp, helper.make_tensor_value_info(inp.name, TensorProto.FLOAT, ["batch", c, h, w]))
    return model


def convert_input(model: Any, pp: Preprocess, input_dtype: str) -> Any:
    """``model`` (a zoobench ONNX ``ModelProto``, either input type) made to take ``input_dtype``."""
    from zoobench.artifact import set_metadata

    if input_dtype not in INPUT_DTYPES:
        raise ExportError(f"input type must be one of {', '.join(INPUT_DTYPES)}, got {input_dtype!r}")
    current = model_input_dtype(model)
    if current != input_dtype:
        if input_dtype == "uint8":
            add_uint8_input(model, pp)
        else:
            strip_uint8_input(model, pp)
    set_metadata(model, dict(input_meta(input_dtype)))
    return model


def model_input_dtype(model: Any) -> str:
    """``uint8`` or ``float32``: the element type of the graph's input (others are refused)."""
    from onnx import TensorProto

    elem = _graph_input(model).type.tensor_type.elem_type
    if elem == TensorProto.UINT8:
        return "uint8"
    if elem == TensorProto.FLOAT:
        return "float32"
    raise ExportError(f"unsupported input element type {TensorProto.DataType.Name(elem)}")


def check_input_parity(float_model: bytes, uint8_model: bytes, pp: Preprocess, batch: int = 2) -> dict[str, Any]:
    """The uint8 engine on random uint8 crops vs the float engine on the same crops normalized in numpy.

    Raises:
        ExportError: the outputs differ by more than 1e-4 relative to the logits' scale.
    """
    import onnxruntime as ort

    from zoobench.data.synthetic import make_input
    from zoobench.data.transforms import normalize

    x = make_input((batch, *pp.input_size), uint8=True)
    outs = []
    for blob, feed in ((float_model, normalize(x, pp)), (uint8_model, x)):
        sess = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
        outs.append(sess.run(None, {sess.get_inputs()[0].name: feed})[0])
    c = compare_logits(outs[0], outs[1])
    diff, scale, rel = c["max_abs_logit_diff"], c["max_abs_logit"], c["rel_diff"]
    if not rel <= 1e-4:
        raise ExportError(f"uint8 input engine differs from the float one: max |diff| {diff:.3g} (relative {rel:.3g})")
    return {"batch_size": batch, "max_abs_diff": diff, "max_abs_logit": scale, "rel_diff": rel, "passed": True}


def write_input_variant(
    src: str | Path, dst: str | Path, input_dtype: str, *, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write ``dst``: the zoobench ONNX ``src`` made to take ``input_dtype``, checked, with its metadata.

    Returns:
        The parity figures of the two inputs (same outputs on the same crops).
    """
    import onnx

    from zoobench.artifact import preprocess_of, set_metadata
    from zoobench.io import write_bytes

    pp = preprocess_of(src)
    if pp is None:
        raise ExportError(f"{src} carries no zoobench preprocessing metadata")
    model = onnx.load(str(src))
    before = model.SerializeToString()
    was = model_input_dtype(model)
    convert_input(model, pp, input_dtype)
    onnx.checker.check_model(model, full_check=True)
    after = model.SerializeToString()
    parity = check_input_parity(*((before, after) if was == "float32" else (after, before)), pp)
    set_metadata(model, {"input_parity": parity, **(extra or {})})
    write_bytes(dst, model.SerializeToString())
    return parity


def check_batch_dtype(batch: np.ndarray, expected: Any, where: str) -> None:
    """Refuse uint8 pixels for a float engine and floats for a uint8 engine: never convert silently."""
    got_u8 = batch.dtype == np.uint8
    want_u8 = np.dtype(expected) == np.uint8
    if got_u8 and not want_u8:
        raise DataError(
            f"{where}: this engine takes normalized float32 input, got uint8 pixels; normalize them first "
            "or use a uint8-input engine (`zoobench export --input uint8`)"
        )
    if want_u8 and not got_u8:
        raise DataError(
            f"{where}: this engine takes uint8 pixels (it normalizes inside), got {batch.dtype}; feed the "
            "uint8 crop (a prep cache) or use a float-input engine"
        )


def with_uint8_input(src: str, dst: str, core: Any) -> str:
    """Write ``src`` with the normalization prepended (uint8 input) to ``dst``; return ``dst``."""
    import onnx

    m = onnx.load(src)
    convert_input(m, core.preprocess, "uint8")
    onnx.save(m, dst)
    return dst
