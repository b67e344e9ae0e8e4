"""RunConfig: the run's InferSettings and PerfSettings held whole, built once from the run's options."""

from __future__ import annotations

import dataclasses
import json

import pytest

from zoobench.errors import DataError
from zoobench.infer.settings import InferSettings
from zoobench.perf.settings import PerfSettings
from zoobench.run.config import RunConfig

# run.json's "config", as the flat dataclass RunConfig was wrote it (names, order, defaults): kept byte for byte
OLD_DEFAULT_RECORD = (
    '{"data": null, "labels": null, "weights": null, "model_weights": {}, "variant": null, "runtimes": '
    '["onnxruntime"], "precisions": ["fp32"], "batch_sizes": [1, 4, 8, 16, 32, 64], "infer_batch_size": 16, '
    '"seconds": 1.0, "repeats": 3, "min_iters": 5, "warmup": 3, "threads": null, "tolerance": 1.0, "reference": '
    'null, "limit": null, "quiet": false, "ray": null, "actors": null, "cpus_per_actor": null, "score": "all", '
    '"calibration": null, "calibration_images": null, "seed": 0, "max_drop": "1.0", "accuracy_control": false, '
    '"decoder": "reference", "tune": null}'
)


def test_options_go_to_the_settings_they_belong_to() -> None:
    cfg = RunConfig.of(
        data="d", labels="l.txt", infer_batch_size=8, threads=2, limit=40, batch_sizes=[1, 2], seconds=0.5,
        runtimes=["onnxruntime", "openvino"], precisions=["fp32", "int8"], reference=(76.1, None), tune=5.0,
        decoder="fast", weights="random", model_weights={"m": "m.pth"},
    )  # fmt: skip
    assert isinstance(cfg.infer, InferSettings) and isinstance(cfg.perf, PerfSettings)
    assert (cfg.infer.labels, cfg.infer.batch_size, cfg.infer.threads, cfg.infer.limit) == ("l.txt", 8, 2, 40)
    assert (cfg.infer.decoder, cfg.infer.reference, cfg.infer.quiet) == ("fast", (76.1, None), True)
    assert (cfg.perf.batch_sizes, cfg.perf.seconds, cfg.perf.threads, cfg.perf.quiet) == ((1, 2), 0.5, 2, True)
    assert cfg.columns() == [("onnxruntime", "fp32"), ("onnxruntime", "int8"), ("openvino", "fp32"),
                             ("openvino", "int8")]  # fmt: skip
    assert (cfg.data, cfg.tune, cfg.weights_for("m"), cfg.weights_for("other")) == ("d", 5.0, "m.pth", "random")


def test_bad_options_are_one_line_and_the_config_is_frozen() -> None:
    with pytest.raises(DataError, match="unknown run setting\\(s\\): batch_size"):
        RunConfig.of(batch_size=8)
    with pytest.raises(DataError, match="threads must be >= 1"):
        RunConfig.of(threads=0)
    with pytest.raises(DataError, match="batch sizes must be integers >= 1"):
        RunConfig.of(batch_sizes=[0])
    cfg = RunConfig.of()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.score = "none"  # type: ignore[misc]
    assert cfg.but(score="none").score == "none" and cfg.score == "all"


def test_run_json_keeps_the_flat_config_it_always_had() -> None:
    assert json.dumps(RunConfig().record()) == OLD_DEFAULT_RECORD
    assert RunConfig.of().record() == RunConfig().record()
    cfg = RunConfig.of(infer_batch_size=4, threads=3, batch_sizes=[2], reference=(70.0, 90.0), quiet=True)
    rec = cfg.record()
    assert (rec["infer_batch_size"], rec["threads"], rec["batch_sizes"], rec["reference"]) == (4, 3, [2], [70.0, 90.0])
    assert list(rec) == list(json.loads(OLD_DEFAULT_RECORD)) and rec["quiet"] is True
