"""Two trees, the same commands on the same photos, outputs compared file by file.

    python benchmarks/compare_trees.py --old /tmp/old/src                # this tree's src vs an older one's

Runs in each tree (an empty engine cache each): prep, infer from the folder and from the prep cache, eval, and
`run` with onnxruntime fp32 + int8 on the demo's photos (EfficientNet-Lite0, real weights). Then, per output
file: identical bytes, or for JSON / CSV the keys or columns that differ once paths and timings are left out.
Not a test: it prints what differs, for a person to judge.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
TIMING = ("seconds", "_s", "_ms", "img_s", "elapsed", "time", "at", "date", "throughput", "latency", "stage")


def commands(out: Path, data: Path, labels: Path) -> list[list[str]]:
    m = "efficientnet_lite0"
    return [
        ["prep", "-d", str(data), "-m", m, "-o", str(out / "cache")],
        ["infer", m, "-d", str(data), "-l", str(labels), "-o", str(out / "infer-folder")],
        ["infer", m, "-d", str(out / "cache"), "-l", str(labels), "-o", str(out / "infer-cache")],
        ["eval", str(out / "infer-folder"), "-l", str(labels), "-o", str(out / "eval-result.json")],
        ["run", m, "--data", str(data), "--labels", str(labels), "--precisions", "fp32,int8", "-b", "8",
         "--seconds", "0.2", "--repeats", "1", "-o", str(out / "run")],
    ]  # fmt: skip


def run_tree(src: str, out: Path, data: Path, labels: Path) -> None:
    env = {**os.environ, "PYTHONPATH": src, "ZOOBENCH_CACHE": str(out.parent / f"{out.name}-cache")}
    for cmd in commands(out, data, labels):
        done = subprocess.run([sys.executable, "-m", "zoobench", *cmd], env=env, capture_output=True, text=True)
        said = (done.stderr.strip().splitlines() or [""])[-1] if done.returncode else ""
        print(f"{out.name}: zoobench {cmd[0]} -> exit {done.returncode} {said}", flush=True)


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        return {k: v for key, val in obj.items() for k, v in _flat(val, f"{prefix}.{key}" if prefix else key).items()}
    if isinstance(obj, list):
        return {k: v for i, val in enumerate(obj) for k, v in _flat(val, f"{prefix}[{i}]").items()}
    return {prefix: obj}


def _noise(key: str, a: Any, b: Any, roots: tuple[str, str]) -> bool:
    last = key.rsplit(".", 1)[-1].lower()
    if any(t in last for t in TIMING):
        return True
    return isinstance(a, str) and isinstance(b, str) and (roots[0] in a or roots[1] in b)


def _onnx_difference(a: Path, b: Path, roots: tuple[str, str]) -> str:
    """Whether the graphs (weights included) are the same, and which metadata differs beyond paths/timings."""
    import onnx

    ma, mb = onnx.load(str(a)), onnx.load(str(b))
    same = ma.graph.SerializeToString() == mb.graph.SerializeToString()
    da = {p.key: p.value for p in ma.metadata_props}
    db = {p.key: p.value for p in mb.metadata_props}
    keys = sorted(k for k in set(da) | set(db) if da.get(k) != db.get(k))
    return f"graph {'identical' if same else 'DIFFERS'}; metadata differs in: {', '.join(keys) or 'nothing'}"


def _listed(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


def compare(old: Path, new: Path) -> None:
    roots = (str(old), str(new))
    files = sorted(_listed(old) | _listed(new))
    for rel in files:
        a, b = old / rel, new / rel
        if not a.is_file() or not b.is_file():
            print(f"  {'only new' if b.is_file() else 'only old'}: {rel}")
            continue
        if a.read_bytes() == b.read_bytes():
            continue
        if rel.suffix == ".json":
            fa, fb = _flat(json.loads(a.read_text())), _flat(json.loads(b.read_text()))
            keys = sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k))
            keys = [k for k in keys if not _noise(k, fa.get(k), fb.get(k), roots)]
            more = " …" if len(keys) > 8 else ""
            print(f"  differs: {rel} ({len(keys)} keys beyond paths/timings: {', '.join(keys[:8])}{more})")
        elif rel.suffix == ".onnx":
            print(f"  differs: {rel} ({_onnx_difference(a, b, roots)})")
        elif rel.suffix == ".md":
            la, lb = a.read_text().splitlines(), b.read_text().splitlines()
            pairs = [(x, y) for x, y in zip(la, lb) if x != y]
            print(f"  differs: {rel} ({len(pairs)} lines of {len(la)} / {len(lb)}); first:")
            for x, y in pairs[:4]:
                print(f"    - {x[:150]}\n    + {y[:150]}")
        else:
            print(f"  differs: {rel} (bytes)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", default=str(HERE / "src"))
    args = ap.parse_args()
    sys.path.insert(0, args.new)
    from zoobench.demo import write_demo_images

    with tempfile.TemporaryDirectory(prefix="zoobench-trees-") as tmp:
        work = Path(tmp)
        labels = write_demo_images(work / "photos")
        for which in ("old", "new"):
            run_tree(getattr(args, which), work / which, work / "photos", labels)
        print("files that differ (identical files are not listed):")
        compare(work / "old", work / "new")


if __name__ == "__main__":
    main()
