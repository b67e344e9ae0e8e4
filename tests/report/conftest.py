"""A small real run shared by the report tests: EfficientNet-Lite0 on the photos + MNASNet with random weights,
made once per session (per xdist worker that runs a report file). Tests read it; one that changes a run works on
its own copy."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory, photos: tuple[Path, Path], lite0_onnx: Path) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    from zoobench.run.chain import RunConfig, run_models

    folder, labels = photos
    root = tmp_path_factory.mktemp("small_run")
    tiny = {"batch_sizes": [1, 2], "seconds": 0.05, "min_iters": 2, "warmup": 1, "quiet": True}
    run_models([str(lite0_onnx)], root, RunConfig.of(data=str(folder), labels=str(labels), infer_batch_size=2, **tiny))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOOBENCH_WEIGHTS", str(tmp_path_factory.mktemp("noweights")))
        run_models(["mnasnet1_0"], root, RunConfig.of(weights="random", precisions=["fp32", "fp16"], **tiny))
    return root
