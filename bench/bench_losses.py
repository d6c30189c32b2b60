"""Benchmark the seven losses (issue 2, item 6). Run by hand; prints markdown tables, asserts nothing.

    python bench/bench_losses.py            # full run (about 3 minutes on 2 cores)
    python bench/bench_losses.py --quick    # sanity run (about a minute: PML's NTXent alone takes 3 s a call)

Three tables:

1. forward + backward at B = 256, D = 128, 32 classes on the CPU, against the pytorch-metric-learning twin
   that DESIGN.md §2 names (median of ``--repeats`` runs, ours and PML's interleaved so that load on a
   shared machine hits both alike). ``contrastive`` is compared with PML's ``ContrastiveLoss(pos_margin=0,
   neg_margin=1)``, which is *not* its twin (PML uses d, not d², over ordered pairs): shown for scale only.
   ``ccl`` has no PML counterpart. Goal: ≤ 0.8× PML for each twin.
2. every loss at the paper's setting, B = 512, D = 128, 10 classes: time (in this process, interleaved with
   PML as above) and peak memory. Memory is measured in a fresh subprocess per case: the resident set
   size high-water mark during two forward + backward passes minus the RSS just before them (after
   imports, input creation and one warm-up pass), using Linux's ``/proc/self/clear_refs`` to reset the
   high-water mark (``ru_maxrss`` of the child as a fallback, which can only over-estimate). The child's
   glibc runs with a fixed mmap threshold so that freed tensors leave the RSS at once (this slows it down,
   hence no timing there). This counts everything the process touches (autograd's saved tensors,
   temporaries, allocator slack), not just tensor bytes. PML's ``NTXentLoss`` is not run there: it
   materialises a [#positive pairs × #negative pairs] matrix and needs > 20 GB. Goal: ≤ 300 MB each.
3. triplet batch-all at B = 256 and 512 with 10 classes and at B = 512 with 2 (the coarse-to-fine
   protocol's superclasses: 3× the valid triplets): ours (sorted counts, O(B² log B)) against the
   implementation before it (``ChunkedTripletLoss`` below: the same loss with the active triplets counted
   chunk by chunk, O(B³) work), interleaved in one process, and the dense [B, B, B] formulation, in time
   and peak memory. Goal: ≤ 1/8 of the dense memory.

    python bench/bench_losses.py --triplet  # the triplet table alone
    python bench/bench_losses.py --losses triplet  # tables 1 and 2 for triplet only, then table 3
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time

import torch
from peak_memory import peak_growth, run_child

DIM = 128


# -- the cases ------------------------------------------------------------------------------------------
def make_inputs(batch_size: int, num_classes: int, seed: int = 0):
    """Balanced labels in random order (an m-per-class batch, as the trainer's sampler gives)."""
    gen = torch.Generator().manual_seed(seed)
    labels = (torch.arange(batch_size) % num_classes)[torch.randperm(batch_size, generator=gen)]
    return torch.randn(batch_size, DIM, generator=gen), labels


def build_ours(name: str, num_classes: int):
    from vgteach.losses import build_loss

    torch.manual_seed(0)
    return build_loss(name, num_classes=num_classes, embedding_dim=DIM)


def build_pml(name: str, num_classes: int):
    """The PML loss to compare with, or None. ArcFace gets our proxies (its W is our weight.T)."""
    from pytorch_metric_learning import distances, losses

    twins = {
        "contrastive": lambda: losses.ContrastiveLoss(pos_margin=0, neg_margin=1),  # not a twin
        "triplet": lambda: losses.TripletMarginLoss(margin=0.2, distance=distances.LpDistance(power=2)),
        "npair": lambda: losses.NPairsLoss(),
        "infonce": lambda: losses.NTXentLoss(temperature=0.1),
        "arcface": lambda: losses.ArcFaceLoss(num_classes, DIM, margin=math.degrees(0.5), scale=64),
        "supcon": lambda: losses.SupConLoss(temperature=0.1),
    }
    if name not in twins:
        return None
    loss = twins[name]()
    if name == "arcface":
        loss.W.data = build_ours(name, num_classes).proxies.detach().T.clone()
    return loss


def dense_triplet(embeddings, labels, margin: float = 0.2):
    """Batch-all triplet loss the direct way, the whole [B, B, B] tensor of d²_ap − d²_an + α: the
    package's reference equation, :func:`vgteach.losses.triplet.batch_all_triplet_loss`."""
    from vgteach.losses.triplet import batch_all_triplet_loss

    return batch_all_triplet_loss(torch.nn.functional.normalize(embeddings, dim=1), labels, margin)


def chunked_triplet():
    """The triplet loss as vgteach computed it before the sorted counts (as of commit 87987af): the same
    formula and gradient, the active triplets counted by enumerating them in [chunk, P, B] blocks —
    O(B²·chunk) memory, O(B³) work. Kept here, self-contained, as the baseline of the triplet table."""
    from vgteach.losses.triplet import TripletLoss

    class ChunkedTripletLoss(TripletLoss):
        def compute(self, embeddings, labels, eps=1e-3):
            from vgteach.losses.base import LossOutput, pair_similarity, same_label_masks

            z, labels = self._prepare(embeddings, labels)
            with self._full_precision(z):
                sim = pair_similarity(z)
                d2 = (2.0 - 2.0 * sim.matrix).clamp_min(0.0)
                pos, neg = same_label_masks(labels)
                num_terms = (pos.sum(1) * neg.sum(1)).sum()
                weight, num_active = self._count_active(d2.detach(), pos, neg)
                count = num_active.to(d2.dtype)
                loss = ((weight * d2).sum() + self.margin * count) / count.clamp_min(1.0)
                return LossOutput(loss, num_terms, num_active, sim)

        @torch.no_grad()
        def _count_active(self, d2, pos, neg):
            weight = torch.zeros_like(d2)
            num_active = torch.zeros((), dtype=torch.long, device=d2.device)
            width = int(pos.sum(1).max())  # read once per batch size in the trainer's hot path
            pos_idx, d_ap, d_an = self._positives_first(d2, pos, neg, width)
            for rows in self._chunks(d_ap.shape[1], len(d2)):
                active = ((d_ap[rows] + self.margin)[:, :, None] - d_an[rows][:, None, :]).gt_(0)
                per_pos = active.sum(2)
                weight[rows].scatter_add_(1, pos_idx[rows], per_pos)
                weight[rows] -= active.sum(1)
                num_active += per_pos.sum(dtype=torch.long)
            return weight, num_active

        @staticmethod
        def _positives_first(d2, pos, neg, num_pos):
            pos_idx = torch.argsort(pos.to(torch.uint8), dim=1, descending=True, stable=True)[:, :num_pos]
            d_ap = d2.gather(1, pos_idx).masked_fill(~pos.gather(1, pos_idx), float("-inf"))
            return pos_idx, d_ap, d2.masked_fill(~neg, float("inf"))

        def _chunks(self, num_pos, batch_size):
            step = max(1, self.chunk_size * batch_size // max(num_pos, 1))
            return [slice(start, start + step) for start in range(0, batch_size, step)]

    return ChunkedTripletLoss()


def build(impl: str, name: str, num_classes: int):
    if impl == "ours":
        return build_ours(name, num_classes)
    if impl == "pml":
        return build_pml(name, num_classes)
    if impl == "dense":
        return dense_triplet
    if impl == "before":
        return chunked_triplet()
    raise ValueError(impl)


def step(loss_fn, embeddings, labels) -> None:
    """One forward + backward on a fresh leaf (what a training step costs the loss)."""
    leaf = embeddings.detach().requires_grad_()
    loss_fn(leaf, labels).backward()


# -- timing in this process ---------------------------------------------------------------------------
def time_interleaved(fns: dict, embeddings, labels, repeats: int, budget_s: float = 30.0) -> dict:
    """Median seconds of each fn, running them alternately so that background load hits all alike.
    Fewer repeats (at least 3) when one round would take longer than ``budget_s / repeats``. ``"cpu"``
    holds the median CPU time of this thread for each fn (with one torch thread the work runs here): on a
    loaded machine the wall time also counts the time the process waited for a core."""
    start = time.perf_counter()
    for fn in fns.values():  # warm-up
        step(fn, embeddings, labels)
    repeats = max(3, min(repeats, int(budget_s / (time.perf_counter() - start))))
    samples = {key: [] for key in fns}
    cpu = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start, start_cpu = time.perf_counter(), time.thread_time()
            step(fn, embeddings, labels)
            samples[key].append(time.perf_counter() - start)
            cpu[key].append(time.thread_time() - start_cpu)
    medians = {key: statistics.median(times) for key, times in samples.items()}
    return medians | {"runs": repeats, "cpu": {key: statistics.median(times) for key, times in cpu.items()}}


# -- peak memory in a fresh process -----------------------------------------------------------------------
def child(spec: dict) -> dict:
    """Runs inside the subprocess: peak RSS growth over `repeats` forward + backward passes."""
    torch.set_num_threads(spec["threads"])
    loss_fn = build(spec["impl"], spec["name"], spec["num_classes"])
    embeddings, labels = make_inputs(spec["batch_size"], spec["num_classes"])
    step(loss_fn, embeddings, labels)  # warm-up: one-time initialisation is not per-step memory

    def work():
        for _ in range(spec["repeats"]):
            step(loss_fn, embeddings, labels)

    return peak_growth(work)


def peak_memory(impl: str, name: str, batch_size: int, num_classes: int, threads: int, repeats: int = 2) -> dict:
    """``{"peak_mb", "method"}`` measured in a fresh subprocess, or ``{"error"}``."""
    return run_child(
        __file__,
        dict(impl=impl, name=name, batch_size=batch_size, num_classes=num_classes, repeats=repeats, threads=threads),
    )


# -- tables ---------------------------------------------------------------------------------------------
def table(header: list, rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(seconds) -> str:
    return "—" if seconds is None else f"{seconds * 1e3:.2f}"


def mb(value) -> str:
    return "—" if value is None else f"{value:.1f}"


def verdict(ok) -> str:
    return "—" if ok is None else "yes" if ok else "**no**"


def pml_table(names, repeats: int) -> str:
    embeddings, labels = make_inputs(256, 32)
    rows = []
    for name in names:
        fns = {"ours": build_ours(name, 32)}
        pml = build_pml(name, 32)
        if pml is not None:
            fns["pml"] = pml
        times = time_interleaved(fns, embeddings, labels, repeats)
        ratio = times["ours"] / times["pml"] if "pml" in times else None
        is_twin = pml is not None and name != "contrastive"
        twin = {"contrastive": "ContrastiveLoss (not a twin)", "ccl": "—"}.get(name, type(pml).__name__)
        rows.append(
            [
                name,
                ms(times["ours"]),
                twin,
                ms(times.get("pml")),
                "—" if ratio is None else f"{ratio:.2f}",
                verdict(ratio <= 0.8 if is_twin else None),
                times["runs"],
            ]
        )
    return table(["loss", "ours (ms)", "PML", "PML (ms)", "ours / PML", "≤ 0.8 (twins)", "runs"], rows)


def paper_table(names, repeats: int, threads: int) -> str:
    embeddings, labels = make_inputs(512, 10)
    rows, methods = [], set()
    for name in names:
        fns = {"ours": build_ours(name, 10)}
        if name not in ("infonce", "ccl"):  # PML's NTXent needs > 20 GB here; CCL has no PML loss
            fns["pml"] = build_pml(name, 10)
        times = time_interleaved(fns, embeddings, labels, repeats)
        ours = peak_memory("ours", name, 512, 10, threads)
        pml = (
            peak_memory("pml", name, 512, 10, threads)
            if "pml" in fns
            else {"error": "not run (> 20 GB)" if name == "infonce" else "no PML loss"}
        )
        methods.add(ours.get("method"))
        peak = ours.get("peak_mb")
        rows.append(
            [
                name,
                ms(times["ours"]),
                mb(peak) if peak is not None else ours.get("error"),
                verdict(None if peak is None else peak <= 300),
                ms(times.get("pml")),
                mb(pml["peak_mb"]) if "peak_mb" in pml else pml["error"],
            ]
        )
    note = (
        "\n\nTime: median in this process, ours and PML interleaved. Peak: RSS high-water mark during two "
        f"passes in a fresh process − RSS before them ({', '.join(sorted(map(str, methods)))})."
    )
    return table(["loss", "ours (ms)", "ours peak (MB)", "≤ 300 MB", "PML (ms)", "PML peak (MB)"], rows) + note


TRIPLET_CASES = ((256, 10), (512, 10), (512, 2))  # (B, classes): 512 / 2 is coarse-to-fine's batch


def triplet_table(cases, repeats: int, threads: int, dense: bool = True) -> str:
    rows = []
    for batch_size, num_classes in cases:
        embeddings, labels = make_inputs(batch_size, num_classes)
        fns = {"ours": build_ours("triplet", num_classes), "before": chunked_triplet()}
        out, before = fns["ours"].compute(embeddings, labels), fns["before"].compute(embeddings, labels)
        assert int(out.num_active) == int(before.num_active), "the two counts differ"
        times = time_interleaved(fns, embeddings, labels, repeats)
        # the dense cube apart, so that its seconds per call do not cut the others' repeats
        dense_time = time_interleaved({"dense": dense_triplet}, embeddings, labels, 3)["dense"] if dense else None
        peaks = {impl: peak_memory(impl, "triplet", batch_size, num_classes, threads) for impl in fns}
        if dense:
            peaks["dense"] = peak_memory("dense", "triplet", batch_size, num_classes, threads)
        ratio = (
            peaks["ours"]["peak_mb"] / peaks["dense"]["peak_mb"]
            if dense and "peak_mb" in peaks["ours"] and peaks["dense"].get("peak_mb")
            else None
        )
        cpu = times["cpu"]
        rows.append(
            [
                f"{batch_size} / {num_classes}",
                f"{int(out.num_terms) / 1e6:.1f} M",
                f"{ms(times['ours'])} ({ms(cpu['ours'])})",
                f"{ms(times['before'])} ({ms(cpu['before'])})",
                f"{times['before'] / times['ours']:.1f}× ({cpu['before'] / cpu['ours']:.1f}×)",
                mb(peaks["ours"].get("peak_mb")),
                mb(peaks["before"].get("peak_mb")),
                ms(dense_time),
                mb(peaks["dense"]["peak_mb"]) if "peak_mb" in peaks.get("dense", {}) else "—",
                "—" if ratio is None else f"1/{1 / ratio:.0f}" if ratio > 0 else "< 1/1000",
                times["runs"],
            ]
        )
    note = (
        "\n\nTimes: median wall time of forward + backward (in brackets: CPU time of the thread), ours and "
        "before interleaved; the dense cube timed apart (3 runs). Peak: RSS high-water mark of two passes in "
        "a fresh process − RSS before them."
    )
    header = [
        "B / classes",
        "valid triplets",
        "ours (ms)",
        "before: chunked (ms)",
        "speed-up",
        "ours peak (MB)",
        "before peak (MB)",
        "dense B³ (ms)",
        "dense peak (MB)",
        "ours / dense memory",
        "runs",
    ]
    return table(header, rows) + note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats, small dense triplet (a sanity run)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per case (median reported)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads for every case")
    parser.add_argument("--triplet", action="store_true", help="only the triplet table")
    parser.add_argument("--losses", nargs="+", default=None, help="tables 1 and 2 for these losses only")
    parser.add_argument("--no-dense", action="store_true", help="triplet table without the dense B³ baseline")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    from pytorch_metric_learning import __version__ as pml_version

    from vgteach.losses import LOSS_NAMES

    torch.set_num_threads(args.threads)
    repeats = args.repeats or (5 if args.quick else 50)
    print(
        f"torch {torch.__version__}, pytorch-metric-learning {pml_version}, Python {platform.python_version()}, "
        f"{platform.machine()} with {os.cpu_count()} logical CPUs, torch.set_num_threads({args.threads}), "
        f"median of {repeats} runs\n"
    )
    names = args.losses or LOSS_NAMES
    if not args.triplet:
        print("### Forward + backward, B = 256, D = 128, 32 classes (CPU)\n")
        print(pml_table(names, repeats), "\n")
        print("### Paper setting, B = 512, D = 128, 10 classes (CPU; memory in a fresh process per case)\n")
        print(paper_table(names, repeats, args.threads), "\n")
    print("### Triplet batch-all: sorted counts (ours) vs chunked enumeration (before) vs dense [B, B, B]\n")
    cases = ((128, 10), (256, 10), (256, 2)) if args.quick else TRIPLET_CASES
    print(triplet_table(cases, repeats, args.threads, dense=not args.no_dense))


if __name__ == "__main__":
    main()
