"""An image replaced in place redoes only the chunks that hold it (infer from a folder, from a cache, prep, and
through ``run``); images added or removed redo from the first chunk that shifted; each rerun says which.

The interruption is deterministic: the n-th chunk save raises (no timing, no signal)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from datahelp import write_jpegs

from zoobench.infer.stage import do_infer


class Interrupted(Exception):
    pass


def _saves(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, stop_after: int | None) -> list[Any]:
    """Record the first argument after the folder of every ``module.name`` call (the chunk id); with ``stop_after``
    raise right after that many calls (an interrupted run that saved them)."""
    real, seen = getattr(module, name), []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        seen.append(args[1])
        if stop_after is not None and len(seen) == stop_after:
            raise Interrupted(f"interrupted after {stop_after} chunks")
        return out

    monkeypatch.setattr(module, name, wrapped)
    return seen


def _replace(path: Path) -> None:
    """Another JPEG under the same name."""
    from PIL import Image

    Image.new("RGB", (70, 50), (250, 20, 20)).save(path, quality=90)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    pytest.importorskip("skimage")
    d = tmp_path / "val"
    write_jpegs(d, 48)
    return d


def _infer(model: Path, data: Path, out: Path) -> dict[str, Any]:
    return do_infer(str(model), str(data), outdir=str(out), batch_size=4, chunk=8, workers=0, quiet=True)


def test_infer_redoes_only_the_chunk_of_a_replaced_image(
    folder: Path, tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zoobench.infer import chunks

    out = tmp_path / "run"
    with monkeypatch.context() as m:
        _saves(m, chunks, "_save_chunk", stop_after=3)
        with pytest.raises(Interrupted):
            _infer(tiny_onnx, folder, out)
    _replace(sorted(folder.iterdir())[10])  # in chunk 1 (images 8-15)
    with monkeypatch.context() as m:
        saved = _saves(m, chunks, "_save_chunk", stop_after=None)
        summary = _infer(tiny_onnx, folder, out)
    assert sorted(saved) == [1, 3, 4, 5]  # chunk 1 again, and those the interrupted run never reached
    st = summary["stages"]
    assert st["resumed_images"] == 16 and st["replaced_images"] == 1
    assert st["resume"] == "resumed 16 of 48 images from an interrupted run; 1 replaced since the interrupted run"
    ref = tmp_path / "ref"
    _infer(tiny_onnx, folder, ref)
    assert (out / "predictions.csv").read_bytes() == (ref / "predictions.csv").read_bytes()


def test_infer_redoes_from_the_first_shifted_chunk_and_says_so(
    folder: Path, tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zoobench.infer import chunks

    out = tmp_path / "run"
    with monkeypatch.context() as m:
        _saves(m, chunks, "_save_chunk", stop_after=4)
        with pytest.raises(Interrupted):
            _infer(tiny_onnx, folder, out)
    images = sorted(folder.iterdir())
    images[20].unlink()  # in chunk 2: chunks 0 and 1 hold the same images, 2 on have shifted
    with monkeypatch.context() as m:
        saved = _saves(m, chunks, "_save_chunk", stop_after=None)
        summary = _infer(tiny_onnx, folder, out)
    assert sorted(saved) == [2, 3, 4, 5]
    assert summary["stages"]["resume"] == (
        f"resumed 16 of 47 images from an interrupted run; images were added or removed from {images[16].name} on: "
        "redone from there"
    )
    ref = tmp_path / "ref"
    _infer(tiny_onnx, folder, ref)
    assert (out / "predictions.csv").read_bytes() == (ref / "predictions.csv").read_bytes()


def test_prep_redoes_only_the_chunk_of_a_replaced_image_and_cache_fed_infer_too(
    folder: Path, tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zoobench.artifact import load_engine
    from zoobench.data import cache
    from zoobench.data.cache import prep_cache
    from zoobench.infer import chunks

    pp, out = load_engine(str(tiny_onnx)).preprocess, tmp_path / "cache"
    with monkeypatch.context() as m:
        done = _progress_chunks(m, cache, stop_after=3)
        with pytest.raises(Interrupted):
            prep_cache(folder, pp, out, workers=0, chunk=8)
    _replace(sorted(folder.iterdir())[3])  # in chunk 0
    with monkeypatch.context() as m:
        done = _progress_chunks(m, cache, stop_after=None)
        meta = prep_cache(folder, pp, out, workers=0, chunk=8)
    assert done == [0, 3, 4, 5]
    assert meta["status"] == "resumed" and meta["zoobench_cache"] == 2 and len(meta["marks"]) == 48
    assert meta["note"] == "resumed 16 of 48 images from an interrupted build; 1 replaced since the interrupted build"
    ref = tmp_path / "ref"
    assert prep_cache(folder, pp, ref, workers=0, chunk=8)["note"] is None
    assert (out / "images.npy").read_bytes() == (ref / "images.npy").read_bytes()

    # a cache-fed infer compares its chunks by the rows' recorded marks
    run = tmp_path / "run"
    with monkeypatch.context() as m:
        _saves(m, chunks, "_save_chunk", stop_after=2)
        with pytest.raises(Interrupted):
            _infer(tiny_onnx, out, run)
    _replace(sorted(folder.iterdir())[40])  # chunk 5
    prep_cache(folder, pp, out, workers=0, chunk=8)
    with monkeypatch.context() as m:
        saved = _saves(m, chunks, "_save_chunk", stop_after=None)
        summary = _infer(tiny_onnx, out, run)
    assert sorted(saved) == [2, 3, 4, 5] and summary["stages"]["resumed_images"] == 16
    _replace(sorted(folder.iterdir())[0])


def _progress_chunks(m: pytest.MonkeyPatch, cache: Any, stop_after: int | None) -> list[int]:
    """The chunks each progress.json write adds; with ``stop_after``, raise after that many writes."""
    real, added = cache._write_progress, []

    def wrapped(outp: Path, state: dict[str, Any]) -> None:
        real(outp, state)
        added.append(int(list(state["done"])[-1]))  # the chunk just finished (kept ones were loaded before it)
        if stop_after is not None and len(added) == stop_after:
            raise Interrupted("interrupted")

    m.setattr(cache, "_write_progress", wrapped)
    return added


def test_an_old_format_cache_is_rebuilt_and_prep_says_so(folder: Path, tiny_onnx: Path, tmp_path: Path) -> None:
    from zoobench.artifact import load_engine
    from zoobench.data.cache import prep_cache

    pp, out = load_engine(str(tiny_onnx)).preprocess, tmp_path / "cache"
    prep_cache(folder, pp, out, workers=0)
    meta = json.loads((out / "meta.json").read_text())
    meta["zoobench_cache"] = 1
    del meta["marks"]
    (out / "meta.json").write_text(json.dumps(meta))
    again = prep_cache(folder, pp, out, workers=0)
    assert again["status"] == "built" and "marks" in again
    assert again["note"] == "rebuilt: the cache there was made by an older zoobench (cache format 1)"


def test_run_resumes_a_killed_infer_through_the_cache_and_its_stage_line_says_so(
    folder: Path, tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run``: folder -> prep cache -> infer, interrupted during infer; one image replaced; the rerun infers
    only that image's chunk and the ones never reached, and ends with a fresh run's predictions."""
    from click.testing import CliRunner

    from zoobench.cli import cli
    from zoobench.infer import chunks

    def run(rundir: Path) -> str:
        args = ["run", str(tiny_onnx), "--data", str(folder), "-b", "1", "--seconds", "0.02", "--min-iters", "2"]
        res = CliRunner().invoke(cli, [*args, "--warmup", "0", "--infer-batch-size", "4", "-o", str(rundir)])
        return res.output

    rundir = tmp_path / "run"
    with monkeypatch.context() as m:
        _saves(m, chunks, "_save_chunk", stop_after=5)
        out = run(rundir)
    assert "infer: error" in out or "ERROR" in out, out
    _replace(sorted(folder.iterdir())[6])  # the second chunk of 4 images
    with monkeypatch.context() as m:
        saved = _saves(m, chunks, "_save_chunk", stop_after=None)
        out = run(rundir)
    assert sorted(saved) == [1, *range(5, 12)], out
    assert "infer: 48 images, 0 skipped; resumed 16 of 48 images from an interrupted run; 1 replaced since the " \
        "interrupted run" in out, out  # fmt: skip
    fresh = tmp_path / "fresh"
    run(fresh)
    mdir = next(p for p in rundir.iterdir() if p.is_dir())
    ref = fresh / mdir.name
    assert (mdir / "infer" / "predictions.csv").read_bytes() == (ref / "infer" / "predictions.csv").read_bytes()


def test_prep_bin_redoes_from_the_first_shifted_chunk_and_drops_a_removed_image(
    folder: Path, tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zoobench.artifact import load_engine
    from zoobench.data import cache
    from zoobench.data.cache import prep_cache

    pp, out = load_engine(str(tiny_onnx)).preprocess, tmp_path / "bins"
    with monkeypatch.context() as m:
        _progress_chunks(m, cache, stop_after=3)
        with pytest.raises(Interrupted):
            prep_cache(folder, pp, out, workers=0, chunk=8, fmt="bin")
    images = sorted(folder.iterdir())
    images[12].unlink()  # chunk 1: chunk 0 is kept, 1 on shifted
    with monkeypatch.context() as m:
        done = _progress_chunks(m, cache, stop_after=None)
        meta = prep_cache(folder, pp, out, workers=0, chunk=8, fmt="bin")
    assert done == [1, 2, 3, 4, 5]
    assert meta["note"] == (
        f"resumed 8 of 47 images from an interrupted build; images were added or removed from {images[8].name} on: "
        "redone from there"
    )
    assert not (out / f"{images[12].stem}.bin").exists() and len(list(out.glob("*.bin"))) == 47


def test_infer_with_other_settings_starts_over_and_says_why(
    folder: Path, tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zoobench.infer import chunks

    out = tmp_path / "run"
    with monkeypatch.context() as m:
        _saves(m, chunks, "_save_chunk", stop_after=2)
        with pytest.raises(Interrupted):
            _infer(tiny_onnx, folder, out)
    summary = do_infer(str(tiny_onnx), str(folder), outdir=str(out), batch_size=2, chunk=8, workers=0, quiet=True)
    assert summary["stages"]["resumed_images"] == 0
    assert summary["stages"]["resume"] == (
        "an interrupted run's 2 saved chunk(s) were made with another engine or other settings: starting over"
    )
