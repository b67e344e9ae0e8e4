"""The fast preprocessing path: ``--decoder fast`` (CPU) and ``--decoder nvjpeg`` (CUDA), beside the reference.

``fast`` decodes a JPEG with torchvision's ``decode_jpeg`` (libjpeg-turbo, the same decoder PIL uses: the
decoded pixels are identical) and resizes the uint8 tensor with torch's antialiased uint8 kernels, the ones
``torchvision.transforms.v2.functional.resize`` runs on uint8 CPU tensors, then crops as the reference does
(``shorter`` and ``squash_center``: torchvision's ``CenterCrop`` rounding; ``squash``: the seeds'
``int((n - crop) / 2)``). The kernels keep fewer fixed-point bits than PIL's, so a pixel may differ from the
reference: a bicubic resize takes its first pass from Pillow (torch's rounding there, fed through the second
pass's negative lobes, would reach 2 levels) and stays within 1 level; a bilinear one keeps torch's two passes
(faster) and differs by at most 2 levels where a side shrinks by a few percent (:data:`PILLOW_FIRST`). The
measured bound, and what it does to top-1, are in docs/decoder.md and benchmarks/RESULTS.md.

``nvjpeg`` decodes with ``decode_jpeg(device="cuda")`` and resizes on the GPU (in float, rounded back to
uint8, as torchvision does on CUDA); its difference from the reference is larger and measured on a GPU.

Whatever the fast path cannot reproduce goes to the reference, per image, with the reason counted:
files that are not JPEG (PNG, WebP, TIFF, ...), grayscale, CMYK/YCCK, progressive, arithmetic-coded or
12-bit JPEGs, files the fast decoder rejects (corrupt or truncated: the reference then decodes them or skips
them with its own reason), images over the pixel limit, and ``nearest`` resizes. EXIF orientation needs no
fallback: the reference does not apply it, and neither does this path.

torch is imported on first use only (a reference run never pays for it); the decoder op is loaded from
torchvision's image extension directly, so the worker processes do not import all of torchvision's models.
"""

from __future__ import annotations

import struct
from collections import Counter
from typing import Any

import numpy as np

from zoobench.errors import DataError, RuntimeUnavailableError
from zoobench.models.spec import Preprocess

REFERENCE, FAST, NVJPEG = "reference", "fast", "nvjpeg"
DECODERS = (REFERENCE, FAST, NVJPEG)

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
_PROGRESSIVE = {0xC2, 0xC6, 0xCA, 0xCE}
_SEQUENTIAL = {0xC0, 0xC1}  # baseline, extended sequential (Huffman)
_OTHER_SOF = {0xC3, 0xC5, 0xC7, 0xC9, 0xCB, 0xCD, 0xCF}  # lossless, hierarchical, arithmetic
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0..7: markers without a length

_TORCH: dict[str, Any] = {}
# Resizes whose first pass Pillow makes (its intermediate to the bit). torch's int16 weights there, rounded to uint8
# and fed through the second pass, reach 2 levels: for bicubic (its negative lobes) and for bilinear too, when a side
# shrinks by a few percent (410x272 -> 385x256: 82 of 300 such images reach 2 levels, 1.1% of values differ; with
# Pillow's first pass none does). Bilinear keeps torch's pass: Pillow's costs 4.3 ms/image against 2.5 (the
# reference 6.0), most of the fast path's gain; its measured bound is stated where the decoder is described.
PILLOW_FIRST = {"bicubic"}
NO_DECODER = (
    "--decoder fast needs torchvision's JPEG decoder (torchvision 0.29, as zoobench[torch] pins it): "
    "pip install 'zoobench[torch]', or use --decoder reference"
)


def check_decoder(name: str | None) -> str:
    """A decoder name, validated (``None`` is the reference); ``nvjpeg`` needs a CUDA device here.

    Raises:
        DataError: an unknown name, or ``nvjpeg`` without CUDA.
        RuntimeUnavailableError: torchvision is not installed (checked without importing torch).
    """
    import importlib.util

    if name in (None, ""):
        return REFERENCE
    if name not in DECODERS:
        raise DataError(f"unknown decoder {name!r}; known: {', '.join(DECODERS)}")
    if name != REFERENCE and importlib.util.find_spec("torchvision") is None:
        raise RuntimeUnavailableError(NO_DECODER)
    if name == NVJPEG and not _cuda_available():
        raise DataError("--decoder nvjpeg needs a CUDA device and torch with CUDA; none is available here")
    return name


def key_part(decoder: str) -> dict[str, str]:
    """The decoder among what keys a cache, a run's chunks or a run stage: nothing for the reference, so what
    was made before the fast path existed keeps its key."""
    return {} if decoder == REFERENCE else {"decoder": decoder}


def cache_decoder(meta: dict[str, Any]) -> str:
    """The decoder that made a cache's pixels (caches from before the fast path were all reference)."""
    return str(meta.get("decoder", REFERENCE))


def sniff(raw: bytes, max_pixels: int | None) -> str | None:
    """Why the fast path must not decode these bytes (the fallback reason), or None when it can.

    Parses the JPEG markers up to the frame header: the coding (baseline or extended sequential only), the
    sample precision (8 bits), the components (3: YCbCr or RGB) and the size (within ``max_pixels``).
    """
    if raw[:3] != b"\xff\xd8\xff":
        for magic, kind in _MAGIC:
            if raw.startswith(magic):
                return f"{kind} file"
        if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
            return "WebP file"
        return "not a JPEG"
    pos, n = 2, len(raw)
    while pos + 4 <= n:
        if raw[pos] != 0xFF:
            return "corrupt JPEG (bad marker)"
        marker = raw[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", raw, pos + 2)
        if marker in _SEQUENTIAL or marker in _PROGRESSIVE or marker in _OTHER_SOF:
            return _frame_reason(raw, pos + 4, marker, max_pixels)
        if marker in (0xDA, 0xD9) or length < 2:
            break
        pos += 2 + length
    return "corrupt JPEG (no frame header)"


def _frame_reason(raw: bytes, at: int, marker: int, max_pixels: int | None) -> str | None:
    if at + 6 > len(raw):
        return "corrupt JPEG (short frame header)"
    precision, height, width, comps = struct.unpack_from(">BHHB", raw, at)
    if marker in _PROGRESSIVE:
        return "progressive JPEG"
    if marker in _OTHER_SOF:
        return "lossless or arithmetic-coded JPEG"
    if precision != 8:
        return f"{precision}-bit JPEG"
    if comps == 1:
        return "grayscale JPEG"
    if comps == 4:
        return "CMYK JPEG"
    if comps != 3 or height == 0 or width == 0:
        return "corrupt JPEG (frame header)"
    if max_pixels is not None and width * height > max_pixels:
        return "over the pixel limit"
    return None


def _torch() -> Any:
    """torch, with torchvision's image ops loaded (once per process); a worker process uses one thread."""
    if "torch" not in _TORCH:
        import multiprocessing

        import torch

        try:
            import importlib.util
            from pathlib import Path

            spec = importlib.util.find_spec("torchvision")
            libs = sorted(Path(spec.origin).parent.glob("image*.so")) if spec and spec.origin else []
            torch.ops.load_library(str(libs[0]))
            torch.ops.image.decode_jpeg  # noqa: B018 - raises when the library did not register it
        except (ImportError, OSError, IndexError, AttributeError, RuntimeError):
            try:
                import torchvision.io  # noqa: F401 - the public way; it loads the same extension

                torch.ops.image.decode_jpeg  # noqa: B018 - gone from torchvision releases after 0.29's deprecation
            except (ImportError, AttributeError, RuntimeError) as exc:
                raise RuntimeUnavailableError(NO_DECODER) from exc
        if multiprocessing.parent_process() is not None:  # a decode worker: one core each
            torch.set_num_threads(1)
        _TORCH["torch"] = torch
    return _TORCH["torch"]


def preload_in_workers() -> None:
    """Have the forkserver import torch (and the decode module) once, so decode pools started later in this
    process fork workers that have them already (a fresh worker spends ~1-2 s of CPU importing torch). No effect
    once the forkserver runs; a forkserver that cannot import torch skips it (the workers then say why)."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        preload = ["__main__", "torch", "zoobench.data.decode"]
        multiprocessing.get_context("forkserver").set_forkserver_preload(preload)


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _decode_cpu(torch: Any, raw: bytes) -> Any:
    """torchvision.io.decode_jpeg(data, ImageReadMode.UNCHANGED): a 3×H×W uint8 view of an H×W×3 buffer."""
    return torch.ops.image.decode_jpeg(torch.frombuffer(bytearray(raw), dtype=torch.uint8), 0, False)


def _decode_cuda(torch: Any, raw: bytes) -> Any:
    """torchvision.io.decode_jpeg(data, device="cuda"): nvJPEG; the tensor stays on the GPU."""
    data = torch.frombuffer(bytearray(raw), dtype=torch.uint8)
    return torch.ops.image.decode_jpegs_cuda([data], 0, torch.device("cuda"))[0]


def _resize(
    torch: Any, chw: Any, size: tuple[int, int], interpolation: str, gpu: bool, crop: tuple[int, int] | None = None
) -> Any:
    """``torchvision.transforms.v2.functional.resize(img, [h, w], interpolation, antialias=True)`` on uint8, one
    axis at a time in the order the installed Pillow takes (its passes round to uint8 in between).

    On the CPU the uint8 kernel runs as it is (channels-last, no float copy), except a bicubic first pass, which
    Pillow makes (:func:`_pillow_pass`); on CUDA, as torchvision does there, in float32, clamped and rounded
    back to uint8 (after each pass, as Pillow rounds). ``crop`` (height, width of the center crop to be taken
    after) lets the bicubic first pass skip what no cropped pixel reads; the rest of the output is then not
    meaningful.
    """
    _, h, w = chw.shape
    x = chw.permute(1, 2, 0).contiguous()[None].permute(0, 3, 1, 2)  # 1×C×H×W, channels-last memory
    steps = [(h, size[1]), size] if not _vertical_first(w, h, size[1], size[0]) else [(size[0], w), size]
    for n, step in enumerate(steps):
        if tuple(x.shape[2:]) == tuple(step):
            continue
        if n == 0 and interpolation in PILLOW_FIRST and not gpu:
            x = _pillow_pass(torch, x, step, _needed(x.shape[2:], size, crop), interpolation)
            continue
        y = x.float() if gpu else x
        y = torch.nn.functional.interpolate(y, size=list(step), mode=interpolation, align_corners=False, antialias=True)
        x = y.clamp_(0, 255).round_().to(torch.uint8) if gpu else y
    return x[0]


def _pillow_pass(torch: Any, x: Any, step: tuple[int, int], keep: tuple[int, int], interpolation: str) -> Any:
    """The first of two bicubic passes, made by Pillow itself: the reference's own intermediate, to the bit.

    torch's uint8 kernel keeps int16 weights where Pillow keeps 22-bit ones; its rounding in the first pass,
    fed through the second pass's negative lobes, can reach 2 levels. With the intermediate exact, the second
    pass (torch's) is off by far less than a level before rounding, so the result is within 1 level.
    Only the lines ``keep`` (rows for a horizontal pass, columns for a vertical one) are resampled: a pass
    along one axis treats every line of the other apart, with the same weights; the others are left zero.
    """
    from PIL import Image

    hwc = x[0].permute(1, 2, 0).numpy()  # channels-last memory: a contiguous H×W×C view, no copy
    lo, hi = keep
    horizontal = step[0] == hwc.shape[0]  # a horizontal pass keeps the height: rows lo..hi, else columns lo..hi
    lines = (slice(lo, hi),) if horizontal else (slice(None), slice(lo, hi))
    size = (step[1], hi - lo) if horizontal else (hi - lo, step[0])
    filt = Image.Resampling.BICUBIC if interpolation == "bicubic" else Image.Resampling.BILINEAR
    done = np.asarray(Image.fromarray(np.ascontiguousarray(hwc[lines])).resize(size, filt))
    if (lo, hi) == (0, hwc.shape[0 if horizontal else 1]):
        return torch.from_numpy(done.copy())[None].permute(0, 3, 1, 2)
    out = np.zeros((step[0], step[1], hwc.shape[2]), np.uint8)
    out[lines] = done
    return torch.from_numpy(out)[None].permute(0, 3, 1, 2)


def _needed(shape: Any, size: tuple[int, int], crop: tuple[int, int] | None) -> tuple[int, int]:
    """The input lines that a two-pass bicubic resize of ``shape`` (h, w) to ``size`` (h, w) reads in its second
    pass for a center ``crop`` of the result: rows when the first pass is horizontal, columns when vertical.
    Bounded with a margin of 2 lines each side (the crop's rounding and the window's)."""
    h, w = int(shape[0]), int(shape[1])
    horizontal = not _vertical_first(w, h, size[1], size[0])
    n_in, n_out, c = (h, size[0], crop[0] if crop else 0) if horizontal else (w, size[1], crop[1] if crop else 0)
    if crop is None or c >= n_out:
        return 0, n_in
    first = (n_out - c) // 2 - 1  # the crop's first line, or the one before
    scale = n_in / n_out
    support = 2.0 * max(scale, 1.0)  # bicubic's support, widened when it shrinks
    lo = int(np.floor(first * scale - support)) - 2
    hi = int(np.ceil((first + c + 2) * scale + support)) + 2
    return max(lo, 0), min(hi, n_in)


def _vertical_first(w_in: int, h_in: int, w_out: int, h_out: int) -> bool:
    """Whether Pillow resamples the height first: from Pillow 13, when the height shrinks by more than twice
    the width's shrink (in pixels); before, never."""
    if _TORCH.get("pillow_major") is None:
        import PIL

        _TORCH["pillow_major"] = int(PIL.__version__.split(".")[0])
    if _TORCH["pillow_major"] < 13:
        return False
    return h_in - h_out > 0 and h_in - h_out > (w_in - w_out) * 2


def resize_crop_tensor(torch: Any, chw: Any, pp: Preprocess, gpu: bool = False) -> np.ndarray:
    """Resize and center-crop a decoded uint8 3×H×W tensor as :func:`~zoobench.data.transforms.resize_crop`
    does an RGB image; a contiguous uint8 (3, crop_h, crop_w) array."""
    from zoobench.data.transforms import center_crop, shorter_side_size

    ch, cw = pp.crop_size
    _, h, w = chw.shape
    if pp.resize_mode == "squash":
        out = _resize(torch, chw, (pp.resize, pp.resize), pp.interpolation, gpu, (ch, cw))
        top, left = int((pp.resize - ch) / 2), int((pp.resize - cw) / 2)
        return np.ascontiguousarray(out[:, top : top + ch, left : left + cw].cpu().numpy())
    nw, nh = (pp.resize, pp.resize) if pp.resize_mode == "squash_center" else shorter_side_size(w, h, pp.resize)
    if (nw, nh) != (w, h):  # torchvision returns the image untouched when the size already fits
        chw = _resize(torch, chw, (nh, nw), pp.interpolation, gpu, (ch, cw))
    hwc = chw.permute(1, 2, 0).cpu().numpy()
    return np.ascontiguousarray(center_crop(hwc, ch, cw).transpose(2, 0, 1))


def decode_bytes(
    raw: bytes, name: str, pp: Preprocess, decoder: str = REFERENCE, fallbacks: Counter[str] | None = None
) -> np.ndarray:
    """One file's bytes → uint8 (3, H, W) with ``decoder``; what the fast path cannot do, the reference does.

    Args:
        raw: the file's bytes.
        name: its name, for the reference's error messages.
        pp: the preprocessing spec.
        decoder: ``reference``, ``fast`` or ``nvjpeg``.
        fallbacks: counts each image the fast path handed to the reference, by reason.

    Raises:
        DataError: the image cannot be used (the reference's reason).
        RuntimeUnavailableError: torchvision's decoder cannot be loaded (not a per-image skip: the run stops).
    """
    if decoder != REFERENCE:
        reason = _fast_reason(raw, pp)
        if reason is None:
            torch = _torch()
            gpu = decoder == NVJPEG
            try:
                chw = (_decode_cuda if gpu else _decode_cpu)(torch, raw)
            except RuntimeError:
                reason = "corrupt JPEG (the fast decoder rejected it)"
            else:
                return resize_crop_tensor(torch, chw, pp, gpu)
        if fallbacks is not None:
            fallbacks[reason] += 1
    return _reference(raw, name, pp)


def _fast_reason(raw: bytes, pp: Preprocess) -> str | None:
    from PIL import Image

    if pp.interpolation not in ("bilinear", "bicubic"):
        return f"{pp.interpolation} resize (reference only)"
    return sniff(raw, Image.MAX_IMAGE_PIXELS)


def _reference(raw: bytes, name: str, pp: Preprocess) -> np.ndarray:
    import io

    from zoobench.data.transforms import to_chw_uint8

    buf = io.BytesIO(raw)
    buf.name = name  # type: ignore[attr-defined]
    return to_chw_uint8(buf, pp)


def fallback_totals(state: dict[str, Any]) -> dict[str, int]:
    """Images the fast decoder handed to the reference, by reason, over every chunk (resumed ones too)."""
    total: Counter[str] = Counter()
    for counts in state.get("fallbacks", {}).values():
        total.update(counts)
    return dict(sorted(total.items()))
