"""Benchmark ``vgteach diagnose`` at scale. Run by hand; prints a markdown table, asserts nothing.

    python bench/bench_diagnose.py                         # N = 100,000, D = 512, 1,000 classes, 2 threads
    python bench/bench_diagnose.py --n 20000 --dim 128     # a quicker look

Goal (issue 13): 100,000 × 512 embeddings with 1,000 classes in ≤ 3 minutes and ≤ 3 GB peak memory on 2 CPU
cores. The embeddings are random but clustered (class centres ~ N(0, I), samples = centre + 1.5·N(0, I),
100 per class), saved as ``.npy`` (float32) and ``.npy`` labels, and the whole command runs in a fresh
process, reading the files, computing and writing the report: ``diagnose(embeddings.npy, labels.npy,
out=...)``. Wall time is that call's; peak memory is the process's resident-set high-water mark
(``VmHWM``: imports, the inputs and every temporary included) and, separately, its rise during the call
(:func:`peak_memory.peak_growth`). The per-stage times come from ``metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from peak_memory import peak_growth, run_child, status_kb  # noqa: E402


def make_inputs(folder: str, n: int, dim: int, classes: int, seed: int = 0) -> tuple[str, str]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    centres = rng.standard_normal((classes, dim), dtype=np.float32)
    x = centres[labels] + 1.5 * rng.standard_normal((n, dim), dtype=np.float32)
    paths = os.path.join(folder, "embeddings.npy"), os.path.join(folder, "labels.npy")
    np.save(paths[0], x)
    np.save(paths[1], labels)
    return paths


def child(spec: dict) -> dict:
    import torch

    torch.set_num_threads(spec["threads"])
    from vgteach.diagnose import diagnose

    result = {}

    def work():
        start = time.perf_counter()
        result["metrics"] = diagnose(spec["embeddings"], spec["labels"], out=spec["out"], progress=False)
        result["wall_s"] = time.perf_counter() - start

    growth = peak_growth(work)
    metrics = result["metrics"]
    return {
        "wall_s": result["wall_s"],
        "peak_total_mb": status_kb("VmHWM") / 1024,
        "peak_growth_mb": growth["peak_mb"],
        "timings_s": metrics["timings_s"],
        "recall@1": metrics["retrieval"]["recall@1"],
        "sample_size": metrics["sample_size"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--classes", type=int, default=1_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    with tempfile.TemporaryDirectory() as folder:
        embeddings, labels = make_inputs(folder, args.n, args.dim, args.classes)
        spec = {
            "embeddings": embeddings,
            "labels": labels,
            "out": os.path.join(folder, "report"),
            "threads": args.threads,
        }
        result = run_child(os.path.abspath(__file__), spec)
    if "error" in result:
        sys.exit(f"diagnose failed: {result['error']}")
    print(
        f"N = {args.n:,}, D = {args.dim}, {args.classes:,} classes, {args.threads} threads "
        f"(geometry and NMI on a sample of {result['sample_size']:,}; R@1 {result['recall@1']:.3f})\n"
    )
    print(
        "| wall time (s) | peak memory, whole process (MB) | rise during the call (MB) | "
        + " | ".join(result["timings_s"])
        + " |"
    )
    print("|---" * (3 + len(result["timings_s"])) + "|")
    print(
        f"| {result['wall_s']:.1f} | {result['peak_total_mb']:.0f} | {result['peak_growth_mb']:.0f} | "
        + " | ".join(f"{t:.1f}" for t in result["timings_s"].values())
        + " |"
    )


if __name__ == "__main__":
    main()
