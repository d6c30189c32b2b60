"""Straightforward references for Roth et al.'s compression measures, written from DESIGN.md §3 with plain
loops and NumPy (nothing shared with vgteach): an explicit KL sum over the singular values, and loops over
every pair for the π-ratio. Shared by tests/test_geometry_compression.py and tests/test_diagnostics.py."""

from __future__ import annotations

import math

import numpy as np

EPS = np.finfo(np.float64).eps


def unit_rows(embeddings) -> np.ndarray:
    """z = e / ||e|| in float64; an all-zero row stays 0."""
    e = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    return np.divide(e, norms, out=np.zeros_like(e), where=norms > 0)


def spectral_decay_reference(embeddings) -> float:
    """ρ = Σ_{k=2..D} 1/(D−1) · log((1/(D−1)) / p_k), p_k = σ_k / Σ_{j≥2} σ_j, over the singular values of the
    uncentred unit rows (zeros beyond min(N, D)); singular values below the rounding level max(N, D)·ε·σ_1
    raised to it (the documented floor); NaN for D = 1 or when nothing after σ_1 is above it."""
    z = unit_rows(embeddings)
    n, d = z.shape
    if d == 1:
        return math.nan
    sigma = np.linalg.svd(z, compute_uv=False)
    sigma = np.concatenate([sigma, np.zeros(d - len(sigma))])
    floor = max(n, d) * EPS * sigma[0]
    rest = [max(s, floor) for s in sigma[1:]]
    if all(s <= floor for s in sigma[1:]):
        return math.nan
    total = sum(rest)
    uniform = 1.0 / (d - 1)
    return sum(uniform * math.log(uniform / (s / total)) for s in rest)


def cosine_distance(a, b) -> float:
    """1 − cos(a, b), with cos = 0 when either vector is 0."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = 0.0 if na == 0 or nb == 0 else float(np.dot(a, b)) / (na * nb)
    return 1.0 - cos


def pi_ratio_reference(embeddings, labels) -> float:
    """π_intra / π_inter by loops over pairs: π_intra = mean over classes with ≥ 2 samples of the mean distance
    over pairs i ≠ j of the class; π_inter = mean distance over pairs c ≠ c' of the class means (their
    direction: the cosine distance ignores length). NaN where undefined."""
    z = unit_rows(embeddings)
    labels = np.asarray(labels)
    classes = sorted(set(labels.tolist()))
    intra = []
    for c in classes:
        rows = z[labels == c]
        pairs = [cosine_distance(rows[i], rows[j]) for i in range(len(rows)) for j in range(len(rows)) if i != j]
        if pairs:
            intra.append(sum(pairs) / len(pairs))
    means = [z[labels == c].mean(axis=0) for c in classes]
    inter = [cosine_distance(a, b) for i, a in enumerate(means) for j, b in enumerate(means) if i != j]
    if not intra or not inter:
        return math.nan
    return (sum(intra) / len(intra)) / (sum(inter) / len(inter))


def pi_ratio_numpy(embeddings, labels) -> float:
    """The same as :func:`pi_ratio_reference` with full NumPy cosine matrices (for a few thousand rows)."""
    z = unit_rows(embeddings)
    labels = np.asarray(labels)
    distance = 1.0 - z @ z.T
    intra = []
    for c in np.unique(labels):
        block = distance[np.ix_(labels == c, labels == c)]
        n = len(block)
        if n >= 2:
            intra.append((block.sum() - np.trace(block)) / (n * (n - 1)))
    means = unit_rows(np.stack([z[labels == c].mean(axis=0) for c in np.unique(labels)]))
    between = 1.0 - means @ means.T
    c = len(means)
    return float(np.mean(intra) / ((between.sum() - np.trace(between)) / (c * (c - 1))))
