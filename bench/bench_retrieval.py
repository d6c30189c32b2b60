"""Benchmark :func:`vgteach.retrieval.retrieval_metrics`. Run by hand; prints a markdown table, asserts nothing.

    python bench/bench_retrieval.py              # N = 10,000, D = 128, 100 classes, median of 5 runs
    python bench/bench_retrieval.py --repeats 3 --n 5000

Cases, all on the CPU with 2 torch threads, all computing leave-one-out cosine retrieval on the same
random clustered embeddings (100 classes of 100, so R = 99 for every query):

- ``ours, torch``  — ``retrieval_metrics(..., nmi=False, use_faiss=False)``: chunked exact matmul + topk
  (what the default ``"auto"`` picks at this N: faiss only above N = 20,000).
- ``ours, faiss``  — ``use_faiss=True``.
- ``PML``          — pytorch-metric-learning's ``AccuracyCalculator(k="max_bin_count")`` with its default
  faiss k-NN, on L2-normalised embeddings (L2 ranking = cosine ranking there), computing the same three
  metrics: precision_at_1, r_precision, mean_average_precision_at_r.
- ``bare``         — normalise + one full matmul + ``topk(k = max R + 1)``; no metric, no tie handling: the
  floor for an exact torch search.

Goals: ours at least as fast as PML, and within 3x of ``bare``. Timings are interleaved (one run of each
case per round) so that load on a shared machine hits all alike. Peak memory is the resident-set high-water
mark in a fresh subprocess during one call, minus the RSS just before it (Linux ``/proc/self/clear_refs``;
glibc with a fixed mmap threshold so that freed tensors leave the RSS at once): everything the process
touches, not only tensor bytes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from peak_memory import peak_growth, run_child  # noqa: E402

from vgteach.retrieval import retrieval_metrics  # noqa: E402

THREADS = 2
PML_METRICS = ("precision_at_1", "r_precision", "mean_average_precision_at_r")


def make_inputs(n: int, dim: int, classes: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % classes
    centers = torch.randn(classes, dim, generator=g)
    return centers[labels] + 1.5 * torch.randn(n, dim, generator=g), labels


def ours_torch(x, y):
    out = retrieval_metrics(x, y, nmi=False, use_faiss=False)
    return out["recall@1"], out["r_precision"], out["map@r"]


def ours_faiss(x, y):
    out = retrieval_metrics(x, y, nmi=False, use_faiss=True)
    return out["recall@1"], out["r_precision"], out["map@r"]


def pml(x, y):
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

    out = AccuracyCalculator(include=PML_METRICS, k="max_bin_count").get_accuracy(F.normalize(x, dim=1), y)
    return tuple(out[m] for m in PML_METRICS)


def bare(x, y):
    z = F.normalize(x, dim=1)
    k = int(torch.bincount(y).max())  # max R + 1 (self included)
    (z @ z.T).topk(k, dim=1)
    return None


CASES = {
    "ours, torch (default)": ours_torch,
    "ours, faiss": ours_faiss,
    "PML AccuracyCalculator (faiss)": pml,
    "bare normalize + matmul + topk": bare,
}


def time_cases(x, y, repeats: int) -> tuple[dict, dict]:
    values = {name: fn(x, y) for name, fn in CASES.items()}  # warm-up, and the metric values
    samples = {name: [] for name in CASES}
    for _ in range(repeats):
        for name, fn in CASES.items():
            gc.collect()
            start = time.perf_counter()
            fn(x, y)
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in samples.items()}, values


# -- peak memory in a fresh process -----------------------------------------------------------------------
def child(spec: dict) -> dict:
    torch.set_num_threads(THREADS)
    x, y = make_inputs(spec["n"], spec["dim"], spec["classes"])
    fn = CASES[spec["case"]]
    fn(x, y)  # warm-up (imports, faiss/BLAS buffers)
    return peak_growth(lambda: fn(x, y))


def peak_memory(case: str, n: int, dim: int, classes: int):
    """Peak RSS growth in MB of one call, measured in a fresh subprocess (None if it failed)."""
    return run_child(__file__, dict(case=case, n=n, dim=dim, classes=classes)).get("peak_mb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    torch.set_num_threads(THREADS)
    x, y = make_inputs(args.n, args.dim, args.classes)
    times, values = time_cases(x, y, args.repeats)
    memory = {name: None if args.no_memory else peak_memory(name, args.n, args.dim, args.classes) for name in CASES}
    reference, floor = times["PML AccuracyCalculator (faiss)"], times["bare normalize + matmul + topk"]

    print(
        f"retrieval_metrics, N = {args.n:,}, D = {args.dim}, {args.classes} classes, CPU, "
        f"{THREADS} threads, median of {args.repeats}\n"
    )
    print("| case | time (ms) | × PML | × bare | peak memory (MB) | recall@1 / r_precision / map@r |")
    print("|---|---|---|---|---|---|")
    for name in CASES:
        metrics = "—" if values[name] is None else " / ".join(f"{v:.6f}" for v in values[name])
        peak = "—" if memory[name] is None else f"{memory[name]:.0f}"
        print(
            f"| {name} | {times[name] * 1e3:.0f} | {times[name] / reference:.2f} | {times[name] / floor:.2f} "
            f"| {peak} | {metrics} |"
        )
    torch_path, faiss_path = times["ours, torch (default)"], times["ours, faiss"]
    yes = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    print(
        f"\ngoals: ours ≤ PML: torch {yes(torch_path <= reference)}, faiss {yes(faiss_path <= reference)}; "
        f"ours ≤ 3× bare: torch {yes(torch_path <= 3 * floor)}, faiss {yes(faiss_path <= 3 * floor)}"
    )


if __name__ == "__main__":
    main()
