"""The seeds' Ascend throughput per batch size (SEED_SPEC §1), shown beside our own numbers.

These are figures the ModelZoo READMEs publish for the Ascend 310P3 NPU (ais_bench, samples/s).
They are quotes, not measurements of zoobench; the report labels them as such.
"""

from __future__ import annotations

SEED_DEVICE = "Ascend 310P3 (ModelZoo README)"

SEED_NPU_FPS: dict[str, dict[int, float]] = {
    "wide_resnet50_2": {1: 748.088, 4: 1742.709, 8: 1951.064, 16: 1832.706, 32: 2097.663, 64: 1171.403},
    "mnasnet1_0": {1: 3382.046, 4: 7611.755, 8: 9909.894, 16: 10650.988, 32: 9632.116, 64: 6643.657},
    "xception": {1: 799.4563, 4: 1374.5468, 8: 1491.660, 16: 1506.938, 32: 1424.2953, 64: 829.0842},
    # The current DINO table scales linearly with bs (a throughput x bs error); the older table is quoted.
    "dino_resnet50": {1: 1378.5, 4: 3317.4, 8: 3678.53, 16: 2708.79, 32: 2579.54, 64: 4248.18},
    "resnest50": {1: 435.0, 4: 1704.0, 8: 1630.0, 16: 1326.0, 32: 1161.0, 64: 1107.0},
}


def seed_fps(model: str) -> dict[int, float]:
    """The seeds' NPU throughput per batch size for ``model`` (a registry name, variants stripped)."""
    return dict(SEED_NPU_FPS.get(model.split(":")[0], {}))
