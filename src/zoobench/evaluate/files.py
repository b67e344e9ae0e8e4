"""The files people and the seeds' scripts read: predictions.csv (ids, probabilities, class names, labels) and
the seeds' result.json, written atomically, read back for eval of earlier runs."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from zoobench.classes import class_name
from zoobench.errors import DataError
from zoobench.io import atomic_open, write_text
from zoobench.predictions import Predictions

PathLike = str | os.PathLike[str]


def _header(k: int, with_labels: bool, with_names: bool = True) -> list[str]:
    cols = ["image", *(f"top{i}" for i in range(1, k + 1)), *(f"prob{i}" for i in range(1, k + 1))]
    if with_names:
        cols += [f"name{i}" for i in range(1, k + 1)]
    return [*cols, "label"] if with_labels else cols


def write_predictions(
    path: PathLike,
    names: Sequence[str],
    topk_ids: np.ndarray,
    topk_probs: np.ndarray,
    labels: Sequence[int | None] | None = None,
) -> None:
    """Write ``predictions.csv`` atomically.

    Columns: ``image,top1..top5,prob1..prob5,name1..name5`` (the ImageNet class names of the ids) and
    ``label`` when labels are given (an empty cell for an image without one). Probabilities are ``%.6f``.

    Args:
        path: the CSV file.
        names: image file names, one per row of ``topk_ids`` / ``topk_probs`` ((N, k) arrays).
        labels: optional true class per image.
    """
    ids, probs = np.asarray(topk_ids), np.asarray(topk_probs)
    n_labels = len(names) if labels is None else len(labels)
    if ids.ndim != 2 or ids.shape != probs.shape or ids.shape[0] != len(names) or n_labels != len(names):
        raise ValueError(f"{len(names)} names, {n_labels} labels, ids {ids.shape}, probs {probs.shape}")
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(_header(ids.shape[1], labels is not None))
        for i, (row_ids, row_probs) in enumerate(zip(ids.tolist(), probs.tolist(), strict=True)):
            row = [names[i], *map(str, row_ids), *(f"{v:.6f}" for v in row_probs), *map(class_name, row_ids)]
            if labels is not None:
                label = labels[i]
                row.append("" if label is None else str(int(label)))
            writer.writerow(row)


def read_predictions(path: PathLike) -> Predictions:
    """Read a file written by :func:`write_predictions`.

    Raises:
        DataError: the file is missing, its header is not a predictions header, or a row is malformed
            (the message gives the line number).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"predictions file {p} cannot be read: {exc}") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None) or []
    k = sum(1 for c in header if c.startswith("top"))
    with_labels = header[-1:] == ["label"]
    with_names = f"name{k}" in header  # files written before the names existed have none
    if k == 0 or header != _header(k, with_labels, with_names):
        want = "image,top1..topK,prob1..probK[,name1..nameK][,label]"
        raise DataError(f"{p}, line 1: not a predictions header (want {want}): {header}")
    names: list[str] = []
    ids: list[list[int]] = []
    probs: list[list[float]] = []
    labels: list[int | None] = []
    for row in reader:
        if not row:
            continue
        line = reader.line_num
        if len(row) != len(header):
            raise DataError(f"{p}, line {line}: expected {len(header)} columns, got {len(row)}: {row}")
        try:
            ids.append([int(v) for v in row[1 : k + 1]])
            probs.append([float(v) for v in row[k + 1 : 2 * k + 1]])
            if with_labels:
                labels.append(int(row[-1]) if row[-1].strip() else None)
        except ValueError as exc:
            raise DataError(f"{p}, line {line}: bad value ({exc}): {row}") from None
        names.append(row[0])
    return Predictions(
        names=names,
        topk_ids=np.array(ids, dtype=np.int64).reshape(len(names), k),
        topk_probs=np.array(probs, dtype=np.float32).reshape(len(names), k),
        labels=labels if with_labels else None,
    )


def result_json_text(n_images: int, n_classes: int, acc: Sequence[float]) -> str:
    """The seeds' ``result.json``, byte for byte (SEED_SPEC §2.5): one line, no trailing newline.

    Args:
        n_images: images counted.
        n_classes: the number of scores per image.
        acc: top-1..top-5 accuracy as fractions.
    """
    if len(acc) != 5:
        raise ValueError(f"result.json holds exactly 5 accuracies, got {len(acc)}")
    values = [
        {"key": "Number of images", "value": str(n_images)},
        {"key": "Number of classes", "value": str(n_classes)},
        # np.float64: the seeds round a numpy scalar (np.round's algorithm), not a Python float.
        *(
            {"key": f"Top{i} accuracy", "value": str(round(np.float64(a) * 100, 2)) + "%"}
            for i, a in enumerate(acc, start=1)
        ),
    ]
    return json.dumps({"title": "Overall statistical evaluation", "value": values})


def write_result_json(path: PathLike, n_images: int, n_classes: int, acc: Sequence[float]) -> None:
    """Write :func:`result_json_text` atomically."""
    write_text(path, result_json_text(n_images, n_classes, acc))
