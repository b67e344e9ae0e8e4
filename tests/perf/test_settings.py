"""PerfSettings and TuneSettings: frozen, validated once (one line per bad value), passed down whole."""

from __future__ import annotations

import dataclasses

import pytest

from zoobench.errors import DataError
from zoobench.perf.settings import PerfSettings, TuneSettings
from zoobench.runtimes.base import Timing


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"batch_sizes": []}, "batch sizes must be integers >= 1, got \\[\\]"),
        ({"batch_sizes": [1, 0]}, "batch sizes must be integers >= 1, got \\[1, 0\\]"),
        ({"batch_sizes": "1,2"}, "batch sizes must be a list"),
        ({"repeats": 0}, "repeats must be an integer >= 1, got 0"),
        ({"min_iters": 0}, "min iters must be an integer >= 1"),
        ({"warmup": -1}, "warmup must be an integer >= 0"),
        ({"seconds": -0.5}, "seconds must be >= 0"),
        ({"data_kind": "noise"}, "data must be one of random, zero, got 'noise'"),
    ],
)
def test_bad_perf_settings_are_one_line(kw: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        PerfSettings(**kw)


def test_perf_settings_are_frozen_tuples_and_copied_with_changes_validated() -> None:
    s = PerfSettings(batch_sizes=[1, 8], runtimes=["openvino"])
    assert s.batch_sizes == (1, 8) and s.runtimes == ("openvino",) and s.precisions is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.repeats = 5  # type: ignore[misc]
    t = s.but(precisions=["fp32", "int8"], workdir="w")
    assert (t.batch_sizes, t.precisions, t.workdir, s.workdir) == ((1, 8), ("fp32", "int8"), "w", None)
    with pytest.raises(DataError, match="repeats"):
        s.but(repeats=0)
    with pytest.raises(DataError, match="unknown perf setting\\(s\\): batch, runtime"):
        PerfSettings.of(batch=8, runtime="openvino")
    assert PerfSettings.of(batch_sizes=[2]).timing() == Timing(seconds=1.0, min_iters=5, warmup=3, data="random")


def test_do_perf_takes_settings_or_options_not_both() -> None:
    from zoobench.perf.sweep import do_perf

    with pytest.raises(DataError, match="pass either a PerfSettings or keyword options, not both"):
        do_perf("m.onnx", PerfSettings(), repeats=2)
    with pytest.raises(DataError, match="unknown perf setting\\(s\\): batch_size"):
        do_perf("m.onnx", batch_size=2)  # checked before any export or file


def test_tune_settings_check_the_budget_and_batches() -> None:
    t = TuneSettings("onnxruntime", "fp32", [1, 4], budget_s=10.0)
    assert t.batch_sizes == (1, 4) and not t.deep and t.threads is None
    with pytest.raises(DataError, match="--budget must be more than 0 seconds, got 0"):
        TuneSettings("onnxruntime", "fp32", [1], budget_s=0.0)
    with pytest.raises(DataError, match="batch sizes must be integers >= 1"):
        TuneSettings("onnxruntime", "fp32", [0])
    with pytest.raises(DataError, match="unknown tune setting\\(s\\): budget"):
        TuneSettings.of(runtime="onnxruntime", precision="fp32", budget=3)
