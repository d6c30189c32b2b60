"""Cost of ``greediness_stats`` at the paper's batch size (B = 512, D = 128, 64 classes), beside a bare
forward + backward of the same loss (the reference, measured in the same run).

    python bench/bench_greediness.py [--repeats 5]

``greediness_stats`` is one forward and one backward of the loss on a detached copy, plus the term count,
the participation ratio of |∂L/∂S| and a few reductions with one host transfer: the ratio column says what
the diagnostic adds to the loss's own cost.
"""

from __future__ import annotations

import argparse
import time

import torch

from vgteach import build_loss, greediness_stats
from vgteach.losses import LOSS_NAMES


def median_ms(fn, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * sorted(times)[repeats // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(64).repeat_interleave(8)
    embeddings = torch.randn(512, 128, generator=gen)
    print(
        f"greediness_stats at B=512, D=128 (CPU, float32, {torch.get_num_threads()} threads, "
        f"median of {args.repeats})\n"
    )
    print("| loss | greediness_stats (ms) | loss fwd+bwd (ms) | ratio |")
    print("|---|---:|---:|---:|")
    for name in LOSS_NAMES:
        torch.manual_seed(0)
        loss_fn = build_loss(name, num_classes=64, embedding_dim=128)

        def bare():
            e = embeddings.clone().requires_grad_(True)
            torch.autograd.grad(loss_fn(e, labels), e)

        stats = median_ms(lambda: greediness_stats(loss_fn, embeddings, labels), args.repeats)
        reference = median_ms(bare, args.repeats)
        print(f"| {name} | {stats:.1f} | {reference:.1f} | {stats / reference:.2f} |")


if __name__ == "__main__":
    main()
