"""prep: the uint8 memmap cache and the seeds' .bin/.info layout; infer from it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from datahelp import TINY_PP, write_jpegs

from zoobench.artifact import load_engine
from zoobench.cli import cli
from zoobench.data.cache import open_cache, prep_cache
from zoobench.data.transforms import preprocess_image, to_chw_uint8
from zoobench.infer.loop import run_folder
from zoobench.infer.settings import InferSettings
from zoobench.models.spec import Preprocess


def test_prep_npy_rows_equal_reference_and_workers_do_not_change_bytes(jpeg_folder: Path, tmp_path: Path) -> None:
    meta = prep_cache(jpeg_folder, TINY_PP, tmp_path / "c0", workers=0, chunk=16)
    assert meta["status"] == "built" and meta["shape"] == [40, 3, 32, 32] and meta["count"] == 40
    c = open_cache(tmp_path / "c0")
    files = sorted(jpeg_folder.iterdir())
    assert c.names == [p.name for p in files]
    for i in (0, 17, 39):
        np.testing.assert_array_equal(c.pixels[i], to_chw_uint8(files[i], TINY_PP))
    prep_cache(jpeg_folder, TINY_PP, tmp_path / "c2", workers=2, chunk=16)
    for name in ("images.npy", "meta.json"):
        assert (tmp_path / "c0" / name).read_bytes() == (tmp_path / "c2" / name).read_bytes()
    assert not (tmp_path / "c2" / "progress.json").exists()
    assert not (tmp_path / "c2" / "images.npy.partial").exists()


def test_prep_reuses_only_on_same_preprocessing(jpeg_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    assert prep_cache(jpeg_folder, TINY_PP, out, workers=0)["status"] == "built"
    assert prep_cache(jpeg_folder, TINY_PP, out, workers=0)["status"] == "reused"
    # normalization is not part of the cached uint8 pixels: same cache
    other_norm = Preprocess(input_size=(3, 32, 32), resize=36, mean=(0.5,) * 3, std=(0.5,) * 3)
    assert prep_cache(jpeg_folder, other_norm, out, workers=0)["status"] == "reused"
    squash = Preprocess(input_size=(3, 32, 32), resize=36, resize_mode="squash")
    meta = prep_cache(jpeg_folder, squash, out, workers=0)
    assert meta["status"] == "built" and meta["preprocess"]["resize_mode"] == "squash"
    files = sorted(jpeg_folder.iterdir())
    np.testing.assert_array_equal(open_cache(out).pixels[3], to_chw_uint8(files[3], squash))
    meta = prep_cache(jpeg_folder, squash, out, workers=0, limit=5)
    assert meta["status"] == "built" and meta["shape"][0] == 5


def test_prep_bin_writes_the_seeds_layout(jpeg_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "prep_bin"
    prep_cache(jpeg_folder, TINY_PP, out, fmt="bin", workers=2, limit=6)
    files = sorted(jpeg_folder.iterdir())[:6]
    for p in files:
        b = (out / (p.name.split(".")[0] + ".bin")).read_bytes()
        assert len(b) == 3 * 32 * 32 * 4
        assert b == preprocess_image(p, TINY_PP).astype(np.float32).tobytes()
    info = (out / "prep_bin.info").read_text().splitlines()
    assert info[0] == f"0 {out / 'ILSVRC2012_val_00000001.bin'} 32 32"
    assert len(info) == 6 and info[5].startswith("5 ")


def test_infer_from_cache_equals_infer_from_images(jpeg_folder: Path, tiny_onnx: Path, tmp_path: Path) -> None:
    eng = load_engine(str(tiny_onnx))
    prep_cache(jpeg_folder, eng.preprocess, tmp_path / "c", workers=0)
    a = run_folder(eng, jpeg_folder, InferSettings(batch_size=8, workers=2))
    b = run_folder(eng, tmp_path / "c", InferSettings(batch_size=8))
    assert a.names == b.names and len(a.names) == 40
    np.testing.assert_array_equal(a.topk_ids, b.topk_ids)
    np.testing.assert_array_equal(a.topk_probs, b.topk_probs)
    assert set(b.stages) >= {"data_read", "preprocess", "infer", "post", "e2e"}


def test_cache_with_other_geometry_is_refused(jpeg_folder: Path, tiny_onnx: Path, tmp_path: Path) -> None:
    from zoobench.errors import DataError

    prep_cache(jpeg_folder, Preprocess(input_size=(3, 32, 32), resize=40), tmp_path / "c", workers=0)
    with pytest.raises(DataError, match="run `zoobench prep`"):
        run_folder(load_engine(str(tiny_onnx)), tmp_path / "c")


def test_prep_cli_then_infer_cli(jpeg_folder: Path, tiny_onnx: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(
        cli, ["prep", "--data", str(jpeg_folder), "--model", str(tiny_onnx), "-o", str(tmp_path / "c"), "--json"]
    )
    assert r.exit_code == 0, r.output
    meta = json.loads(r.output)
    assert meta["status"] == "built" and meta["count"] == 40
    r = CliRunner().invoke(cli, ["infer", str(tiny_onnx), "--data", str(tmp_path / "c"), "-o", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "[infer] Interface throughputRate" in r.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["data_kind"] == "cache" and summary["images_inferred"] == 40


def test_class_folder_layout_gives_labels(tiny_onnx: Path, tmp_path: Path) -> None:
    pytest.importorskip("skimage")
    root = tmp_path / "val"
    write_jpegs(root / "n01440764", 3, prefix="a_")
    write_jpegs(root / "n01443537", 2, prefix="b_")
    from zoobench.infer.stage import do_infer

    s = do_infer(str(tiny_onnx), str(root), outdir=str(tmp_path / "o"), quiet=True, workers=0, batch_size=2)
    assert s["images_inferred"] == 5 and s["accuracy"]["count"] == 5
    # the folders' labels go to eval in memory (no label file is written) and into predictions.csv
    assert not (tmp_path / "o" / "val_label.txt").exists()
    rows = (tmp_path / "o" / "predictions.csv").read_text().splitlines()
    assert rows[1].startswith("a_00000001.JPEG,") and rows[1].endswith(",0")
    assert rows[-1].startswith("b_00000002.JPEG,") and rows[-1].endswith(",1")


def test_a_small_set_is_decoded_in_this_process_by_default_and_an_asked_pool_is_kept(
    jpeg_folder: Path, tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under POOL_MIN_IMAGES images the default starts no decode pool (each worker's start costs more than the
    set's decoding); an explicit worker count, or the environment's threshold, still gets one; the bytes agree."""
    import zoobench.data.decode as decode

    assert decode.default_workers(decode.POOL_MIN_IMAGES - 1) == 0 and decode.default_workers(None) >= 1
    assert decode.default_workers(decode.POOL_MIN_IMAGES) == decode.default_workers() >= 1
    started: list[int] = []
    real = decode._context

    def counting() -> object:
        started.append(1)
        return real()

    monkeypatch.setattr(decode, "_context", counting)
    eng = load_engine(str(tiny_onnx))
    alone = run_folder(eng, jpeg_folder, InferSettings(batch_size=8))  # 40 images, the default workers
    prep_cache(jpeg_folder, TINY_PP, tmp_path / "c0")
    assert started == []
    pooled = run_folder(eng, jpeg_folder, InferSettings(batch_size=8, workers=2))
    assert started  # asked for: a pool
    np.testing.assert_array_equal(alone.topk_ids, pooled.topk_ids)
    started.clear()
    monkeypatch.setenv(decode.POOL_MIN_ENV, "0")  # the threshold off: the default is a pool again
    assert decode.default_workers(1) >= 1
    prep_cache(jpeg_folder, TINY_PP, tmp_path / "c1")
    assert started
    assert (tmp_path / "c0" / "images.npy").read_bytes() == (tmp_path / "c1" / "images.npy").read_bytes()
