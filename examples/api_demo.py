"""zoobench from Python: each stage by its function and settings object, then a whole run read back.

EfficientNet-Lite0 with its real ImageNet weights (the ``demo`` extra ships them) on five photographs from
scikit-image. Run it from the repository root::

    python examples/api_demo.py --out /tmp/api-demo

tests/test_examples.py runs it, so CI does too. docs/api.md explains each call.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from zoobench.artifact import resolve_preprocess
from zoobench.data.cache import prep_cache
from zoobench.data.settings import PrepSettings
from zoobench.demo import write_demo_images
from zoobench.engines import resolve_engine
from zoobench.evaluate.files import read_predictions
from zoobench.infer.settings import InferSettings
from zoobench.infer.stage import do_infer
from zoobench.perf.settings import PerfSettings
from zoobench.perf.sweep import do_perf
from zoobench.report.tables import load_model_run
from zoobench.run.chain import run_models
from zoobench.run.config import RunConfig

MODEL = "efficientnet_lite0"


def stages(out: Path, images: Path, labels: Path) -> None:
    """export -> prep -> infer (+ eval) -> perf, one function each."""
    engine = resolve_engine(MODEL, workdir=out / "engine")  # exports once (or reuses the engine cache)
    print(f"engine: {engine.path} ({engine.input_dtype} input)")

    cache = out / "cache"
    meta = prep_cache(images, resolve_preprocess(MODEL), cache, PrepSettings(workers=0))
    print(f"prep: {meta['status']}, {meta['count']} images")

    settings = InferSettings(labels=str(labels), outdir=str(out / "infer"), batch_size=8, workers=0, quiet=True)
    summary = do_infer(engine.path, str(cache), settings, engine=engine)
    acc = summary["accuracy"]
    print(f"infer: top-1 {acc['top1']:.1f}% top-5 {acc['top5']:.1f}% on {acc['count']} photos, gate {acc['gate']}")

    preds = read_predictions(out / "infer" / "predictions.csv")  # the file, read back as Predictions
    for name, ids in zip(preds.names, preds.topk_ids):
        print(f"  {name}: top-1 class {int(ids[0])}")

    timing = PerfSettings(batch_sizes=(1, 8), seconds=0.2, repeats=1, quiet=True, outdir=str(out / "perf"))
    perf = do_perf(engine.path, timing, engine=engine)
    print(f"perf: best {perf['best_throughput_img_s']:.1f} img/s at batch {perf['best_batch_size']}")


def whole_run(out: Path, images: Path, labels: Path) -> None:
    """Every stage at once, as `zoobench run` does, and the run directory read back."""
    cfg = RunConfig.of(data=str(images), labels=str(labels), batch_sizes=[1, 8], seconds=0.2, repeats=1, quiet=True)
    statuses = run_models([MODEL], out / "run", cfg)
    run = load_model_run(out / "run" / MODEL)
    assert run.accuracy is not None
    print(f"run: {statuses[MODEL]}; top-1 {run.accuracy.top1:.1f}%; perf columns {sorted(run.perf)}")
    print(f"report: {out / 'run' / 'report.html'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zoobench-api-") as tmp:
        out = args.out or Path(tmp)
        labels = write_demo_images(out / "images")
        stages(out, out / "images", labels)
        whole_run(out, out / "images", labels)


if __name__ == "__main__":
    main()
