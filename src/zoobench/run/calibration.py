"""Held-out calibration: int8 engines calibrate on images that are never scored.

``--calibration DIR`` calibrates on a separate folder (every run image is scored). Otherwise a seeded,
class-stratified pick of ``--calibration-images N`` of the run's own images calibrates, and the rest are
scored. The default N is ``min(300, images // 5)``: 300 is NNCF's default calibration subset (and what
``compile`` reads at most), and a fifth keeps at least 80% of a small set for scoring. A set of fewer than
100 images is too small to split: it calibrates on everything, says so in one line, and each int8 column is
marked ``calibration: in-sample``. The pick is written to ``RUNDIR/<model>/calibration.json`` (both name
lists) and linked into ``RUNDIR/<model>/calibration/`` for the compilers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from zoobench.errors import DataError
from zoobench.io import write_json
from zoobench.run.config import RunConfig

MIN_TO_HOLD_OUT = 100
DEFAULT_MAX = 300
SPLIT_FILE = "calibration.json"


@dataclass
class Split:
    """Which images calibrate and which are scored; ``folder`` is what the compilers read."""

    mode: str  # "held-out" (a pick of the run's images), "folder" (--calibration DIR), "in-sample"
    folder: str
    calibration: list[str]
    held_out: list[str]
    seed: int
    note: str = ""

    @property
    def in_sample(self) -> bool:
        return self.mode == "in-sample"


def default_count(n_images: int) -> int:
    return min(DEFAULT_MAX, n_images // 5)


def stratified_pick(names: list[str], labels: dict[str, int] | None, count: int, seed: int) -> list[str]:
    """``count`` names, the same for the same seed: classes visited round-robin (in a seeded order), a seeded
    shuffle within each class, so every class gives about its share. Without labels: a seeded sample."""
    from zoobench.data.datasets import image_key

    rng = np.random.default_rng(seed)
    if count >= len(names):
        return sorted(names)
    groups: dict[int, list[str]] = {}
    for name in sorted(names):
        key = labels.get(image_key(name), -1) if labels else -1
        groups.setdefault(key, []).append(name)
    order = [groups[k] for k in sorted(groups)]
    for g in order:
        rng.shuffle(g)
    classes = list(range(len(order)))
    rng.shuffle(classes)
    picked: list[str] = []
    depth = 0
    while len(picked) < count:
        for c in classes:
            if depth < len(order[c]) and len(picked) < count:
                picked.append(order[c][depth])
        depth += 1
    return sorted(picked)


def plan_split(
    paths: list[Path],
    labels: dict[str, int] | None,
    *,
    count: int | None,
    folder: str | None,
    seed: int,
    workdir: Path,
) -> Split:
    """The split of the run's images (``paths``, as infer lists them); links the picked ones into ``workdir``."""
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise DataError("two images share a file name; held-out calibration needs unique names (use --calibration)")
    if folder:
        from zoobench.data.datasets import scan_folder

        calib, _ = scan_folder(folder)
        if not calib:
            raise DataError(f"--calibration {folder}: no images")
        return Split("folder", str(Path(folder).resolve()), [p.name for p in calib], sorted(names), seed)
    n = default_count(len(names)) if count is None else count
    if len(names) < MIN_TO_HOLD_OUT or n >= len(names):
        why = (
            f"{len(names)} images are too few to hold out (< {MIN_TO_HOLD_OUT})"
            if len(names) < MIN_TO_HOLD_OUT
            else f"--calibration-images {n} leaves none of the {len(names)} images to score"
        )
        note = f"calibration: {why}: int8 calibrates on all of them, and its columns are marked in-sample"
        return Split("in-sample", "", sorted(names), sorted(names), seed, note)
    picked = set(stratified_pick(names, labels, n, seed))
    _link(workdir, [p for p in paths if p.name in picked])
    held = sorted(x for x in names if x not in picked)
    return Split("held-out", str(workdir.resolve()), sorted(picked), held, seed)


def _link(workdir: Path, paths: list[Path]) -> None:
    """The picked images as links in a flat folder (replaced whole: a stale pick never lingers)."""
    import shutil

    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    for p in paths:
        os.symlink(p.resolve(), workdir / p.name)


def split_for_run(cfg: RunConfig, mdir: Path, log: Callable[[str], None]) -> Split:
    """Which of ``run``'s images int8 calibrates on and which are scored (all of them when no column is int8)."""
    from zoobench.data.datasets import read_labels
    from zoobench.infer.stage import listed_input

    paths = listed_input(cfg.data, cfg.infer.limit).paths or []  # type: ignore[arg-type]
    if (
        all(p != "int8" for _, p in cfg.columns()) or cfg.score == "none"
    ):  # --score none: int8 calibrates as it always did
        (mdir / SPLIT_FILE).unlink(missing_ok=True)
        return Split("none", "", [], sorted(p.name for p in paths), cfg.seed)
    labels = read_labels(cfg.infer.labels) if cfg.infer.labels else None
    split = plan_split(
        paths, labels, count=cfg.calibration_images, folder=cfg.calibration, seed=cfg.seed, workdir=mdir / "calibration"
    )
    write_split(mdir, split, log)
    return split


def write_split(mdir: Path, split: Split, log: Callable[[str], None]) -> None:
    write_json(mdir / SPLIT_FILE, asdict(split))
    if split.note:
        log(f"  {split.note}")
    else:
        where = f"folder {split.folder}" if split.mode == "folder" else f"{len(split.calibration)} of the run's images"
        log(f"  calibration: {where}; {len(split.held_out)} images held out for scoring")


def read_split(mdir: Path) -> Split | None:
    path = mdir / SPLIT_FILE
    if not path.is_file():
        return None
    try:
        return Split(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError):
        return None


def calibration_folder(mdir: Path, data: str | None) -> str | None:
    """What a perf or score column's int8 engine calibrates on: the split's folder, else the run's images."""
    if data is None:
        return None
    split = read_split(mdir)
    if split is not None and split.folder:
        return split.folder
    return data
