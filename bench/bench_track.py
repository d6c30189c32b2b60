"""Benchmark the public tracker ``vgteach.track.GreedinessTracker`` in a user's loop. Prints a markdown table.

    python bench/bench_track.py            # 50 pairs of 5-step blocks per loss, 2 threads
    python bench/bench_track.py --quick

The loop a user writes: the sampler's next batch from a feature table (N = 50,000, 768-d → 128-d head,
B = 512, 10 classes), forward, loss, backward, Adam. Tracked: the loss wrapped by the tracker,
``tracker.step()`` after backward, ``end_epoch()`` every N / B steps (its share included). Bare: the same
loop with the loss itself. Overhead = median ratio of adjacent blocks of 5 tracked and 5 bare steps (the
order alternates), with the interquartile range, as in ``bench/bench_training.py``. Goal (issue 13): the
trainer's ≤ 5 %. Losses: pytorch-metric-learning's ContrastiveLoss, SupConLoss and ArcFaceLoss (its
NTXentLoss and TripletMarginLoss take seconds a step at B = 512, where any overhead vanishes), vgteach's
contrastive and supcon (counted terms and ``effective_active_ratio``: a second hook), and a hand-written loss.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from vgteach.losses import build_loss
from vgteach.track import GreedinessTracker
from vgteach.training.head import EmbeddingHead
from vgteach.training.sampler import MPerClassBatches

B, FEATURES, D, K, N = 512, 768, 128, 10, 50_000


def hand_written(embeddings, labels):
    z = F.normalize(embeddings, dim=1)
    same = (labels[:, None] == labels[None, :]).float()
    sim = z @ z.T
    return (1 - (sim * same).sum(1) / same.sum(1)).mean() + (sim * (1 - same)).clamp_min(0).mean()


def make_loss(name: str):
    from pytorch_metric_learning import losses as pml

    return {
        "PML ContrastiveLoss": lambda: pml.ContrastiveLoss(),
        "PML SupConLoss": lambda: pml.SupConLoss(temperature=0.1),
        "PML ArcFaceLoss": lambda: pml.ArcFaceLoss(num_classes=K, embedding_size=D),
        "vgteach contrastive": lambda: build_loss("contrastive"),
        "vgteach supcon": lambda: build_loss("supcon"),
        "hand-written": lambda: hand_written,
    }[name]()


def setup(name: str) -> dict:
    torch.manual_seed(0)
    labels = torch.arange(N) % K
    head, loss_fn = EmbeddingHead(FEATURES, D), make_loss(name)
    params = [*head.parameters(), *(loss_fn.parameters() if isinstance(loss_fn, torch.nn.Module) else [])]
    return {
        "features": torch.randn(N, FEATURES),
        "labels": labels,
        "head": head,
        "loss_fn": loss_fn,
        "tracker": GreedinessTracker(loss_fn, head),
        "optimizer": torch.optim.Adam(params, lr=1e-4),
        "batches": MPerClassBatches(labels, B, 4, seed=0).epoch(1),
        "step": 0,
    }


def step(state: dict, tracked: bool) -> None:
    state["step"] += 1
    idx = state["batches"][state["step"] % len(state["batches"])]
    x, y = state["features"][idx], state["labels"][idx]
    tracker = state["tracker"]
    state["optimizer"].zero_grad(set_to_none=True)
    loss = (tracker if tracked else state["loss_fn"])(state["head"](x), y)
    loss.backward()
    if tracked:
        tracker.step()
        if tracker.steps == N // B:
            tracker.end_epoch()
    state["optimizer"].step()


def block(state: dict, tracked: bool, steps: int) -> float:
    tic = time.perf_counter()
    for _ in range(steps):
        step(state, tracked)
    return (time.perf_counter() - tic) / steps


def overhead(name: str, pairs: int, size: int = 5) -> tuple[float, float, list]:
    state = setup(name)
    block(state, False, 3), block(state, True, 3)  # warm-up
    bare, tracked, ratios = [], [], []
    for i in range(pairs):
        order = (False, True) if i % 2 == 0 else (True, False)
        times = {t: block(state, t, size) for t in order}
        bare.append(times[False])
        tracked.append(times[True])
        ratios.append(times[True] / times[False])
    return statistics.median(bare), statistics.median(tracked), ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pairs = 15 if args.quick else 50
    print(
        f"B = {B}, {FEATURES}-d features -> {D}-d head, {K} classes, {args.threads} threads, {pairs} pairs "
        "of 5-step blocks\n"
    )
    print("| loss | bare step (ms) | tracked step (ms) | overhead (IQR) |")
    print("|---|---|---|---|")
    for name in (
        "PML ContrastiveLoss",
        "PML SupConLoss",
        "PML ArcFaceLoss",
        "vgteach contrastive",
        "vgteach supcon",
        "hand-written",
    ):
        bare, tracked, ratios = overhead(name, pairs)
        q1, median, q3 = statistics.quantiles(ratios, n=4)
        print(
            f"| {name} | {1e3 * bare:.2f} | {1e3 * tracked:.2f} | {100 * (median - 1):+.1f} % "
            f"({100 * (q1 - 1):+.1f} … {100 * (q3 - 1):+.1f}) |",
            flush=True,
        )


if __name__ == "__main__":
    main()
