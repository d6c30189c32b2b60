"""Benchmark the training engine (issue 3, item 6). Run by hand; prints markdown tables, asserts nothing.

    python bench/bench_training.py            # about four minutes on 2 cores
    python bench/bench_training.py --quick

1. GREEDINESS tracking overhead per step, in the training loop: each step takes the sampler's next batch
   from a cached-feature-like table (N = 50,000, 768-d → 128-d, B = 512, 10 classes) and runs forward,
   loss, backward and Adam. With tracking it runs the trainer's ``train_step`` (plus its share of the
   end-of-epoch reduction); without, the bare step (plain ``loss_fn(e, y)``, no counting, no retained
   gradient). Median of the ratios of adjacent blocks of 5 steps, 100 pairs per loss, with the
   interquartile range. Goal: ≤ 5 % overhead. The last two columns repeat the measurement on one fixed
   batch (no gather), the strictest reference: the cost of the step's arithmetic alone. Tracking includes
   ``effective_active_ratio`` (an O(B²) pass over ∂L/∂S) on every ``--effective-every``-th step (default:
   the tracker's); ``--effective-every 1000000`` leaves it out after each epoch's first step.
2. Head-training throughput at that size: steps/s and the achieved GFLOP/s of the step's FLOP estimate
   (head forward 2·B·F·D, backward twice that; the loss's B×B similarity 2·B²·D forward, twice that
   backward; elementwise work ignored).
3. ``vgteach study`` default wall time (all seven losses on digits, profile book), timed as a subprocess.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

from vgteach.losses import LOSS_NAMES, build_loss
from vgteach.track import EFFECTIVE_EVERY, GreedinessTracker
from vgteach.training.head import EmbeddingHead
from vgteach.training.sampler import MPerClassBatches
from vgteach.training.trainer import train_step

B, F, D, K = 512, 768, 128, 10


N = 50_000  # feature-table size: CIFAR-10's training split
STEPS_PER_EPOCH = N // B
effective_every = EFFECTIVE_EVERY


def setup(name: str) -> dict:
    """One loss's training state on a random ``[N, F]`` feature table, as the trainer holds it."""
    torch.manual_seed(0)
    labels = torch.arange(N) % K
    head = EmbeddingHead(F, D)
    loss_fn = build_loss(name, num_classes=K, embedding_dim=D)
    return {
        "features": torch.randn(N, F),
        "labels": labels,
        "head": head,
        "loss_fn": loss_fn,
        "tracker": GreedinessTracker(loss_fn, head, effective_every),
        "optimizer": torch.optim.Adam([*head.parameters(), *loss_fn.parameters()], lr=1e-4),
        "batches": MPerClassBatches(labels, B, 4, seed=0).epoch(1),
        "step": 0,
    }


def next_batch(state: dict, gather: bool):
    """The next sampler batch gathered from the table (``gather``), or always the first one."""
    state["step"] += 1
    idx = state["batches"][state["step"] % len(state["batches"]) if gather else 0]
    return state["features"][idx], state["labels"][idx]


def step_plain(state: dict, gather: bool) -> None:
    """The reference: the trainer's bare step (``train_step`` without a tracker: the loss alone, nothing
    counted, no hook)."""
    x, y = next_batch(state, gather)
    train_step(state["head"], state["loss_fn"], state["optimizer"], x, y, False)


def step_tracked(state: dict, gather: bool) -> None:
    """What the trainer runs (``train_step``), plus its share of the tracker's end-of-epoch reduction."""
    x, y = next_batch(state, gather)
    tracker = state["tracker"]
    train_step(state["head"], state["loss_fn"], state["optimizer"], x, y, False, tracker)
    if tracker.steps == STEPS_PER_EPOCH:
        tracker.end_epoch()


def time_block(fn, state: dict, gather: bool, steps: int) -> float:
    tic = time.perf_counter()
    for _ in range(steps):
        fn(state, gather)
    return (time.perf_counter() - tic) / steps


def paired_overhead(state: dict, gather: bool, pairs: int, block: int) -> tuple[float, float, list]:
    """Blocks of ``block`` plain and ``block`` tracked steps alternate; each tracked block is divided by the
    plain block beside it. Load on a shared machine drifts over seconds, so adjacent blocks see the same
    load and the median of the ratios stays stable where absolute times wander by 10 %.
    Returns (median plain step, median tracked step, ratios)."""
    for fn in (step_plain, step_tracked):
        time_block(fn, state, gather, 3)  # warm-up
    plain, tracked, ratios = [], [], []
    for i in range(pairs):
        order = (step_plain, step_tracked) if i % 2 == 0 else (step_tracked, step_plain)
        times = {fn: time_block(fn, state, gather, block) for fn in order}
        plain.append(times[step_plain])
        tracked.append(times[step_tracked])
        ratios.append(times[step_tracked] / times[step_plain])
    return statistics.median(plain), statistics.median(tracked), ratios


def percent(ratio: float) -> str:
    return f"{100 * (ratio - 1):+.1f} %"


def overhead_table(losses, pairs: int, block: int) -> tuple[str, dict]:
    rows, per_step = [], {}
    for name in losses:
        state = setup(name)
        p_fixed, t_fixed, r_fixed = paired_overhead(state, False, pairs, block)
        p, t, ratios = paired_overhead(state, True, pairs, block)
        per_step[name] = t
        q1, median, q3 = statistics.quantiles(ratios, n=4)
        rows.append(
            f"| {name} | {p * 1e3:.2f} | {t * 1e3:.2f} | {(t - p) * 1e6:+.0f} | {percent(median)} "
            f"| {percent(q1)} … {percent(q3)} | {'yes' if median <= 1.05 else 'NO'} "
            f"| {p_fixed * 1e3:.2f} | {percent(statistics.median(r_fixed))} |"
        )
    header = [
        "| loss | step without tracking (ms) | with tracking (ms) | difference (µs) | overhead "
        "| interquartile range | ≤ 5 % | bare step, one fixed batch (ms) | overhead there |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    return "\n".join(header + rows), per_step


def flop_table(per_step: dict) -> str:
    head = 3 * 2 * B * F * D
    loss = 3 * 2 * B * B * D
    flops = head + loss
    rows = [f"| {name} | {1 / t:.0f} | {flops / t / 1e9:.1f} |" for name, t in per_step.items()]
    header = [
        f"FLOP estimate per step: {flops / 1e6:.0f} MFLOP (head {head / 1e6:.0f}, loss similarity {loss / 1e6:.0f})",
        "",
        "| loss | steps/s | achieved GFLOP/s |",
        "|---|---|---|",
    ]
    return "\n".join(header + rows)


def study_wall_time() -> str:
    with tempfile.TemporaryDirectory() as out:
        tic = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "vgteach", "study", "--out", out, "--no-progress"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - tic
    return (
        f"| command | wall time (s) | goal |\n|---|---|---|\n"
        f"| `vgteach study` (7 losses, digits, book) | {seconds:.1f} | ≤ 60 s: {'yes' if seconds <= 60 else 'NO'} |"
    )


def main() -> None:
    global F, effective_every
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--no-study", action="store_true", help="skip the `vgteach study` wall time")
    parser.add_argument("--losses", nargs="+", choices=LOSS_NAMES, default=list(LOSS_NAMES))
    parser.add_argument(
        "--features",
        type=int,
        default=F,
        help="feature dimension (768: ViT-B/32, the paper; 1280: EfficientNet-Lite0, our CIFAR runs)",
    )
    parser.add_argument(
        "--effective-every",
        type=int,
        default=EFFECTIVE_EVERY,
        help="take effective_active_ratio on every k-th step (the tracker's default: %(default)s)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    F, effective_every = args.features, args.effective_every
    pairs, block = (30, 5) if args.quick else (100, 5)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, B={B}, {F}-d → {D}-d, {K} classes, "
        f"effective_active_ratio every {effective_every} step(s)\n"
    )
    table, per_step = overhead_table(args.losses, pairs, block)
    print("### Greediness tracking overhead per training step\n")
    print(table + "\n")
    print(f"### Head-training throughput (cached {F}-d features, batch 512)\n")
    print(flop_table(per_step) + "\n")
    if not args.no_study:
        print("### `vgteach study` default\n")
        print(study_wall_time())


if __name__ == "__main__":
    main()
