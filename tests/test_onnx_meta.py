"""An ONNX file's metadata is read from its wire format without importing onnx: the same entries as onnx.load,
one clear error for what is not a model, and a process that only asks a file what it is never imports onnx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")

from zoobench.artifact import read_metadata  # noqa: E402
from zoobench.errors import ZoobenchError  # noqa: E402
from zoobench.onnx_meta import NotOnnx, metadata_props  # noqa: E402


def _model(path: Path, props: dict[str, str]) -> Path:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.arange(4096, dtype=np.float32), "w")  # an initializer the reader skips
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4096])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4096])], [w],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="zb", model_version=7)
    helper.set_model_props(model, props)
    model.doc_string = "fields before and after the graph"
    onnx.save(model, str(path))
    return path


def test_the_entries_are_onnx_loads_in_order(tmp_path: Path) -> None:
    props = {"zoobench.model": '"m"', "zoobench.preprocess": '{"resize": 256}', "other": "ünïcode ✓", "": ""}
    path = _model(tmp_path / "m.onnx", props)
    loaded = [(p.key, p.value) for p in onnx.load(str(path)).metadata_props]
    assert metadata_props(path) == loaded and dict(loaded) == props
    assert read_metadata(path) == {"model": "m", "preprocess": {"resize": 256}}
    assert metadata_props(_model(tmp_path / "none.onnx", {})) == []


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"not a protobuf", "wire type"),
        (b"", "no graph"),
        (b"\x08\x07", "no graph"),  # a valid ir_version and nothing else
        (b"\x3a\xff\x01abc", "runs past the end"),  # the graph's length promises 255 bytes, 3 follow
        (b"\x72\x04\x0a\x02\xff\xfe\x3a\x00", "not UTF-8"),  # a metadata key that is not text
        (b"\x08\x80", "truncated varint"),
    ],
)
def test_what_is_not_a_model_is_one_clear_error(tmp_path: Path, content: bytes, said: str) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(content)
    with pytest.raises(NotOnnx, match=said):
        metadata_props(bad)
    with pytest.raises(ZoobenchError, match="not a readable ONNX model"):
        read_metadata(bad)


def test_cut_short_anywhere_the_file_is_refused_or_still_reads_as_a_prefix(tmp_path: Path) -> None:
    """A model cut at any byte never reads as more than it holds: an error, or (cut between fields after the
    graph) the entries that are wholly there."""
    whole = _model(tmp_path / "m.onnx", {"a": "1", "b": "2"}).read_bytes()
    cut = tmp_path / "cut.onnx"
    full = metadata_props(tmp_path / "m.onnx")
    for n in range(0, len(whole), 97):
        cut.write_bytes(whole[:n])
        try:
            got = metadata_props(cut)
        except NotOnnx:
            continue
        assert got == full[: len(got)]


def test_a_process_that_reads_metadata_never_imports_onnx_or_torch(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    path = _model(tmp_path / "m.onnx", {"zoobench.model": '"m"'})
    code = (
        "import sys; from zoobench.artifact import read_metadata; from zoobench.engines.recipe import torch_version\n"
        f"assert read_metadata({str(path)!r}) == {{'model': 'm'}}\n"
        "v = torch_version()\n"
        "assert 'onnx' not in sys.modules and 'torch' not in sys.modules, 'imported'\n"
        "import torch; assert v == torch.__version__, (v, torch.__version__)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
