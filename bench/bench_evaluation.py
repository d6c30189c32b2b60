"""Benchmark one evaluation of the trainer, by component. Run by hand; prints a markdown table, asserts nothing.

    python bench/bench_evaluation.py                        # shipped CIFAR-10 features, 10,000 × 128, 10 classes
    python bench/bench_evaluation.py --baseline HEAD~3      # also the code of an older commit, interleaved
    python bench/bench_evaluation.py --synthetic --n 20000  # random clustered embeddings instead

What the trainer evaluates at every evaluated epoch (``vgteach.training.trainer.evaluate``: 24 times in a
run of the paper profile) on the evaluation split, one thread (``OMP_NUM_THREADS=1`` and
``torch.set_num_threads(1)``, as in a study with one worker per core), float32 embeddings as ``embed``
returns them:

- ``retrieval`` — ``retrieval_metrics(..., nmi=False)``: leave-one-out R@K, R-precision, MAP@R;
- ``nmi`` — ``kmeans_nmi`` (k-means with ``KMEANS_N_INIT`` restarts; sklearn imported before timing);
- ``variance_stats``, ``geometry_stats`` and, when the code has them, the geometry's two costly steps
  (``uniformity``: the all-pairs kernel; ``compression``: spectral decay and π-ratio);
- ``evaluate`` — the trainer's whole evaluation (the rows above, once each; composed here as the trainer
  composes it, so that the benchmark does not depend on the trainer's other code).

The default data are the shipped CIFAR-10 features (``x_train``: 10,000 EfficientNet-Lite0 features,
PCA-reduced to 128 dimensions, 10 classes of 1,000): real class structure, the shape of the paper
protocol's test split, and k-means takes as many iterations as on real embeddings (random Gaussian
clusters converge in 4). Every timing runs in a fresh process per version and round, the versions
alternating, so that load on a shared machine hits both alike; each process warms up once (imports, BLAS
buffers) and then times every row once. The table gives the median over rounds. With ``--baseline REV``
the package at commit REV is extracted with ``git archive`` into a temporary folder and timed the same
way, and the script prints the largest relative difference between the two versions' ``evaluate``
outputs, key by key.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


# -- one process: time every component once -----------------------------------------------------------------
def load_inputs(spec: dict):
    import numpy as np
    import torch

    if spec["synthetic"]:
        g = torch.Generator().manual_seed(0)
        labels = torch.arange(spec["n"]) % spec["classes"]
        centres = torch.randn(spec["classes"], spec["dim"], generator=g)
        return centres[labels] + 1.5 * torch.randn(spec["n"], spec["dim"], generator=g), labels
    with np.load(os.path.join(ROOT, "vgteach", "data", "cifar10_features.npz")) as data:
        x, y = data["x_train"].astype(np.float32), data["y_train"]
    return torch.from_numpy(x[: spec["n"]]), torch.from_numpy(y[: spec["n"]])


def components(x, y) -> dict:
    """name → zero-argument callable; steps the timed code does not have are left out."""
    from vgteach.diagnostics import geometry_stats, variance_stats
    from vgteach.retrieval import kmeans_nmi, retrieval_metrics

    def evaluate():  # what vgteach.training.trainer.evaluate computes (not imported: the trainer may change)
        row = retrieval_metrics(x, y, seed=0)
        row.update(variance_stats(x, y))
        row.update(geometry_stats(x, y))
        return row

    rows = {
        "retrieval (R@K, R-precision, MAP@R)": lambda: retrieval_metrics(x, y, nmi=False),
        "nmi (k-means)": lambda: kmeans_nmi(x, y),
        "variance_stats": lambda: variance_stats(x, y),
        "geometry_stats": lambda: geometry_stats(x, y),
    }
    try:  # the geometry's steps, in the code that has them (this version's names)
        from vgteach.diagnostics import compression_stats
        from vgteach.diagnostics.geometry import _uniformity, _unit_rows

        z = _unit_rows(x)
        rows["  geometry: uniformity"] = lambda: _uniformity(z, 2.0)
        rows["  geometry: compression (ρ, π-ratio)"] = lambda: compression_stats(x, y)
    except ImportError:
        pass
    rows["evaluate (all of the above)"] = evaluate
    return rows


def child(spec: dict) -> dict:
    import torch

    torch.set_num_threads(1)
    x, y = load_inputs(spec)
    rows = components(x, y)
    metrics = rows["evaluate (all of the above)"]()  # warm-up: imports (sklearn), buffers
    times = {}
    for name, fn in rows.items():
        start = time.perf_counter()
        fn()
        times[name] = time.perf_counter() - start
    return {"times": times, "metrics": metrics}


# -- the parent: rounds of fresh processes, versions interleaved ---------------------------------------------
def run_child(package_root: str, spec: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=package_root, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)],
        env=env,
        cwd=package_root,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise RuntimeError(f"the benchmark process for {package_root} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def extract(revision: str, folder: str) -> str:
    """The ``vgteach`` package of ``revision`` under ``folder`` (``git archive``); returns ``folder``."""
    archive = subprocess.run(["git", "archive", revision, "vgteach"], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
    return folder


def largest_differences(a: dict, b: dict) -> dict:
    """key → |a − b| / max(|a|, |b|) over the keys both have (0 where both are 0)."""
    out = {}
    for key in sorted(set(a) & set(b)):
        x, y = float(a[key]), float(b[key])
        scale = max(abs(x), abs(y))
        out[key] = abs(x - y) / scale if scale > 0 else 0.0
    return out


def print_table(results: dict, spec: dict, rounds: int) -> None:
    versions = list(results)
    names = list(dict.fromkeys(n for runs in results.values() for n in runs[0]["times"]))
    medians = {
        v: {n: statistics.median(r["times"][n] for r in runs) for n in runs[0]["times"]} for v, runs in results.items()
    }
    data = "random clusters" if spec["synthetic"] else "shipped CIFAR-10 features"
    print(
        f"one evaluation, N = {spec['n']:,}, D = {spec['dim']}, {spec['classes']} classes ({data}), "
        f"CPU, 1 thread, median of {rounds} rounds (s)\n"
    )
    print("| component | " + " | ".join(versions) + (" | speed-up |" if len(versions) == 2 else ""))
    print("|---" * (len(versions) + 1 + (len(versions) == 2)) + "|")
    for name in names:
        cells = [f"{medians[v][name]:.3f}" if name in medians[v] else "—" for v in versions]
        ratio = []
        if len(versions) == 2:
            both = all(name in medians[v] for v in versions)
            ratio = [f"{medians[versions[0]][name] / medians[versions[1]][name]:.1f}×" if both else "—"]
        print("| " + " | ".join([name, *cells, *ratio]) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=128, help="with --synthetic (the shipped features have 128)")
    parser.add_argument("--classes", type=int, default=10, help="with --synthetic (the shipped features have 10)")
    parser.add_argument("--synthetic", action="store_true", help="random clustered embeddings")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="a git revision to time as well (its vgteach package)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    spec = dict(n=args.n, dim=args.dim, classes=args.classes, synthetic=args.synthetic)
    with tempfile.TemporaryDirectory() as folder:
        roots = {"working tree": ROOT}
        if args.baseline:
            roots = {f"baseline {args.baseline}": extract(args.baseline, folder), **roots}
        results = {version: [] for version in roots}
        for _ in range(args.rounds):
            for version, root in roots.items():
                results[version].append(run_child(root, spec))
    print_table(results, spec, args.rounds)
    if args.baseline:
        first, second = (results[v][0]["metrics"] for v in results)
        differences = largest_differences(first, second)
        worst = max(differences, key=differences.get)
        print(f"\nlargest relative difference between the versions' evaluate(): {differences[worst]:.2e} ({worst})")
        print("per key: " + ", ".join(f"{k} {v:.1e}" for k, v in differences.items()))
        print("keys in one version only: " + (", ".join(sorted(set(first) ^ set(second))) or "none"))


if __name__ == "__main__":
    main()
