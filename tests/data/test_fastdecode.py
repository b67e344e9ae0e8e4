"""The fast decoder (``--decoder fast``; ``nvjpeg`` with mocks): its difference bound from the reference on real
photos, the per-image fallback to the reference for each kind it cannot reproduce (counted), and a cache made
by one decoder never read as the other's."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from datahelp import TINY_PP, photo_arrays, write_jpegs
from PIL import Image

from zoobench.cli import cli
from zoobench.data import fastdecode
from zoobench.data.cache import open_cache, prep_cache
from zoobench.data.fastdecode import decode_bytes, sniff
from zoobench.data.transforms import to_chw_uint8
from zoobench.errors import DataError, RuntimeUnavailableError
from zoobench.infer.loop import run_folder
from zoobench.infer.settings import InferSettings
from zoobench.models.spec import Preprocess

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

SIZES = [(500, 375), (375, 500), (320, 241), (257, 256)]  # landscape, portrait, odd, nearly square


@pytest.fixture(scope="module")
def photo_jpegs() -> list[bytes]:
    """A fixed set of real photos (skimage), cropped and rescaled, saved as JPEG (baseline, 4:2:0, q90)."""
    out = []
    for i, arr in enumerate(photo_arrays()):
        for j, size in enumerate(SIZES):
            h, w = arr.shape[:2]
            crop = arr[(i + j) * 7 : h - j * 11, j * 13 : w - (i * 5)]
            buf = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(crop)).resize(size, Image.Resampling.BILINEAR).save(
                buf, "JPEG", quality=90
            )
            out.append(buf.getvalue())
    return out


@pytest.fixture(autouse=True)
def _fast_pool_for_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests decode a few images with the fast decoder's pool; the small-set rule has its own test."""
    monkeypatch.setenv("ZOOBENCH_FAST_MIN_IMAGES", "0")


def _jpeg(arr: np.ndarray, mode: str | None = None, **save: object) -> bytes:
    img = Image.fromarray(arr)
    if mode:
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, **save)
    return buf.getvalue()


def _ref(raw: bytes, pp: Preprocess) -> np.ndarray:
    return to_chw_uint8(io.BytesIO(raw), pp)


@pytest.mark.parametrize("mode", ["shorter", "squash", "squash_center"])
@pytest.mark.parametrize("interp", ["bilinear", "bicubic"])
def test_fast_is_within_the_stated_bound_of_the_reference(photo_jpegs: list[bytes], mode: str, interp: str) -> None:
    pp = Preprocess(resize=256, resize_mode=mode, interpolation=interp)  # type: ignore[arg-type]
    falls: Counter[str] = Counter()
    diffs = []
    for raw in photo_jpegs:
        fast = decode_bytes(raw, "x.JPEG", pp, "fast", falls)
        ref = _ref(raw, pp)
        assert fast.dtype == np.uint8 and fast.shape == ref.shape == (3, 224, 224) and fast.flags.c_contiguous
        diffs.append(np.abs(fast.astype(np.int16) - ref.astype(np.int16)))
    d = np.stack(diffs)
    assert not falls  # every photo took the fast path
    # 1 level at most, bicubic too (its first pass is Pillow's own); and only on a small share of the values
    assert d.max() <= 1 and (d > 0).mean() < 0.02


def test_fast_decode_is_pils_decode_and_its_resize_is_torchvisions(photo_jpegs: list[bytes]) -> None:
    from torchvision.io import decode_jpeg
    from torchvision.transforms.v2 import functional as F

    t = fastdecode._torch()
    for raw in photo_jpegs[:8]:  # landscape and portrait: both orders of the passes
        ours = fastdecode._decode_cpu(t, raw)
        assert np.array_equal(ours.permute(1, 2, 0).numpy(), np.asarray(Image.open(io.BytesIO(raw)).convert("RGB")))
        assert torch.equal(ours, decode_jpeg(torch.frombuffer(bytearray(raw), dtype=torch.uint8)))
        _, h, w = ours.shape
        first = (256, w) if fastdecode._vertical_first(w, h, 301, 256) else (h, 301)
        for interp in ("bilinear", "bicubic"):
            mode = getattr(F.InterpolationMode, interp.upper())
            if interp == "bicubic":  # the first pass is Pillow's, to the bit; the second torchvision's
                img = Image.open(io.BytesIO(raw)).convert("RGB").resize(first[::-1], Image.Resampling.BICUBIC)
                mid = torch.from_numpy(np.array(img)).permute(2, 0, 1)
            else:
                mid = F.resize(ours, list(first), interpolation=mode)
            want = F.resize(mid, [256, 301], interpolation=mode)
            assert torch.equal(fastdecode._resize(t, ours, (256, 301), interp, False).contiguous(), want.contiguous())


@pytest.mark.parametrize("size", [(375, 500), (500, 375), (241, 320), (300, 600), (400, 400)])
def test_the_passes_go_in_pillows_order(size: tuple[int, int]) -> None:
    img = Image.fromarray(photo_arrays()[2]).resize(size)
    for out in [(256, 256), (224, 300), (300, 224)]:
        one = np.asarray(img.resize(out, Image.Resampling.BILINEAR))
        if fastdecode._vertical_first(*size, *out):
            two = img.resize((size[0], out[1]), Image.Resampling.BILINEAR).resize(out, Image.Resampling.BILINEAR)
        else:
            two = img.resize((out[0], size[1]), Image.Resampling.BILINEAR).resize(out, Image.Resampling.BILINEAR)
        assert np.array_equal(one, np.asarray(two))


def _fallback_cases() -> dict[str, tuple[bytes, str]]:
    arr = photo_arrays()[1][:120, :160]
    buf = {}
    for fmt in ("PNG", "WEBP", "TIFF", "BMP", "GIF"):
        b = io.BytesIO()
        Image.fromarray(arr).save(b, fmt)
        buf[fmt] = b.getvalue()
    return {
        "png": (buf["PNG"], "PNG file"),
        "webp": (buf["WEBP"], "WebP file"),
        "tiff": (buf["TIFF"], "TIFF file"),
        "bmp": (buf["BMP"], "BMP file"),
        "gif": (buf["GIF"], "GIF file"),
        "grayscale": (_jpeg(arr, "L"), "grayscale JPEG"),
        "cmyk": (_jpeg(arr, "CMYK"), "CMYK JPEG"),
        "progressive": (_jpeg(arr, progressive=True), "progressive JPEG"),
        "corrupt": (_jpeg(arr)[:-900] + bytes(900), "corrupt JPEG (the fast decoder rejected it)"),
    }


@pytest.mark.parametrize("kind", list(_fallback_cases()))
def test_each_unsupported_kind_falls_back_to_the_reference_and_is_counted(kind: str) -> None:
    raw, reason = _fallback_cases()[kind]
    falls: Counter[str] = Counter()
    try:
        want: np.ndarray | str = _ref(raw, TINY_PP)
    except DataError as exc:
        want = str(exc)
    try:
        got: np.ndarray | str = decode_bytes(raw, "<in-memory file>", TINY_PP, "fast", falls)
    except DataError as exc:
        got = str(exc)
    assert falls == Counter({reason: 1})
    if isinstance(want, str):
        assert got == want  # the reference's own verdict (the same skip reason)
    else:
        assert isinstance(got, np.ndarray) and np.array_equal(got, want)  # the reference's own bytes


def test_truncated_jpeg_goes_to_the_reference_which_skips_it() -> None:
    raw = _jpeg(photo_arrays()[0][:200, :200])
    falls: Counter[str] = Counter()
    with pytest.raises(DataError, match="truncated"):
        decode_bytes(raw[: len(raw) // 2], "cut.JPEG", TINY_PP, "fast", falls)
    assert falls == Counter({"corrupt JPEG (the fast decoder rejected it)": 1})


def test_over_the_pixel_limit_and_nearest_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _jpeg(photo_arrays()[0][:100, :100])
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50 * 50)
    falls: Counter[str] = Counter()
    with pytest.raises(DataError, match="decompression bomb"):
        decode_bytes(raw, "big.JPEG", TINY_PP, "fast", falls)
    monkeypatch.undo()
    near = Preprocess(input_size=(3, 32, 32), resize=36, interpolation="nearest")
    assert np.array_equal(decode_bytes(raw, "n.JPEG", near, "fast", falls), _ref(raw, near))
    assert falls == Counter({"over the pixel limit": 1, "nearest resize (reference only)": 1})


def test_exif_orientation_is_ignored_as_the_reference_ignores_it() -> None:
    arr = photo_arrays()[1][:150, :240]  # landscape; orientation 6 would make it portrait if applied
    exif = Image.Exif()
    exif[0x0112] = 6
    raw = _jpeg(arr, exif=exif.tobytes())
    pp = Preprocess(input_size=(3, 64, 64), resize=72)
    falls: Counter[str] = Counter()
    fast = decode_bytes(raw, "r.JPEG", pp, "fast", falls)
    assert not falls and np.abs(fast.astype(int) - _ref(raw, pp).astype(int)).max() <= 1


def test_sniff_reads_the_frame_header() -> None:
    arr = photo_arrays()[0][:64, :64]
    assert sniff(_jpeg(arr), None) is None
    assert sniff(_jpeg(arr), 100) == "over the pixel limit"
    assert sniff(b"\xff\xd8\xff\xe0\x00\x04abXYZW", None) == "corrupt JPEG (bad marker)"
    assert sniff(b"\xff\xd8\xff" + bytes(10), None) == "corrupt JPEG (no frame header)"
    assert sniff(b"RIFF\0\0\0\0WEBPVP8 ", None) == "WebP file"
    assert sniff(b"hello", None) == "not a JPEG"


def test_prep_counts_fallbacks_and_a_cache_is_never_read_as_the_other_decoder(tmp_path: Path) -> None:
    pytest.importorskip("skimage")
    data = tmp_path / "val"
    files = write_jpegs(data, 6)
    arr = np.asarray(Image.open(files[0]))
    (data / "ILSVRC2012_val_00000007.JPEG").write_bytes(_jpeg(arr, "L"))
    (data / "ILSVRC2012_val_00000008.JPEG").write_bytes(_jpeg(arr, progressive=True))
    (data / "ILSVRC2012_val_00000009.JPEG").write_bytes(files[1].read_bytes()[:300])  # truncated: skipped
    out = tmp_path / "cache"
    ref = prep_cache(data, TINY_PP, out, workers=0)
    assert ref["status"] == "built" and ref["decoder"] == "reference" and ref["decoder_fallbacks"] == {}
    ref_px = np.array(open_cache(out).pixels)
    fast = prep_cache(data, TINY_PP, out, workers=2, chunk=4, decoder="fast")  # same directory: rebuilt
    assert fast["status"] == "built" and fast["build_key"] != ref["build_key"]
    assert fast["decoder"] == "fast" and json.loads((out / "meta.json").read_text())["decoder"] == "fast"
    assert fast["decoder_fallbacks"] == {
        "corrupt JPEG (the fast decoder rejected it)": 1, "grayscale JPEG": 1, "progressive JPEG": 1,
    }  # fmt: skip
    assert [s[0] for s in fast["skipped"]] == [s[0] for s in ref["skipped"]] == ["ILSVRC2012_val_00000009.JPEG"]
    fast_px = np.array(open_cache(out).pixels)
    assert np.abs(fast_px.astype(int) - ref_px.astype(int)).max() <= 1
    assert np.array_equal(fast_px[6:8], ref_px[6:8])  # the fallbacks are the reference's bytes
    assert prep_cache(data, TINY_PP, out, workers=0, chunk=4, decoder="fast")["status"] == "reused"
    assert prep_cache(data, TINY_PP, out, workers=0)["status"] == "built"  # and back: not the fast cache


def test_infer_refuses_a_cache_made_by_the_other_decoder(tmp_path: Path, tiny_onnx: Path) -> None:
    pytest.importorskip("skimage")
    from zoobench.artifact import load_engine

    data = tmp_path / "val"
    write_jpegs(data, 4)
    cache = tmp_path / "cache"
    prep_cache(data, TINY_PP, cache, workers=0, decoder="fast")
    with pytest.raises(DataError, match="made by the fast decoder, not reference"):
        run_folder(load_engine(tiny_onnx), cache, InferSettings(decoder="reference"))
    res = CliRunner().invoke(cli, ["infer", str(tiny_onnx), "--data", str(cache), "--decoder", "reference",
                                   "-o", str(tmp_path / "o1")])  # fmt: skip
    assert res.exit_code == 1 and "Error: cache" in res.output and "made by the fast decoder" in res.output
    res = CliRunner().invoke(cli, ["infer", str(tiny_onnx), "--data", str(cache), "-o", str(tmp_path / "o2")])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "o2" / "summary.json").read_text())
    assert summary["decoder"] == {"name": "fast", "fallbacks": {}, "counted": "cache"}


def test_infer_images_fast_records_decoder_and_fallbacks_and_keys_partials_apart(
    tmp_path: Path, tiny_onnx: Path
) -> None:
    pytest.importorskip("skimage")
    from zoobench.artifact import load_engine
    from zoobench.infer.loop import RunIO, open_run

    data = tmp_path / "val"
    files = write_jpegs(data, 5)
    (data / "ILSVRC2012_val_00000006.JPEG").write_bytes(_jpeg(np.asarray(Image.open(files[0])), "L"))
    res = CliRunner().invoke(cli, ["infer", str(tiny_onnx), "--data", str(data), "--decoder", "fast", "-j", "0",
                                   "-o", str(tmp_path / "o")])  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["decoder"] == {"name": "fast", "fallbacks": {"grayscale JPEG": 1}, "counted": "this run"}
    assert summary["images_inferred"] == 6
    eng = load_engine(tiny_onnx)
    keys = {}
    for dec in ("reference", "fast"):
        part = tmp_path / f"p-{dec}"
        open_run(eng, data, InferSettings(batch_size=2, chunk=4, decoder=dec), None, RunIO(partial_dir=part))
        keys[dec] = json.loads((part / "manifest.json").read_text())["key"]
    assert keys["reference"] != keys["fast"]  # an interrupted run of one is never resumed as the other


def test_ray_decode_row_uses_the_same_implementation(tmp_path: Path) -> None:
    pytest.importorskip("skimage")
    from zoobench.cluster.workers import decode_row
    from zoobench.data.decode import decode_group

    files = write_jpegs(tmp_path / "val", 3)
    gray = tmp_path / "val" / "ILSVRC2012_val_00000004.JPEG"
    gray.write_bytes(_jpeg(np.asarray(Image.open(files[0])), "L"))
    paths = [str(p) for p in [*files, gray]]
    row = decode_row({"g": 0, "s": 0, "e": 4, "paths": json.dumps(paths)}, TINY_PP.to_dict(), None, "fast")
    local = decode_group((0, paths, TINY_PP.to_dict(), "fast"))
    assert row["pixels"] == local.pixels.tobytes() and json.loads(row["fallbacks"]) == {"grayscale JPEG": 1}
    ref = decode_group((0, paths, TINY_PP.to_dict()))
    assert ref.fallbacks == {}  # the reference decodes the grayscale file itself


def test_nvjpeg_decodes_on_the_gpu_and_resizes_there_in_float(
    photo_jpegs: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def fake_cuda_decode(t: object, raw: bytes) -> object:  # nvJPEG stand-in: libjpeg-turbo on the CPU
        calls.append(len(raw))
        return fastdecode._decode_cpu(t, raw)

    interp_dtypes: list[object] = []
    real_interp = torch.nn.functional.interpolate

    def spy(x: object, *a: object, **k: object) -> object:
        interp_dtypes.append(x.dtype)  # type: ignore[attr-defined]
        return real_interp(x, *a, **k)

    monkeypatch.setattr(fastdecode, "_decode_cuda", fake_cuda_decode)
    monkeypatch.setattr(fastdecode, "_cuda_available", lambda: True)
    monkeypatch.setattr(torch.nn.functional, "interpolate", spy)
    assert fastdecode.check_decoder("nvjpeg") == "nvjpeg"
    pp = Preprocess(interpolation="bicubic")
    falls: Counter[str] = Counter()
    for raw in photo_jpegs[:4]:
        got = decode_bytes(raw, "g.JPEG", pp, "nvjpeg", falls)
        assert got.dtype == np.uint8 and np.abs(got.astype(int) - _ref(raw, pp).astype(int)).max() <= 2
    gray = _jpeg(photo_arrays()[0][:64, :64], "L")
    decode_bytes(gray, "g.JPEG", pp, "nvjpeg", falls)
    assert len(calls) == 4 and falls == Counter({"grayscale JPEG": 1})
    assert set(interp_dtypes) == {torch.float32}  # CUDA has no uint8 antialiased kernel: float, as torchvision


def test_nvjpeg_without_cuda_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("skimage")
    monkeypatch.setattr(fastdecode, "_cuda_available", lambda: False)
    write_jpegs(tmp_path / "val", 2)
    res = CliRunner().invoke(
        cli,
        [
            "prep",
            "--data",
            str(tmp_path / "val"),
            "--model",
            "mnasnet1_0",
            "--decoder",
            "nvjpeg",
            "-o",
            str(tmp_path / "c"),
        ],
    )
    line = res.output.strip()
    assert res.exit_code == 1 and line.startswith("Error: ") and "\n" not in line
    assert all(t in line for t in ("--decoder nvjpeg", "CUDA"))
    assert not (tmp_path / "c").exists()


def test_run_records_the_decoder_in_its_ledger_and_reruns_prep_and_infer_for_the_other(
    tmp_path: Path, tiny_onnx: Path
) -> None:
    pytest.importorskip("skimage")
    data = tmp_path / "val"
    write_jpegs(data, 6)
    run = ["run", str(tiny_onnx), "--data", str(data), "-b", "1", "--seconds", "0", "--repeats", "1",
           "--min-iters", "1", "--warmup", "0", "-o", str(tmp_path / "r")]  # fmt: skip
    res = CliRunner().invoke(cli, [*run, "--decoder", "fast"])
    assert res.exit_code == 0, res.output
    mdir = tmp_path / "r" / "tiny"
    stages = json.loads((mdir / "stages.json").read_text())["stages"]
    assert stages["prep"]["inputs"]["decoder"] == stages["infer"]["inputs"]["decoder"] == "fast"
    assert json.loads((mdir / "cache" / "meta.json").read_text())["decoder"] == "fast"
    assert json.loads((mdir / "infer" / "summary.json").read_text())["decoder"]["name"] == "fast"
    assert json.loads((tmp_path / "r" / "run.json").read_text())["config"]["decoder"] == "fast"
    res = CliRunner().invoke(cli, [*run])  # the reference: prep and infer are not "unchanged"
    assert res.exit_code == 0, res.output
    assert "prep: skipped" not in res.output and "infer: skipped" not in res.output
    assert json.loads((mdir / "cache" / "meta.json").read_text())["decoder"] == "reference"
    assert "decoder" not in json.loads((mdir / "stages.json").read_text())["stages"]["prep"]["inputs"]
    again = CliRunner().invoke(cli, [*run])
    assert "prep: skipped" in again.output and "infer: skipped" in again.output  # the same decoder: unchanged


def test_without_torchvisions_decoder_fast_stops_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import sys

    from zoobench.data.decode import decode_one

    monkeypatch.setattr(fastdecode, "_TORCH", {})
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setitem(sys.modules, "torchvision.io", None)  # import torchvision.io raises ImportError
    with pytest.raises(RuntimeUnavailableError, match=r"needs torchvision's JPEG decoder .*--decoder reference"):
        fastdecode.check_decoder("fast")  # before any work
    f = tmp_path / "a.JPEG"
    f.write_bytes(_jpeg(photo_arrays()[0][:64, :64]))
    with pytest.raises(RuntimeUnavailableError):  # in a worker: the run stops, no image is skipped for it
        decode_one(f, TINY_PP, "fast")
    assert decode_one(f, TINY_PP)[0].shape == (3, 32, 32)  # the reference needs no torch


def test_a_fast_pool_starts_a_forkserver_that_imports_torch_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing
    from types import SimpleNamespace

    from zoobench.data import decode

    class FakePool:
        def terminate(self) -> None: ...
        def join(self) -> None: ...

    calls: list[int] = []
    monkeypatch.setattr(fastdecode, "preload_in_workers", lambda: calls.append(1))
    monkeypatch.setattr(decode, "_context", lambda: SimpleNamespace(Pool=lambda n: FakePool()))
    for workers, dec in ((2, "fast"), (2, "reference"), (0, "fast"), (1, "nvjpeg")):
        with decode.DecodePool(workers, dec):
            pass
    assert calls == [1, 1]  # fast and nvjpeg pools with workers; never the reference, never in-process
    monkeypatch.undo()
    said: list[list[str]] = []
    ctx = multiprocessing.get_context("forkserver")
    monkeypatch.setattr(ctx, "set_forkserver_preload", said.append)
    fastdecode.preload_in_workers()
    assert said and "torch" in said[0] and "zoobench.data.decode" in said[0]


def test_prep_starts_the_fast_forkserver_before_its_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    """`prep --decoder fast` starts the forkserver (its torch import) first, so the import runs beside the model and
    image listing; never for the reference decoder or in-process decoding."""
    from multiprocessing import forkserver

    from zoobench.data import decode

    started: list[str] = []
    monkeypatch.setattr(fastdecode, "preload_in_workers", lambda: started.append("preload"))
    monkeypatch.setattr(forkserver, "ensure_running", lambda: started.append("server"))
    for workers, dec in ((2, "reference"), (0, "fast"), (None, "fast")):
        decode.start_early(workers, dec)
    assert started == (["preload", "server"] if decode._context().get_start_method() == "forkserver" else [])


@pytest.mark.parametrize("mode", ["shorter", "squash", "squash_center"])
def test_bicubic_first_pass_resamples_only_what_the_crop_reads(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    arr = photo_arrays()[0]
    pp = Preprocess(resize=256, resize_mode=mode, interpolation="bicubic")  # type: ignore[arg-type]
    raws = [  # landscape, portrait, tall (vertical pass first), smaller than the crop (upscaled), near the size
        _jpeg(np.asarray(Image.fromarray(arr).resize(size, Image.Resampling.BILINEAR)))
        for size in [(500, 375), (375, 500), (180, 500), (150, 120), (258, 257)]
    ]
    part = [decode_bytes(r, "x.JPEG", pp, "fast") for r in raws]
    whole = fastdecode._needed
    monkeypatch.setattr(fastdecode, "_needed", lambda shape, size, crop: whole(shape, size, None))
    for raw, got in zip(raws, part):
        assert np.array_equal(got, decode_bytes(raw, "x.JPEG", pp, "fast"))  # the same pixels as a whole first pass
        assert np.abs(got.astype(int) - _ref(raw, pp).astype(int)).max() <= 1
    assert whole((375, 500), (256, 341), (224, 224))[1] - whole((375, 500), (256, 341), (224, 224))[0] < 375


def test_a_small_set_is_decoded_by_the_reference_and_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under the threshold a fast pool would cost more to start than it saves: the images are the reference's,
    each counted as a fallback with why; the forkserver is not started early; by the count alone (same pixels)."""
    from multiprocessing import forkserver

    from zoobench.data import decode

    pytest.importorskip("skimage")
    data = tmp_path / "val"
    write_jpegs(data, 6, size=(410, 272))
    ref = prep_cache(data, TINY_PP, tmp_path / "ref", workers=2)
    monkeypatch.setenv("ZOOBENCH_FAST_MIN_IMAGES", "7")
    small = prep_cache(data, TINY_PP, tmp_path / "small", workers=2, decoder="fast")
    assert small["decoder"] == "fast" and small["decoder_fallbacks"] == {decode.SMALL_SET_REASON: 6}
    assert (tmp_path / "small" / "images.npy").read_bytes() == (tmp_path / "ref" / "images.npy").read_bytes()
    started: list[str] = []
    monkeypatch.setattr(forkserver, "ensure_running", lambda: started.append("server"))
    decode.start_early(2, "fast", 6)
    assert started == [] and decode.run_decoder("fast", 7, 2) == "fast" and decode.run_decoder("fast", 6, 0) == "fast"
    monkeypatch.setenv("ZOOBENCH_FAST_MIN_IMAGES", "6")  # at the threshold: the fast pool
    fast = prep_cache(data, TINY_PP, tmp_path / "fast", workers=2, decoder="fast")
    assert fast["decoder_fallbacks"] == {} and ref["decoder_fallbacks"] == {}
    px = [np.array(open_cache(tmp_path / d).pixels).astype(int) for d in ("ref", "fast")]
    assert 0 < np.abs(px[0] - px[1]).max() <= 2
