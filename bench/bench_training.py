"""Benchmark the training engine (issue 3, item 6). Run by hand; prints markdown tables, asserts nothing.

    python bench/bench_training.py            # about two minutes on 2 cores
    python bench/bench_training.py --quick

1. GREEDINESS tracking overhead per step: a full step (forward, loss, backward, Adam) on cached-feature-
   like inputs (B = 512, 768-d → 128-d, 10 classes) with tracking against the same step without it
   (plain ``loss_fn(e, y)``, no retained gradient, no statistics). Median over interleaved repeats.
   Goal: ≤ 5 % overhead.
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

from vgteach.losses import LOSS_NAMES, PROXY_LOSSES, build_loss
from vgteach.training.head import EmbeddingHead
from vgteach.training.tracking import GreedinessTracker
from vgteach.training.trainer import loss_step

B, F, D, K = 512, 768, 128, 10


def setup(name: str):
    torch.manual_seed(0)
    x = torch.randn(B, F)
    y = torch.arange(B) % K
    head = EmbeddingHead(F, D)
    loss_fn = build_loss(name, num_classes=K, embedding_dim=D) if name in PROXY_LOSSES else build_loss(name)
    optimizer = torch.optim.Adam([*head.parameters(), *loss_fn.parameters()], lr=1e-4)
    return x, y, head, loss_fn, optimizer


def step_plain(x, y, head, loss_fn, optimizer, tracker):
    optimizer.zero_grad(set_to_none=True)
    loss_fn(head(x), y).backward()
    optimizer.step()


def step_tracked(x, y, head, loss_fn, optimizer, tracker):
    optimizer.zero_grad(set_to_none=True)
    out, emb = loss_step(head, loss_fn, x, y, amp=False)
    tracker.record(out.loss, out.num_terms, out.num_active, emb.grad, head.parameters(), list(loss_fn.parameters()))
    optimizer.step()


def time_steps(fn, state, steps: int) -> float:
    tic = time.perf_counter()
    for _ in range(steps):
        fn(*state)
    return (time.perf_counter() - tic) / steps


def overhead_table(repeats: int, steps: int) -> tuple[str, dict]:
    rows, per_step = [], {}
    for name in LOSS_NAMES:
        state = (*setup(name), GreedinessTracker("cpu"))
        for fn in (step_plain, step_tracked):
            time_steps(fn, state, 2)                               # warm-up
        plain, tracked = [], []
        for _ in range(repeats):                                   # interleaved: load hits both alike
            plain.append(time_steps(step_plain, state, steps))
            tracked.append(time_steps(step_tracked, state, steps))
        p, t = statistics.median(plain), statistics.median(tracked)
        per_step[name] = t
        rows.append(f"| {name} | {p * 1e3:.2f} | {t * 1e3:.2f} | {100 * (t / p - 1):+.1f} % | "
                     f"{'yes' if t / p <= 1.05 else 'NO'} |")
    header = ["| loss | plain step (ms) | tracked step (ms) | overhead | ≤ 5 % |", "|---|---|---|---|---|"]
    return "\n".join(header + rows), per_step


def flop_table(per_step: dict) -> str:
    head = 3 * 2 * B * F * D
    loss = 3 * 2 * B * B * D
    flops = head + loss
    rows = [f"| {name} | {1 / t:.0f} | {flops / t / 1e9:.1f} |" for name, t in per_step.items()]
    header = [f"FLOP estimate per step: {flops / 1e6:.0f} MFLOP (head {head / 1e6:.0f}, loss similarity "
              f"{loss / 1e6:.0f})", "", "| loss | steps/s | achieved GFLOP/s |", "|---|---|---|"]
    return "\n".join(header + rows)


def study_wall_time() -> str:
    with tempfile.TemporaryDirectory() as out:
        tic = time.perf_counter()
        subprocess.run([sys.executable, "-m", "vgteach", "study", "--out", out, "--no-progress"], check=True,
                       stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - tic
    return (f"| command | wall time (s) | goal |\n|---|---|---|\n"
            f"| `vgteach study` (7 losses, digits, book) | {seconds:.1f} | ≤ 60 s: {'yes' if seconds <= 60 else 'NO'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    repeats, steps = (3, 5) if args.quick else (9, 40)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, B={B}, {F}-d → {D}-d, {K} classes\n")
    table, per_step = overhead_table(repeats, steps)
    print("### Greediness tracking overhead per training step\n")
    print(table + "\n")
    print("### Head-training throughput (cached 768-d features, batch 512)\n")
    print(flop_table(per_step) + "\n")
    print("### `vgteach study` default\n")
    print(study_wall_time())


if __name__ == "__main__":
    main()
