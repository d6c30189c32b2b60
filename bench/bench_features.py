"""Feature-extraction throughput per backbone (images/s), the one-off cost of the frozen-backbone protocol.

Runs each backbone of :data:`vgteach.backbones.BACKBONE_NAMES` over the same sample of CIFAR-10 test
images (the real JPEGs when ``--root`` holds them, else random 32x32 images), through the same path as
:func:`vgteach.inputs.load_inputs` (dataset transform + :func:`vgteach.features.extract_features`, no cache).
Backbones whose weights are not installed are listed as skipped (``--random-weights`` times them with
random weights instead: the speed is the same). ``identity`` measures decoding and
tensor conversion alone; ``cnn`` is an untrained SmallCNN forward pass (end-to-end training does this
every epoch). Ratios are against the slowest backbone measured in the same run.

For EfficientNet-Lite0 the run also measures the **reference** pipeline it replaced, on the same images
and weights: batch norms not folded, a float32 per-image transform (``ToTensor`` + ``Normalize``) and
batch 256 — and prints the speed-up. Beside it, a FLOP-limit estimate: the network's FLOPs per image
(``torch.utils.flop_counter``) against the GEMM rate this machine reaches in the same run (a 1024x1024
float32 matmul), i.e. the images/s if every convolution ran at matrix-multiply speed.

    python bench/bench_features.py [--images 256] [--batch-size auto] [--device auto] [--root ../shared/data] [--random-weights]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from vgteach.backbones import BACKBONE_NAMES, build_backbone
from vgteach.data import get_dataset
from vgteach.device import resolve_device
from vgteach.features import extract_features


class RandomImages(Dataset):
    """Stand-in for CIFAR-10 when the real images are absent: random 32x32 RGB images."""

    def __init__(self, count, transform):
        rng = np.random.default_rng(0)
        self.images = rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)
        self.transform = transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.transform(Image.fromarray(self.images[index])), 0


class Subset(Dataset):
    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, indices

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]


def sample(root, count, transform):
    try:
        dataset = get_dataset("cifar10", "test", root=root, transform=transform)
    except FileNotFoundError:
        return RandomImages(count, transform), "random 32x32"
    indices = np.random.default_rng(0).choice(len(dataset), size=min(count, len(dataset)), replace=False)
    return Subset(dataset, indices.tolist()), f"CIFAR-10 test ({dataset.source})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=None, help="default: extract_features' (32 CPU, 256 GPU)")
    parser.add_argument("--no-reference", action="store_true", help="skip the EfficientNet-Lite0 reference pipeline")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--backbones", nargs="*", default=list(BACKBONE_NAMES))
    parser.add_argument(
        "--random-weights",
        action="store_true",
        help="time backbones whose weights are missing with random weights (same speed)",
    )
    args = parser.parse_args()
    device = resolve_device(args.device)
    torch.manual_seed(0)
    rows, skipped, source = [], [], ""
    for name in args.backbones:
        label = name
        try:
            module, transform, out_dim = build_backbone(name)
        except (FileNotFoundError, ImportError) as error:
            if not args.random_weights or isinstance(error, ImportError):
                skipped.append(f"{name}: {str(error).split(' (')[0]}")
                continue
            module, transform, out_dim = build_backbone(name, pretrained=False)
            label = f"{name} (random weights)"
        if name == "identity":
            from torchvision import transforms

            transform, module = transforms.PILToTensor(), None
        dataset, source = sample(args.root, args.images, transform)
        rows.append((label, *timed(module, dataset, args.batch_size, device)))
        if name == "efficientnet_lite0" and not args.no_reference:
            reference, reference_transform = lite0_reference(module)
            reference_set, _ = sample(args.root, args.images, reference_transform)
            rows.append(
                (
                    "efficientnet_lite0, reference (BN unfolded, float transform, batch 256)",
                    *timed(reference, reference_set, 256, device),
                )
            )
            lite0_rates = rows[-2][-1], rows[-1][-1]
    print(
        f"Feature extraction on {device} ({torch.get_num_threads()} threads), {args.images} images from {source}, "
        f"batch {args.batch_size or 'auto'}\n"
    )
    slowest = min((row[4] for row in rows), default=1.0)
    print("| backbone | images | feature shape | seconds | images/s | x slowest |")
    print("|---|---:|---|---:|---:|---:|")
    for name, count, shape, seconds, rate in rows:
        print(f"| {name} | {count} | {list(shape)} | {seconds:.2f} | {rate:.1f} | {rate / slowest:.1f} |")
    for line in skipped:
        print(f"\nskipped {line}")
    if "lite0_rates" in locals():
        ours, before = lite0_rates
        gflop, gemm = lite0_gflop_per_image(), gemm_gflops(device)
        print(
            f"\nEfficientNet-Lite0: {ours:.1f} images/s vs reference {before:.1f} ({ours / before:.2f}x). "
            f"FLOP limit: {gflop:.2f} GFLOP/image at the measured GEMM rate {gemm:.0f} GFLOP/s = "
            f"{gemm / gflop:.0f} images/s; we reach {ours * gflop:.0f} GFLOP/s ({ours * gflop / gemm:.0%} of it)."
        )


def timed(module, dataset, batch_size, device):
    """``(images, feature shape, seconds, images/s)`` of one extraction after a small warm-up."""
    extract_features(
        module, Subset(dataset, list(range(min(8, len(dataset))))), batch_size=8, device=device, progress=False
    )  # warm-up (allocations, lazy init)
    start = time.perf_counter()
    features, _ = extract_features(module, dataset, batch_size=batch_size, device=device, progress=False)
    seconds = time.perf_counter() - start
    return len(dataset), tuple(features.shape[1:]), seconds, len(dataset) / seconds


def lite0_reference(module):
    """The pipeline before the speed-up: the same weights with batch norms unfolded and a float transform."""
    from torchvision import transforms

    from vgteach import efficientnet_lite0 as lite0
    from vgteach.backbones import FrozenBackbone, ToRGB

    network = lite0.EfficientNetLite0()
    if module.weights_id != "random":
        network.load_state_dict(torch.load(lite0.weights_path(), map_location="cpu", weights_only=True))
    transform = transforms.Compose(
        [
            ToRGB(),
            transforms.Resize(256, interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize((127 / 255,) * 3, (128 / 255,) * 3),
        ]
    )
    return FrozenBackbone("efficientnet_lite0", network, lite0.OUT_DIM, module.weights_id), transform


def lite0_gflop_per_image() -> float:
    from torch.utils.flop_counter import FlopCounterMode

    from vgteach import efficientnet_lite0 as lite0

    network = lite0.fold_batch_norms(lite0.EfficientNetLite0())
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        network(torch.zeros(1, 3, 224, 224))
    return counter.get_total_flops() / 1e9


def gemm_gflops(device, size: int = 1024, repeats: int = 20) -> float:
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


if __name__ == "__main__":
    main()
