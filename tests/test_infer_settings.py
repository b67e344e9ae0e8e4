"""InferSettings: frozen, validated once (one line per bad value), passed down whole."""

from __future__ import annotations

import dataclasses

import pytest

from zoobench.errors import DataError
from zoobench.infer.settings import InferSettings


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"batch_size": 0}, "batch size must be an integer >= 1"),
        ({"chunk": 0}, "chunk must be >= 1"),
        ({"workers": -1}, "workers must be >= 0"),
        ({"dump": "png"}, "dump must be one of txt, bin, npy"),
        ({"input_dtype": "int8"}, "input dtype must be one of uint8, float32"),
        ({"tolerance": 0}, "tolerance must be > 0"),
        ({"ray": "local", "dump": "txt"}, "--dump writes files beside the driver"),
    ],
)
def test_bad_settings_are_one_line(kw: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        InferSettings(**kw)


def test_frozen_and_copied_with_changes_validated() -> None:
    s = InferSettings(batch_size=8, runtime="openvino")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.batch_size = 4  # type: ignore[misc]
    t = s.but(precision="bf16", outdir="o")
    assert (t.batch_size, t.runtime, t.precision, t.outdir) == (8, "openvino", "bf16", "o")
    with pytest.raises(DataError, match="chunk"):
        s.but(chunk=0)
    with pytest.raises(DataError, match="unknown infer setting"):
        InferSettings.of(batch=8)
