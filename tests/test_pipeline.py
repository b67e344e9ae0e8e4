"""Real weights on real photos: zoobench's ONNX path predicts what a torchvision pipeline predicts."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from zoobench.artifact import load_engine
from zoobench.evaluate.files import read_predictions
from zoobench.evaluate.stage import do_eval
from zoobench.infer.loop import run_folder
from zoobench.infer.settings import InferSettings
from zoobench.infer.stage import do_infer


def _torch_reference(photos: Path) -> dict[str, list[int]]:
    torch = pytest.importorskip("torch")
    from PIL import Image
    from torchvision import transforms as T

    from zoobench.models import get_spec
    from zoobench.models.weights import build_model

    spec = get_spec("efficientnet_lite0")
    model, _ = build_model(spec, None)
    pp = spec.preprocess
    tf = T.Compose(
        [
            T.Resize(pp.resize, interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(224),
            T.ToTensor(),
            T.Normalize(pp.mean, pp.std),
        ]
    )
    out = {}
    for p in sorted(photos.iterdir()):
        with torch.inference_mode():
            logits = model(tf(Image.open(p).convert("RGB"))[None])[0]
        out[p.name] = logits.topk(5).indices.tolist()
    return out


def test_real_weights_on_real_photos(lite0_onnx: Path, photos: tuple[Path, Path], tmp_path: Path) -> None:
    folder, _labels = photos
    res = run_folder(load_engine(str(lite0_onnx)), folder, InferSettings(batch_size=2))
    got = dict(zip(res.names, res.topk_ids.tolist()))
    ref = _torch_reference(folder)
    assert set(got) == set(ref)
    for name in ref:
        assert got[name][0] == ref[name][0], name
    # what it truly predicts on these photos
    assert got["coffee.JPEG"][0] == 967  # espresso
    assert got["camera.JPEG"][0] == 872  # tripod
    assert got["rocket.JPEG"][0] == 657  # missile
    assert 281 in got["chelsea.JPEG"][:5]  # tabby, behind tiger cat / Egyptian cat
    assert res.topk_probs[:, 0].max() > 0.9 and np.all(np.diff(res.topk_probs, axis=1) <= 0)


def test_infer_then_eval_writes_seed_result_json(lite0_onnx: Path, photos: tuple[Path, Path], tmp_path: Path) -> None:
    folder, labels = photos
    data = tmp_path / "data"
    shutil.copytree(folder, data)
    (data / "broken.JPEG").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (data / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    summary = do_infer(str(lite0_onnx), str(data), outdir=str(out), batch_size=4, quiet=True)
    assert summary["images_inferred"] == 5 and summary["skipped"] == 2
    assert (out / "skipped.csv").read_text().count("\n") == 3
    assert {"data_read", "preprocess", "infer", "post", "e2e"} <= set(summary["stages"])
    acc = do_eval(str(out), str(labels), quiet=True).to_dict()
    assert acc["count"] == 4 and acc["unlabeled"] == 1 and acc["skipped"] == 2
    assert acc["top1"] == 75.0 and acc["top5"] == 100.0
    assert (out / "result.json").read_text() == (
        '{"title": "Overall statistical evaluation", "value": [{"key": "Number of images", "value": "4"}, '
        '{"key": "Number of classes", "value": "1000"}, {"key": "Top1 accuracy", "value": "75.0%"}, '
        '{"key": "Top2 accuracy", "value": "75.0%"}, {"key": "Top3 accuracy", "value": "100.0%"}, '
        '{"key": "Top4 accuracy", "value": "100.0%"}, {"key": "Top5 accuracy", "value": "100.0%"}]}'
    )
    preds = read_predictions(out / "predictions.csv")
    assert preds.names == sorted(preds.names) and len(preds.names) == 5


def test_worker_pool_gives_the_same_results_as_serial(lite0_onnx: Path, photos: tuple[Path, Path]) -> None:
    folder, _labels = photos
    eng = load_engine(str(lite0_onnx))
    serial = run_folder(eng, folder, InferSettings(batch_size=2, workers=0))
    pooled = run_folder(eng, folder, InferSettings(batch_size=2, workers=2))
    assert serial.names == pooled.names
    np.testing.assert_array_equal(serial.topk_ids, pooled.topk_ids)
    np.testing.assert_array_equal(serial.topk_probs, pooled.topk_probs)
    for st in (serial.stages, pooled.stages):
        assert st["infer"]["interface_throughput_img_s"] > 0 and st["e2e"]["seconds"] > 0
        assert {"data_read", "preprocess", "infer", "post", "e2e", "data_wait"} <= set(st)


def test_batch_size_defaults_to_16_on_cpu_and_64_on_gpu_runtimes() -> None:
    from zoobench.infer.settings import default_batch_size

    assert (default_batch_size("onnxruntime"), default_batch_size("openvino"), default_batch_size("tensorrt")) == (
        16,
        16,
        64,
    )
