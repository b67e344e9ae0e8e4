"""Bad input: each kind is decoded where the data allows, else skipped, listed with its reason and counted."""

from __future__ import annotations

import csv
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from datahelp import TINY_PP, write_jpegs
from PIL import Image

from zoobench.data.cache import open_cache, prep_cache
from zoobench.data.decode import decode_one
from zoobench.errors import DataError
from zoobench.infer.stage import do_infer

RUNS_AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 40000, height: int = 40000) -> bytes:
    """A valid PNG header claiming 1.6 G pixels (a few bytes on disk)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def make_bad_folder(root: Path) -> tuple[set[str], set[str]]:
    """Good photos plus every kind of bad input; returns (names that must decode, names that must be skipped)."""
    pytest.importorskip("skimage")
    good = write_jpegs(root, 4)
    rgb = np.asarray(Image.open(good[0]).convert("RGB"))
    ok = {p.name for p in good}
    (root / "zero.JPEG").write_bytes(b"")
    raw = good[1].read_bytes()
    (root / "truncated.JPEG").write_bytes(raw[: len(raw) // 3])
    Image.fromarray(rgb).save(root / "png_named.JPEG", format="PNG")
    Image.fromarray(rgb).convert("CMYK").save(root / "cmyk.JPEG", format="JPEG", quality=90)
    Image.fromarray(rgb).convert("L").save(root / "gray.JPEG", quality=90)
    gray16 = (rgb[..., 0].astype(np.uint16) * 257).astype(np.uint16)
    Image.fromarray(gray16).save(root / "deep16.png")
    (root / "bomb.png").write_bytes(bomb_png())
    (root / "notimage.JPEG").write_text("this is not a JPEG\n")
    (root / "notes.txt").write_text("readme")
    ok |= {"png_named.JPEG", "cmyk.JPEG", "gray.JPEG", "deep16.png"}
    bad = {"zero.JPEG", "truncated.JPEG", "bomb.png", "notimage.JPEG", "notes.txt"}
    return ok, bad


def test_a_file_that_cannot_be_read_gives_its_reason(tmp_path: Path) -> None:
    """Permission denied: root reads a chmod-0 file anyway, so this case can only be made as another user."""
    if RUNS_AS_ROOT:
        pytest.skip("runs as root: chmod 0 does not stop root from reading (the vanished-file test covers unreadable)")
    locked = tmp_path / "locked.JPEG"
    locked.write_bytes(b"\xff\xd8\xff")
    locked.chmod(0)
    chw, why, _, _ = decode_one(locked, TINY_PP)
    assert chw is None and why is not None and why.startswith("unreadable") and "ermission" in why


def test_a_file_that_vanished_after_listing_gives_its_reason(tmp_path: Path) -> None:
    """Holds under root too: the file is listed, then removed before it is decoded."""
    gone = tmp_path / "gone.JPEG"
    chw, why, _, _ = decode_one(gone, TINY_PP)
    assert chw is None and why == "unreadable: No such file or directory"


def test_each_kind_decodes_or_gives_its_reason(tmp_path: Path) -> None:
    make_bad_folder(tmp_path)
    reasons = {}
    for p in sorted(tmp_path.iterdir()):
        chw, why, _, _ = decode_one(p, TINY_PP)
        assert (chw is None) == (why is not None)
        reasons[p.name] = why
        if chw is not None:
            assert chw.shape == (3, 32, 32) and chw.dtype == np.uint8
    assert "empty file" in reasons["zero.JPEG"]
    assert "truncated" in reasons["truncated.JPEG"] or "cannot decode" in reasons["truncated.JPEG"]
    assert "decompression bomb" in reasons["bomb.png"]
    assert "cannot decode" in reasons["notimage.JPEG"]
    for name in ("png_named.JPEG", "cmyk.JPEG", "gray.JPEG", "deep16.png"):
        assert reasons[name] is None, name
    # a PNG named .JPEG decodes to the same pixels as the JPEG it was made from, up to JPEG loss
    a, *_ = decode_one(tmp_path / "png_named.JPEG", TINY_PP)
    b, *_ = decode_one(tmp_path / "ILSVRC2012_val_00000001.JPEG", TINY_PP)
    assert a is not None and b is not None and np.array_equal(a, b)


@pytest.mark.parametrize("workers", [0, 2])
def test_infer_lists_skips_in_csv_summary_and_accuracy(tmp_path: Path, tiny_onnx: Path, workers: int) -> None:
    data = tmp_path / "data"
    ok, bad = make_bad_folder(data)
    labels = tmp_path / "val_label.txt"
    labels.write_text("".join(f"{p.name} {i}\n" for i, p in enumerate(sorted(data.iterdir()))))
    out = tmp_path / "out"
    s = do_infer(str(tiny_onnx), str(data), labels=str(labels), outdir=str(out), quiet=True, workers=workers)
    assert s["images_inferred"] == len(ok) and s["skipped"] == len(bad)
    with open(out / "skipped.csv", newline="") as fh:
        rows = {r["image"]: r["reason"] for r in csv.DictReader(fh)}
    assert set(rows) == bad and all(rows.values())
    acc = json.loads((out / "accuracy.json").read_text())
    assert acc["skipped"] == len(bad) and acc["count"] == len(ok)
    with pytest.raises(DataError, match="--strict"):
        do_infer(str(tiny_onnx), str(data), outdir=str(tmp_path / "strict"), quiet=True, workers=workers, strict=True)
    assert not (tmp_path / "strict" / "predictions.csv").exists()


def test_prep_skips_bad_files_and_lists_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ok, bad = make_bad_folder(data)
    meta = prep_cache(data, TINY_PP, tmp_path / "c", workers=2)
    assert {s[0] for s in meta["skipped"]} == bad and meta["count"] == len(ok)
    c = open_cache(tmp_path / "c")
    assert len(c.valid_rows()) == len(ok)
    assert (tmp_path / "c" / "skipped.csv").read_text().count("\n") == len(bad) + 1
    with pytest.raises(DataError, match="--strict"):
        prep_cache(data, TINY_PP, tmp_path / "c2", workers=0, strict=True)
    assert not (tmp_path / "c2" / "meta.json").exists()
