"""An ONNX file's ``metadata_props``, read from its protobuf wire format without importing ``onnx``.

``onnx.load`` parses the whole model (every initializer of a 270 MB Wide-ResNet) and importing ``onnx`` costs
~0.7 s of one core (its ``ml_dtypes`` extension), paid by every process that only asks a model file what it is: a
LoadGen test's child, ``eval``, a report. ModelProto keeps its metadata in field 14 (``repeated
StringStringEntryProto``: key = 1, value = 2); every other field is skipped by its length, without reading it.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

METADATA_PROPS = 14  # ModelProto.metadata_props
GRAPH = 7  # ModelProto.graph: every model has one


class NotOnnx(ValueError):
    """The bytes are not a protobuf ModelProto (a truncated file, a wrong wire type, no graph)."""


def _varint(f: BinaryIO) -> int | None:
    """One base-128 varint; None at the end of the file before its first byte."""
    value = shift = 0
    while True:
        b = f.read(1)
        if not b:
            if shift:
                raise NotOnnx("truncated varint")
            return None
        value |= (b[0] & 0x7F) << shift
        if not b[0] & 0x80:
            return value
        shift += 7
        if shift > 63:
            raise NotOnnx("varint longer than 10 bytes")


def _entry(raw: bytes) -> tuple[str, str]:
    """One StringStringEntryProto: (key, value)."""
    import io

    f, out = io.BytesIO(raw), {1: "", 2: ""}
    while (tag := _varint(f)) is not None:
        field, wire = tag >> 3, tag & 7
        if wire != 2:
            raise NotOnnx(f"metadata entry field {field} has wire type {wire}")
        n = _varint(f) or 0
        data = f.read(n)
        if len(data) != n:
            raise NotOnnx("truncated metadata entry")
        if field in out:
            try:
                out[field] = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise NotOnnx(f"metadata entry is not UTF-8 ({exc.reason})") from None
    return out[1], out[2]


def metadata_props(path: str | Path) -> list[tuple[str, str]]:
    """``[(key, value), ...]`` of the ModelProto in ``path``, in file order.

    Raises:
        NotOnnx: the file is not a ModelProto (a bad wire type, a field running past the end, no graph).
        OSError: it cannot be read.
    """
    props: list[tuple[str, str]] = []
    seen_graph = False
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        while (tag := _varint(f)) is not None:
            field, wire = tag >> 3, tag & 7
            if field == 0:
                raise NotOnnx("field number 0")
            if wire == 0:
                if _varint(f) is None:
                    raise NotOnnx("truncated varint")
            elif wire in (1, 5):
                skip = 8 if wire == 1 else 4
                if f.tell() + skip > size:
                    raise NotOnnx("truncated fixed-width field")
                f.seek(skip, 1)
            elif wire == 2:
                n = _varint(f)
                if n is None or f.tell() + n > size:
                    raise NotOnnx(f"field {field} runs past the end of the file")
                if field == METADATA_PROPS:
                    props.append(_entry(f.read(n)))
                else:
                    seen_graph |= field == GRAPH
                    f.seek(n, 1)
            else:
                raise NotOnnx(f"field {field} has wire type {wire}, which ModelProto never uses")
    if not seen_graph:
        raise NotOnnx("no graph")
    return props
