"""The settings objects of compile, export and prep: frozen, validated once, an unknown name one line; each stage's
function takes the object or its fields as keyword options, not both."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from zoobench.errors import DataError, ExportError, ZoobenchError


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"runtime": "nope"}, "compile --runtime must be one of .*got 'nope'"),
        ({"precision": "int4"}, "--precision must be one of fp32, fp16, bf16, int8, got 'int4'"),
        ({"input_dtype": "int8"}, "--input must be float or uint8, got 'int8'"),
    ],
)
def test_bad_compile_settings_are_one_line(kw: dict, message: str) -> None:
    from zoobench.compile import CompileSettings

    with pytest.raises(ZoobenchError, match=message):
        CompileSettings(**kw)


def test_compile_engine_takes_settings_or_options(tmp_path: Path) -> None:
    from zoobench.compile import CompileSettings, compile_engine

    s = CompileSettings(runtime="openvino", input_dtype="float")
    assert (s.precision, s.calibration_limit, s.but(precision="int8").precision) == ("fp32", 300, "int8")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.precision = "int8"  # type: ignore[misc]
    with pytest.raises(DataError, match="pass either a CompileSettings or keyword options, not both"):
        compile_engine(str(tmp_path / "m.onnx"), s, precision="int8")
    with pytest.raises(DataError, match="unknown compile setting\\(s\\): calib"):
        compile_engine(str(tmp_path / "m.onnx"), calib="val/")  # before any export or file
    assert not list(tmp_path.iterdir())


def test_bad_export_settings_are_one_line() -> None:
    from zoobench.export import ExportSettings

    with pytest.raises(ExportError, match="exporter must be one of"):
        ExportSettings(exporter="onnxscript")
    with pytest.raises(ExportError, match="input type must be one of"):
        ExportSettings(input_dtype="int8")
    with pytest.raises(DataError, match="unknown export setting\\(s\\): simplified"):
        ExportSettings.of(simplified=False)
    assert ExportSettings(opset=17).but(simplify=False) == ExportSettings(opset=17, simplify=False)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"fmt": "png"}, "cache format must be npy or bin, got 'png'"),
        ({"workers": -1}, "workers must be >= 0"),
        ({"limit": 0}, "limit must be an integer >= 1"),
        ({"chunk": 0}, "chunk must be >= 1"),
    ],
)
def test_bad_prep_settings_are_one_line(kw: dict, message: str) -> None:
    from zoobench.data.settings import PrepSettings

    with pytest.raises(DataError, match=message):
        PrepSettings(**kw)


def test_prep_cache_takes_settings_or_options(tmp_path: Path) -> None:
    from zoobench.data.cache import prep_cache
    from zoobench.data.settings import PrepSettings
    from zoobench.models.spec import Preprocess

    pp = Preprocess(input_size=(3, 8, 8), resize=8)
    with pytest.raises(DataError, match="pass either a PrepSettings or keyword options, not both"):
        prep_cache(tmp_path, pp, tmp_path / "c", PrepSettings(), chunk=4)
    with pytest.raises(DataError, match="unknown prep setting\\(s\\): format"):
        prep_cache(tmp_path, pp, tmp_path / "c", format="bin")
    assert not (tmp_path / "c").exists()
