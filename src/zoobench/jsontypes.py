"""The JSON a result serializes to, as a type: what ``to_dict`` and the documents zoobench writes return.

``JsonValue`` is recursive (a list or object of JSON values), so mypy rejects what ``json.dumps`` would: a numpy
scalar, a ``Path``, a dataclass left unconverted. It types a serializer's output, not a record that code reads
field by field: those are dataclasses (perf/results.py, evaluate/record.py) or TypedDicts."""

from __future__ import annotations

from typing import TypeAlias

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"
