"""The seeds' hardware, as the five guides in ``shared/seeds/`` print it: throughput per batch size (img/s) on the
Ascend 310 (per card: the guides' per-device ``Interface throughputRate`` × 4), the 310P (the Mnasnet guide calls
it 710), the 310P after AOE tuning, and an NVIDIA T4 (trtexec, fp16). Quotes, not measurements: the report and
``compare`` label them so. Where a guide disagrees with itself or with a later version of the same guide, the guide
is quoted and the difference is noted beside it. Each column names its guide as a reader can find it: the model,
the guide's title and section (in English: the report's fonts have no CJK glyphs) and the public document set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEVICES = ("310", "310P", "310P-AOE", "T4")
DEVICE_NAMES = {
    "310": "Ascend 310, per card (4 devices × benchmark's per-device figure)",
    "310P": "Ascend 310P (the Mnasnet guide's '710')",
    "310P-AOE": "Ascend 310P after AOE tuning",
    "T4": "NVIDIA T4 (TensorRT trtexec, fp16)",
}
# What precision the quoted figures ran at: the guides call atc without --precision_mode, whose default on the
# 310 / 310P runs the .om in fp16, and time the T4 with `trtexec --fp16`.
DEVICE_PRECISION = {
    "310": "fp16 (atc default)",
    "310P": "fp16 (atc default)",
    "310P-AOE": "fp16 (atc default)",
    "T4": "fp16 (trtexec --fp16)",
}


@dataclass(frozen=True)
class SeedColumn:
    """One hardware column of one guide's performance table."""

    device: str
    fps: dict[int, float]
    source: str
    note: str = ""
    best: tuple[int, float] | None = None  # the guide's own best-batch row (batch, img/s), where it prints one

    def best_row(self) -> tuple[int, float]:
        """The best batch as the guide prints it, else the highest figure of the column."""
        return self.best or max(self.fps.items(), key=lambda kv: kv[1])


@dataclass(frozen=True)
class GuideRatio:
    """A ratio column as the guide prints it (to check that ``compare`` reproduces it from the guide's columns)."""

    numerator: str
    denominator: str
    by_batch: dict[int, str]  # batch -> the ratio as printed (a string: its trailing zeros are its precision)
    best: str | None = None
    skip: dict[int, str] = field(default_factory=dict)  # batch -> why the guide's own figure is not reproducible
    skip_best: str = ""  # why the guide's best-over-best ratio is not reproducible, if it is not


_ZOO = "Ascend ModelZoo-PyTorch (gitee.com/ascend/ModelZoo-PyTorch)"
_WRN = f"Wide_ResNet50_2 ONNX model end-to-end inference guide, {_ZOO}, §7 Performance comparison"
_MNAS = (
    f"Mnasnet1.0 ONNX model end-to-end inference guide, {_ZOO}, §7.3 Performance comparison "
    "(columns 310/FPS, 710/FPS, T4/FPS)"
)
_XCP = f"Xception model end-to-end inference guide, {_ZOO}, §7.1 NPU performance data"
_DINO = f"Dino_Resnet50 ONNX model PyTorch offline inference guide, {_ZOO}, §7.4 Performance comparison"
_RSN = f"ResNeSt model inference guide, {_ZOO}, section 'Model inference performance & accuracy'"
_LATER = "the guide's later version (ModelZoo-PyTorch, December 2023)"

SEED_TABLES: dict[str, dict[str, SeedColumn]] = {
    "wide_resnet50_2": {
        "310": SeedColumn(
            "310",
            {1: 830.52, 4: 1065.75, 8: 1066.03, 16: 1162.01, 32: 967.48, 64: 802.78},
            _WRN,
            "the best-batch row prints '162.01' for bs16's 1162.01 (a digit lost); its ratios use 1162.01",
            best=(16, 1162.01),
        ),
        "310P": SeedColumn(
            "310P",
            {1: 731.72, 4: 1674.09, 8: 1655.68, 16: 1580.17, 32: 1592.23, 64: 1042.48},
            _WRN,
            f"{_LATER} has another 310P3 table (ais_bench: bs1 748.088 … bs64 1171.403); this is the older guide's",
            best=(4, 1674.09),
        ),
        "310P-AOE": SeedColumn(
            "310P-AOE",
            {4: 1729.43},
            _WRN,
            "printed '1729,43' (a comma for the decimal point); bs4 only",
            best=(4, 1729.43),
        ),
        "T4": SeedColumn(
            "T4", {1: 487.12, 4: 783.15, 8: 893.28, 16: 986.95, 32: 1046.79, 64: 1076.90}, _WRN, best=(64, 1076.90)
        ),
    },
    "mnasnet1_0": {
        "310": SeedColumn(
            "310",
            {1: 3106.844, 4: 5682.52, 8: 5868.36, 16: 6005.48, 32: 5590.4, 64: 5293.56},
            _MNAS,
            "per card (the guide: 'NPU throughput × 4'); best row '16:6005.48'",
            best=(16, 6005.48),
        ),
        "310P": SeedColumn(
            "310P",
            {1: 2113.01, 4: 6606.25, 8: 8926.09, 16: 9836.44, 32: 10649.9, 64: 5511.77},
            _MNAS,
            "the guide's '710' is the 310P; its §7.1 text gives bs8 8926.07 where the table gives 8926.09; "
            f"{_LATER} has another 310P3 table (ais_bench: bs1 3382.046 … bs64 6643.657)",
            best=(32, 10649.9),
        ),
        "T4": SeedColumn(
            "T4",
            {1: 1872.54, 4: 4004.645, 8: 4633.818, 16: 4655.534, 32: 4689.016, 64: 4674.638},
            _MNAS,
            "trtexec --fp16, 1000 × batch / mean latency; §7.2 text gives bs8 4633.813",
            best=(32, 4689.016),
        ),
    },
    "xception": {
        "310": SeedColumn(
            "310",
            {1: 634.492, 4: 728.86, 8: 813.428, 16: 795.46, 32: 657.208},
            _XCP,
            "per-device Interface throughputRate × 4 (158.623, 182.215, 203.357, 198.865, 164.302); no bs64, "
            f"no best row, no 310P or T4 column in this guide ({_LATER} has 310P3 figures, bs1 799.4563 … "
            "bs64 829.0842)",
        ),
    },
    "dino_resnet50": {
        "310": SeedColumn(
            "310",
            {1: 1617.052, 4: 2161.044, 8: 2410.052, 16: 2441.26, 32: 5279.8, 64: 2244.78},
            _DINO,
            "bs32 '5279.8' is above the guide's own best row (2441.26, bs16) and its bs32 ratios use 2244.78: "
            "most likely a typo in the guide",
            best=(16, 2441.26),
        ),
        "310P": SeedColumn(
            "310P",
            {1: 1378.5, 4: 3317.4, 8: 3678.53, 16: 2708.79, 32: 2579.54, 64: 4248.18},
            _DINO,
            f"{_LATER} has a table that scales with the batch (1378.7 … 87537, a throughput × bs error)",
            best=(64, 4248.18),
        ),
        "T4": SeedColumn(
            "T4",
            {1: 878.742, 4: 1532.616, 8: 1733.528, 16: 1858.176, 32: 2033.92, 64: 2090.9376},
            _DINO,
            best=(64, 2090.9376),
        ),
    },
    "resnest50": {
        "310P": SeedColumn(
            "310P",
            {1: 435.0, 4: 1704.0, 8: 1630.0, 16: 1326.0, 32: 1161.0},
            _RSN,
            f"Ascend310P3, ais_bench; the guide's table stops at bs32 ({_LATER} adds bs64 1107); no best row, "
            "no 310 or T4 column",
        ),
    },
}

# The ratio columns the guides print, per model: compare's A/B of the guide's own columns must give these.
GUIDE_RATIOS: dict[str, list[GuideRatio]] = {
    "wide_resnet50_2": [
        GuideRatio("310P-AOE", "310", {4: "1.62273"}, "1.48830"),
        GuideRatio(
            "310P-AOE",
            "T4",
            {4: "2.20829"},
            "1.60592",
            skip_best="the guide prints 1.60592; its own columns give 1729.43 / 1076.90 = 1.60593",
        ),
    ],
    "mnasnet1_0": [
        GuideRatio(
            "310P",
            "310",
            {1: "0.68011", 4: "1.16256", 8: "1.52105", 16: "1.63791", 32: "1.90503", 64: "1.04122"},
            "1.77336",
        ),
        GuideRatio(
            "310P",
            "T4",
            {1: "1.12842", 4: "1.64965", 8: "1.92639", 16: "2.11285", 32: "2.27124", 64: "1.17908"},
            "2.27125",
            skip={8: "the guide prints 1.92639; its own columns give 8926.09 / 4633.818 = 1.92629"},
        ),
    ],
    "dino_resnet50": [
        GuideRatio(
            "310P",
            "310",
            {
                1: "0.852477224",
                4: "1.535091373",
                8: "1.526328063",
                16: "1.109586853",
                32: "1.1491282",
                64: "2.492466593",
            },
            "1.74015877",
            skip={
                32: "the guide divides by 2244.78 (its bs64 310 figure), not by its bs32 5279.8",
                64: "the guide prints 2.492466593; its own columns give 4248.18 / 2244.78 = 1.89247",
            },
        ),
        GuideRatio(
            "310P",
            "T4",
            {
                1: "1.568719829",
                4: "2.164534365",
                8: "2.12199053",
                16: "1.457768263",
                32: "1.268260305",
                64: "2.031710559",
            },
            "2.031710559",
        ),
    ],
}


def seed_column(model: str, device: str) -> SeedColumn | None:
    """The guide's column for ``model`` (a registry name; ``timm:``/variants stripped) on ``device``."""
    return SEED_TABLES.get(model.split(":")[0], {}).get(device)


def seed_devices() -> list[str]:
    """The devices some guide has a column for, in the guides' order."""
    return [d for d in DEVICES if any(d in cols for cols in SEED_TABLES.values())]
