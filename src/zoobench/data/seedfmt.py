"""The seeds' inference output formats (SEED_SPEC §2.4, §2.6): writing ais_bench-style dumps, reading them back.

ais_bench ``--outfmt TXT`` writes ``<stem>_0.txt``: one line of the output's values, ``%f`` each followed by
one space, then ``\\n``; ``BIN`` is ``ndarray.tofile`` (float32); ``NPY`` is ``np.save``. The seeds'
postprocess pairs a file with its image by dropping the last ``_N`` (``temp[:temp.rfind('_')]``), and
reads only the first line of a TXT file. The ais_bench ``*_summary.json`` lists ``filesinfo`` in order and
is paired with the label file by position.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

from zoobench.data.datasets import image_key
from zoobench.errors import DataError
from zoobench.io import write_bytes, write_text

DUMP_FORMATS = ("txt", "bin", "npy")


def txt_line(row: np.ndarray) -> str:
    """One ais_bench TXT output line: ``np.savetxt(f, np.c_[row], fmt="%f", newline=" ")`` + ``\\n``."""
    return "".join(f"{v:f} " for v in np.asarray(row, dtype=np.float32).ravel().tolist()) + "\n"


def dump_output(folder: str | os.PathLike[str], name: str, row: np.ndarray, fmt: str, index: int = 0) -> Path:
    """Write one image's output as ais_bench does: ``<stem>_<index>.<fmt>`` (atomic)."""
    if fmt not in DUMP_FORMATS:
        raise DataError(f"dump format must be one of {', '.join(DUMP_FORMATS)}, got {fmt!r}")
    path = Path(folder) / f"{image_key(name)}_{index}.{fmt}"
    arr = np.asarray(row, dtype=np.float32)
    if fmt == "txt":
        write_text(path, txt_line(arr))
    elif fmt == "bin":
        write_bytes(path, arr.tobytes())
    else:
        buf = io.BytesIO()
        np.save(buf, arr)
        write_bytes(path, buf.getvalue())
    return path


def seed_name(file_name: str) -> str:
    """The image key the seeds derive from an output file name: drop the extension, then the last ``_N``."""
    temp = file_name.split(".")[0]
    cut = temp.rfind("_")
    return temp[:cut] if cut > 0 else temp


def read_output_file(path: str | os.PathLike[str], num_classes: int | None = None) -> np.ndarray:
    """Scores of one dumped output file (.txt first line, .bin float32, .npy).

    Raises:
        DataError: unreadable, empty, or not a multiple of ``num_classes`` values for .bin.
    """
    p = Path(path)
    ext = p.suffix.lower()
    try:
        if ext == ".txt":
            with open(p, encoding="utf-8") as fh:
                first = fh.readline()
            vals = first.strip().split()
            if not vals:
                raise DataError(f"{p}: empty output file")
            return np.asarray([float(v) for v in vals], dtype=np.float32)
        if ext == ".bin":
            arr = np.fromfile(p, dtype=np.float32)
        elif ext == ".npy":
            arr = np.load(p).astype(np.float32).ravel()
        else:
            raise DataError(f"{p}: not a .txt/.bin/.npy output file")
    except (OSError, ValueError) as exc:
        raise DataError(f"{p}: cannot read output ({exc})") from exc
    if arr.size == 0:
        raise DataError(f"{p}: empty output file")
    if num_classes and ext == ".bin" and arr.size != num_classes:
        raise DataError(f"{p}: {arr.size} float32 values, expected {num_classes}")
    return arr


def read_dump_dir(folder: str | os.PathLike[str]) -> tuple[list[str], np.ndarray]:
    """All output files of a dump directory, paired by the seeds' name rule.

    Only output index 0 is used when a file name ends in ``_<N>`` with other indices present.

    Returns:
        ``(keys, scores)``: image keys sorted, and their (N, C) float32 scores.

    Raises:
        DataError: no output files, two files for one image, or rows of different lengths.
    """
    root = Path(folder)
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in (".txt", ".bin", ".npy"))
    by_key: dict[str, Path] = {}
    for p in files:
        stem = p.name.split(".")[0]
        if "_" in stem and stem.rsplit("_", 1)[1].isdigit() and stem.rsplit("_", 1)[1] not in ("0", "1"):
            continue  # a second model output (…_2.txt)
        key = seed_name(p.name)
        if key in by_key:
            raise DataError(f"two output files for image {key}: {by_key[key].name} and {p.name}")
        by_key[key] = p
    if not by_key:
        raise DataError(f"no .txt/.bin/.npy output files in {root}")
    keys = sorted(by_key)
    rows = [read_output_file(by_key[k]) for k in keys]
    if len({r.size for r in rows}) != 1:
        raise DataError(f"{root}: output files hold different numbers of values")
    return keys, np.stack(rows)


def read_ais_summary(path: str | os.PathLike[str]) -> list[Path]:
    """The output files listed in an ais_bench ``*_summary.json``, in ``filesinfo`` order.

    Relative paths are tried as written, then relative to the summary's folder.
    """
    p = Path(path)
    try:
        info = json.loads(p.read_text())["filesinfo"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{p}: not an ais_bench summary json with 'filesinfo' ({exc})") from exc
    out: list[Path] = []
    for k in info:
        f = Path(info[k]["outfiles"][0])
        if not f.is_file() and not f.is_absolute():
            for base in (p.parent, p.parent.parent):
                if (base / f).is_file():
                    f = base / f
                    break
        out.append(f)
    return out
