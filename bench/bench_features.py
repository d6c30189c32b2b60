"""Feature-extraction throughput per backbone (images/s), the one-off cost of the frozen-backbone protocol.

Runs each backbone of :data:`vgteach.backbones.BACKBONE_NAMES` over the same sample of CIFAR-10 test
images (the real JPEGs when ``--root`` holds them, else random 32x32 images), through the same path as
:func:`vgteach.data.load_inputs` (dataset transform + :func:`vgteach.features.extract_features`, no cache).
Backbones whose weights are not installed are listed as skipped (``--random-weights`` times them with
random weights instead: the speed is the same). ``identity`` measures decoding and
tensor conversion alone; ``cnn`` is an untrained SmallCNN forward pass (end-to-end training does this
every epoch). Ratios are against the slowest backbone measured in the same run.

    python bench/bench_features.py [--images 256] [--batch-size 64] [--device auto] [--root ../shared/data] [--random-weights]
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
from vgteach.features import extract_features, resolve_device


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
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--backbones", nargs="*", default=list(BACKBONE_NAMES))
    parser.add_argument("--random-weights", action="store_true",
                        help="time backbones whose weights are missing with random weights (same speed)")
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
        extract_features(module, Subset(dataset, list(range(min(8, len(dataset))))), batch_size=8,
                         device=device, progress=False)  # warm-up (allocations, lazy init)
        start = time.perf_counter()
        features, _ = extract_features(module, dataset, batch_size=args.batch_size, device=device, progress=False)
        seconds = time.perf_counter() - start
        rows.append((label, len(dataset), tuple(features.shape[1:]), seconds, len(dataset) / seconds))
    print(f"Feature extraction on {device} ({torch.get_num_threads()} threads), {args.images} images from {source}, "
          f"batch {args.batch_size}\n")
    slowest = min((row[4] for row in rows), default=1.0)
    print("| backbone | images | feature shape | seconds | images/s | x slowest |")
    print("|---|---:|---|---:|---:|---:|")
    for name, count, shape, seconds, rate in rows:
        print(f"| {name} | {count} | {list(shape)} | {seconds:.2f} | {rate:.1f} | {rate / slowest:.1f} |")
    for line in skipped:
        print(f"\nskipped {line}")


if __name__ == "__main__":
    main()
