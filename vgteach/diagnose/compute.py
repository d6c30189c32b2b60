"""``vgteach diagnose``, step 2: every number of the report, from validated embeddings and class codes.

Each stage is a function of explicit values (the class means VARIANCE finds are handed to GREEDINESS as an
argument, not left in a shared dict): :func:`compute` runs them in turn, times them, and returns the
``metrics`` and the arrays the figures draw (:class:`FigureArrays`).

Scale (goal: 100,000 × 512 embeddings with 1,000 classes in ≤ 3 min and ≤ 3 GB on 2 CPU cores, measured
by ``bench/bench_diagnose.py``): retrieval is exact and chunked (faiss when installed), VARIANCE uses every
sample, and the pair-based geometry and NMI's k-means run on a class-stratified sample of at most
:data:`SAMPLE_SIZE` embeddings (stated in the report); k-means restarts four times up to
:data:`KMEANS_RESTARTS_MAX_CLASSES` classes, once above (:func:`nmi_restarts`).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from tqdm.auto import tqdm

from ..diagnostics import geometry_stats, greediness_stats, variance_stats
from ..diagnostics._common import class_index, class_means, unit_float64
from ..figures.projection import pca_2d
from ..losses import LOSS_NAMES, build_loss
from ..retrieval import KMEANS_N_INIT, kmeans_nmi, retrieval_metrics

#: at most this many samples (class-stratified) for the pair-based geometry, NMI's k-means and the plot
SAMPLE_SIZE = 10_000
#: NMI's k-means restarts: the training evaluation's 4 up to this many classes, then one. k-means costs
#: O(restarts · iterations · N K D): at K = 1,000 on the 10,000-sample, four restarts took 2.5 minutes on
#: 2 cores (``bench/bench_diagnose.py``), one takes seconds and k-means++ seeding keeps it a good clustering.
KMEANS_RESTARTS_MAX_CLASSES = 100
#: at most this many points (of the stratified sample) in the 2-D projection
PROJECTION_POINTS = 2_000
#: the stages of :func:`compute`, in order: the keys of ``metrics["timings_s"]``
STAGES = ("VARIANCE", "geometry", "retrieval", "NMI", "GREEDINESS", "projection")


@dataclass(frozen=True)
class ClassSpread:
    """Per class c, in sorted label order: ``spread`` [C] mean ‖z_i − μ_c‖², ``size`` [C], ``nearest`` [C]
    the distance to the nearest other class mean and ``nearest_class`` [C] its index, ``pair_distances``
    ‖μ_c − μ_c'‖ over the pairs c < c', and ``means`` [C, D] (float32) the class means μ_c of z."""

    spread: np.ndarray
    size: np.ndarray
    nearest: np.ndarray
    nearest_class: np.ndarray
    pair_distances: np.ndarray
    means: torch.Tensor


@dataclass(frozen=True)
class Projection:
    """``points`` [P, 2]: the first two principal components of P sampled embeddings (their class codes in
    ``codes`` [P]), which keep the share ``explained`` of their variance."""

    points: np.ndarray
    codes: np.ndarray
    explained: float


@dataclass(frozen=True)
class FigureArrays:
    """What the report draws beyond ``metrics``: the classes' spread, and the projection (``None`` for
    one-column embeddings, which have no plane to project on)."""

    classes: ClassSpread
    projection: Optional[Projection]


def nmi_restarts(codes: np.ndarray) -> int:
    """k-means restarts for NMI: :data:`~vgteach.retrieval.KMEANS_N_INIT` (as in training) up to
    :data:`KMEANS_RESTARTS_MAX_CLASSES` classes, one above (its cost grows with the number of classes)."""
    return KMEANS_N_INIT if len(np.unique(codes)) <= KMEANS_RESTARTS_MAX_CLASSES else 1


def stratified_sample(codes: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``size`` samples, each class keeping its share (at least 2 where it has 2)."""
    n = len(codes)
    if n <= size:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    order = order[np.argsort(codes[order], kind="stable")]  # by class, random within a class
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(n) - np.repeat(starts, counts)  # position within its class
    quota = np.minimum(counts, np.maximum(2, np.floor(counts * size / n)))
    return np.sort(order[rank < np.repeat(quota, counts)])


def class_spread(x: torch.Tensor, codes: torch.Tensor) -> ClassSpread:
    """Per class: mean ‖z_i − μ_c‖² (its spread), its size, and the distance to the nearest other class mean."""
    z = unit_float64(x)
    inverse, counts = class_index(codes)
    mu = class_means(z, inverse, counts)
    squared = (z - mu[inverse]).pow(2).sum(dim=1)
    del z
    spread = mu.new_zeros(len(counts)).index_add_(0, inverse, squared) / counts.to(mu.dtype)
    dist = torch.cdist(mu, mu).fill_diagonal_(float("inf"))
    upper = torch.triu_indices(len(mu), len(mu), offset=1)
    return ClassSpread(
        spread=spread.numpy(),
        size=counts.numpy(),
        nearest=dist.min(dim=1).values.numpy(),
        nearest_class=dist.argmin(dim=1).numpy(),
        pair_distances=dist[upper[0], upper[1]].numpy(),
        means=mu.float(),
    )


def proxy_loss(name: str, means: torch.Tensor):
    """``build_loss(name)``; a proxy loss (ArcFace, CCL) gets the normalised class means as its proxies —
    the state its proxies converge to when they follow the classes."""
    loss_fn = build_loss(name, num_classes=means.shape[0], embedding_dim=means.shape[1])
    with torch.no_grad():
        for parameter in loss_fn.parameters():  # the proxies; none for pair losses
            parameter.copy_(torch.nn.functional.normalize(means, dim=1))
    return loss_fn


def loss_greediness(
    x, codes, means, *, losses=LOSS_NAMES, batch_size=512, batches=4, m_per_class=4, seed=0, progress=False
) -> tuple[dict, dict]:
    r"""The GREEDINESS each loss would have on these embeddings: :func:`greediness_stats` averaged over
    ``batches`` class-balanced batches (:class:`~vgteach.training.MPerClassBatches`, the trainer's sampler)
    of ``batch_size`` drawn from the classes with at least 2 samples. Returns ``(per-loss means, settings)``.

    ArcFace and CCL compare samples with proxies; here the proxies are the class means of the normalised
    embeddings (:func:`proxy_loss`), i.e. what a converged proxy reaches, so their numbers describe the
    embeddings, not an untrained random proxy matrix.
    """
    from ..training.sampler import MPerClassBatches

    counts = np.bincount(codes)
    eligible = np.flatnonzero(counts[codes] >= 2)
    batch_size = min(batch_size, len(eligible))
    sampler = MPerClassBatches(torch.from_numpy(codes[eligible]), batch_size, min(m_per_class, batch_size // 2), seed)
    drawn = [torch.from_numpy(eligible)[b] for b in sampler.epoch(0)[:batches]]
    y = torch.from_numpy(codes)
    result = {}
    for name in tqdm(losses, desc="GREEDINESS", disable=not progress, leave=False):
        loss_fn = proxy_loss(name, means)
        rows = [greediness_stats(loss_fn, x[b], y[b]) for b in drawn]
        result[name] = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
    settings = {
        "batch_size": int(sampler.batch_len),
        "batches": len(drawn),
        "m_per_class": sampler.per_class,
        "classes_per_batch": sampler.classes_per_batch,
        "proxies": "class means (arcface, ccl)",
        "seed": seed,
    }
    return result, settings


def sample_projection(
    x: np.ndarray, codes: np.ndarray, sample: np.ndarray, points: int = PROJECTION_POINTS, seed: int = 0
) -> Optional[Projection]:
    """:func:`~vgteach.figures.pca_2d` of at most ``points`` embeddings drawn from ``sample``; ``None`` when
    the embeddings have a single column (D = 1: no plane to project on)."""
    if x.shape[1] < 2:
        return None
    keep = np.sort(np.random.default_rng(seed).permutation(sample)[:points])
    projected, explained = pca_2d(x[keep])
    return Projection(projected, codes[keep], explained)


class StageClock:
    """Times the stages of :func:`compute` (``timings``: name -> seconds) on one progress bar."""

    def __init__(self, progress: bool):
        self.timings = {}
        self.bar = tqdm(total=len(STAGES), desc="diagnose", disable=not progress)

    @contextmanager
    def stage(self, name: str):
        self.bar.set_postfix_str(name)
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)
        self.bar.update()


def compute(
    x: np.ndarray,
    codes: np.ndarray,
    *,
    ks=(1, 2, 4, 8),
    losses=LOSS_NAMES,
    batch_size=512,
    batches=4,
    seed=0,
    progress=True,
) -> tuple[dict, FigureArrays]:
    """Every number of the report on validated inputs (:func:`~vgteach.diagnose.read.validate_inputs`);
    returns ``(metrics, arrays for the figures)``. The stages (:data:`STAGES`) pass each other values."""
    xt, yt = torch.from_numpy(x), torch.from_numpy(codes)
    sample = torch.from_numpy(stratified_sample(codes, SAMPLE_SIZE, seed))
    restarts = nmi_restarts(codes)
    clock = StageClock(progress)
    with clock.stage("VARIANCE"):
        variance, classes = variance_stats(xt, yt), class_spread(xt, yt)
    with clock.stage("geometry"):
        geometry = geometry_stats(xt[sample], yt[sample])
    with clock.stage("retrieval"):
        retrieval = retrieval_metrics(xt, yt, ks=ks, nmi=False, seed=seed)
    with clock.stage("NMI"):  # k-means on the sample (all of it when N <= SAMPLE_SIZE)
        nmi = kmeans_nmi(xt[sample], yt[sample], n_init=restarts, seed=seed)
    with clock.stage("GREEDINESS"):
        greediness, settings = loss_greediness(
            xt,
            codes,
            classes.means,
            losses=losses,
            batch_size=batch_size,
            batches=batches,
            seed=seed,
            progress=progress,
        )
    with clock.stage("projection"):
        projection = sample_projection(x, codes, sample.numpy(), seed=seed)
    clock.bar.close()
    metrics = {
        "sample_size": len(sample),
        "nmi_restarts": restarts,
        "variance": variance,
        "geometry": geometry,
        "retrieval": {**retrieval, "nmi": nmi},
        "greediness": greediness,
        "greediness_settings": settings,
        "timings_s": clock.timings,
    }
    return metrics, FigureArrays(classes, projection)
