"""Label files and image folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from zoobench.data.datasets import image_key, list_images, read_labels, scan_folder
from zoobench.errors import DataError

SHARED_LABELS = Path(__file__).resolve().parents[3] / "shared" / "data" / "val_label.txt"  # ../shared beside the repo


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "val_label.txt"
    path.write_text(text)
    return path


def test_image_key() -> None:
    assert image_key("ILSVRC2012_val_00000001.JPEG") == "ILSVRC2012_val_00000001"
    assert image_key(Path("a/b/photo.tar.gz")) == "photo"
    assert image_key("ILSVRC2012_val_00000001") == "ILSVRC2012_val_00000001"
    assert image_key(".hidden") == ".hidden"


def test_read_good_file(tmp_path) -> None:
    path = write(tmp_path, "ILSVRC2012_val_00000001.JPEG 65\nILSVRC2012_val_00000002.JPEG 970\n\n\n")
    assert read_labels(path) == {"ILSVRC2012_val_00000001": 65, "ILSVRC2012_val_00000002": 970}
    crlf = write(tmp_path, "a.png 0\r\nb.png 9\r\n")
    assert read_labels(crlf, num_classes=10) == {"a": 0, "b": 9}


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("a.JPEG 1\nb.JPEG\n", r"line 2: expected 2 columns.*'b.JPEG'"),
        ("a.JPEG 1\nb.JPEG 2 3\n", r"line 2: expected 2 columns .*, got 3"),
        ("a.JPEG 1\n\nb.JPEG x7\n", r"line 3: label 'x7' is not an integer: 'b.JPEG x7'"),
        ("a.JPEG 1.5\n", r"line 1: label '1.5' is not an integer"),
        ("a.JPEG 1\nb.JPEG 1000\n", r"line 2: label 1000 is out of range \[0, 1000\)"),
        ("a.JPEG -1\n", r"line 1: label -1 is out of range"),
        ("a.JPEG 1\nb.JPEG 2\na.png 3\n", r"line 3: image a already labeled on line 1: 'a.png 3'"),
        ("\n\n", r"holds no labels"),
    ],
)
def test_read_errors_name_file_and_line(tmp_path, text, pattern) -> None:
    with pytest.raises(DataError, match=pattern) as err:
        read_labels(write(tmp_path, text))
    assert "val_label.txt" in str(err.value)


def test_missing_and_binary_label_file(tmp_path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_labels(tmp_path / "nope.txt")
    bad = tmp_path / "bin.txt"
    bad.write_bytes(b"\xff\xfe\x00 1\n")
    with pytest.raises(DataError, match="cannot be read"):
        read_labels(bad)


@pytest.mark.skipif(not SHARED_LABELS.exists(), reason="shared val_label.txt not present")
def test_real_val_label_file() -> None:
    labels = read_labels(SHARED_LABELS)
    assert len(labels) == 50_000
    assert labels["ILSVRC2012_val_00000001"] == 65
    assert labels["ILSVRC2012_val_00050000"] == 355
    assert list(labels)[-1] == "ILSVRC2012_val_00050000"
    counts = [0] * 1000
    for v in labels.values():
        counts[v] += 1
    assert set(counts) == {50}


def test_scan_and_list_images(tmp_path) -> None:
    for name in ["b.JPEG", "a.jpg", "c.PnG", "d.webp", "e.TIFF", "notes.txt", ".DS_Store"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.jpg").mkdir()  # a folder with an image-like name is not an image
    images, others = scan_folder(tmp_path)
    assert [p.name for p in images] == ["a.jpg", "b.JPEG", "c.PnG", "d.webp", "e.TIFF"]
    assert [p.name for p in others] == [".DS_Store", "notes.txt"]
    assert list_images(tmp_path) == images


def test_list_images_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        list_images(tmp_path / "missing")
    (tmp_path / "readme.md").write_text("x")
    (tmp_path / "n01440764").mkdir()
    with pytest.raises(DataError, match=r"no images in .*1 other file.*1 subfolder"):
        list_images(tmp_path)
    with pytest.raises(DataError, match="not a folder"):
        list_images(tmp_path / "readme.md")
