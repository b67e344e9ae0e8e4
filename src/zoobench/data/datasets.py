"""Image folders and the seeds' ``val_label.txt`` label files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from zoobench.errors import DataError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def image_key(path_or_name: str | os.PathLike[str]) -> str:
    """The name that pairs an image, its label and its prediction.

    The seeds use the file name up to its first ``.`` (``ILSVRC2012_val_00000001.JPEG`` →
    ``ILSVRC2012_val_00000001``); directories are dropped. A name that starts with ``.`` keeps its
    whole name rather than becoming empty.
    """
    name = os.path.basename(os.fspath(path_or_name))
    return name.split(".")[0] or name


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Whether the file name has one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


def scan_folder(folder: str | os.PathLike[str]) -> tuple[list[Path], list[Path]]:
    """Split a flat folder's files into images and other files, each sorted by name.

    Subfolders are not descended into and are in neither list.

    Raises:
        DataError: the folder does not exist or is not a directory.
    """
    root = Path(folder)
    if not root.exists():
        raise DataError(f"image folder {root} does not exist")
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    images: list[Path] = []
    others: list[Path] = []
    with os.scandir(root) as entries:
        for entry in entries:
            if not entry.is_file():
                continue
            (images if is_image_file(entry.name) else others).append(root / entry.name)
    images.sort(key=lambda p: p.name)
    others.sort(key=lambda p: p.name)
    return images, others


def scan_dataset(folder: str | os.PathLike[str]) -> tuple[list[Path], list[Path], dict[str, int] | None]:
    """Images of a flat folder, or of a class-folder layout (``val/n01440764/*.JPEG``).

    A folder with no image files directly in it but with subfolders is read as class folders: the sorted
    subfolder names are classes ``0..n-1`` (torchvision ``ImageFolder`` / caffe sorted-wnid order) and
    images are listed by (class folder, name).

    Returns:
        ``(images, others, folder_labels)``: image paths, other files (both sorted), and
        ``{image_key: class id}`` for a class-folder layout, else ``None``.

    Raises:
        DataError: the folder does not exist or is not a directory.
    """
    images, others = scan_folder(folder)
    if images:
        return images, others, None
    root = Path(folder)
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if not classes:
        return images, others, None
    labels: dict[str, int] = {}
    for cid, cls in enumerate(classes):
        sub_images, sub_others = scan_folder(root / cls)
        images.extend(sub_images)
        others.extend(sub_others)
        for p in sub_images:
            labels[image_key(p.name)] = cid
    return images, others, labels


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """The image files of a flat folder, sorted by name.

    Raises:
        DataError: the folder is missing or holds no image files.
    """
    images, others = scan_folder(folder)
    if not images:
        root = Path(folder)
        subdirs = sum(1 for p in root.iterdir() if p.is_dir())
        hint = f"; it has {subdirs} subfolder(s): images must be directly in the folder" if subdirs else ""
        exts = ", ".join(sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS))
        raise DataError(f"no images in {root} ({len(others)} other file(s); looked for {exts}){hint}")
    return images


def _line_error(path: Path, lineno: int, line: str, reason: str) -> DataError:
    return DataError(f"{path}, line {lineno}: {reason}: {line.strip()!r}")


def read_labels(path: str | os.PathLike[str], num_classes: int = 1000) -> dict[str, int]:
    """Read a ``val_label.txt`` file: one ``<image file name> <class id>`` per line.

    Blank lines are skipped; fields may be separated by any whitespace (the seeds write one space).

    Args:
        path: the label file.
        num_classes: labels must lie in ``[0, num_classes)``.

    Returns:
        ``{image_key(name): class_id}`` in file order.

    Raises:
        DataError: the file is missing or unreadable, or a line is malformed, has a label out of range or
            repeats an image; the message names the file, the line number and shows the line.
    """
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise DataError(f"label file {p} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"label file {p} cannot be read: {exc}") from exc
    labels: dict[str, int] = {}
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue

        if len(fields) != 2:
            raise _line_error(p, lineno, line, f"expected 2 columns '<image> <label>', got {len(fields)}")
        name, value = fields
        try:
            label = int(value)
        except ValueError:
            raise _line_error(p, lineno, line, f"label {value!r} is not an integer") from None
        if not 0 <= label < num_classes:
            raise _line_error(p, lineno, line, f"label {label} is out of range [0, {num_classes})")
        key = image_key(name)
        if key in labels:
            raise _line_error(p, lineno, line, f"image {key} already labeled on line {first_line[key]}")
        labels[key] = label
        first_line[key] = lineno
    if not labels:
        raise DataError(f"label file {p} holds no labels")
    return labels


def check_strict(strict: bool, skipped: Sequence[tuple[str, str]]) -> None:
    """``--strict``: the first skipped file stops the run, in one line naming it and why."""
    if strict and skipped:
        raise DataError(f"--strict: {skipped[0][0]}: {skipped[0][1]}")
