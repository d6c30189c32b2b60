"""Diagnostics (DESIGN.md §3): variance_stats, gini, greediness_stats / per_sample_grad_norms and
geometry_stats against straightforward loop references, their degenerate-batch choices, side effects on the
caller's graph, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from reference_compression import pi_ratio_reference, spectral_decay_reference

from vgteach.diagnostics import (
    compression_stats,
    geometry_stats,
    gini,
    greediness_stats,
    per_sample_grad_norms,
    variance_stats,
)
from vgteach.losses import LOSS_NAMES, build_loss

TOL = dict(rel=1e-10, abs=1e-10)

UNEVEN_LAYOUTS = [
    [0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 3, 3],
    [5, 5, 9, 9, 9, 2, 2, 2, 2, 2, 2, 2, 7],
    [1, 1, 1, 4, 4, 8, 8, 8, 8, 8],
]
DEGENERATE = {"one_class": [3, 3, 3, 3, 3], "all_distinct": [0, 1, 2, 3, 4, 5], "single_sample": [2]}


def make_batch(layout, dim=5, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.tensor(layout)[torch.randperm(len(layout), generator=gen)]
    scale = torch.rand(len(layout), 1, generator=gen, dtype=dtype) * 3 + 0.5  # un-normalised on purpose
    return torch.randn(len(layout), dim, generator=gen, dtype=dtype) * scale, labels


def unit_rows_np(embeddings):
    z = np.asarray(embeddings, dtype=np.float64)
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def groups(z, labels):
    labels = np.asarray(labels)
    return {c: z[labels == c] for c in sorted(set(labels.tolist()))}


# -- variance_stats ---------------------------------------------------------------------------------------
def variance_reference(embeddings, labels):
    z = unit_rows_np(embeddings)
    by_class = groups(z, labels)
    means = {c: rows.mean(axis=0) for c, rows in by_class.items()}
    intra = np.mean([np.mean([np.sum((row - means[c]) ** 2) for row in rows]) for c, rows in by_class.items()])
    classes = list(means)
    ordered = [np.sum((means[a] - means[b]) ** 2) for a in classes for b in classes if a != b]
    dists = [np.linalg.norm(means[a] - means[b]) for i, a in enumerate(classes) for b in classes[i + 1 :]]
    mean = sum(dists) / len(dists)
    std = math.sqrt(sum((d - mean) ** 2 for d in dists) / len(dists))
    inter = float(np.mean(ordered))
    return {
        "intra": float(intra),
        "inter": inter,
        "ratio": float(intra) / inter,
        "centroid_dist_mean": mean,
        "centroid_dist_std": std,
        "centroid_dist_cv": std / mean,
        "centroid_dist_min": min(dists),
        "num_classes": len(classes),
    }


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("layout", UNEVEN_LAYOUTS)
def test_variance_stats_matches_loop_reference(layout, seed):
    embeddings, labels = make_batch(layout, seed=seed)
    got = variance_stats(embeddings, labels)
    expected = variance_reference(embeddings, labels)
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert isinstance(got[key], (float, int))
        assert got[key] == pytest.approx(value, **TOL), key


def test_variance_stats_intra_is_unweighted_over_classes():
    # a big tight class and a small spread-out one: the sample-weighted mean is dominated by the big class
    big = torch.tensor([[1.0, 0.0, 0.0]]).repeat(8, 1) + 1e-3 * torch.randn(
        8, 3, generator=torch.Generator().manual_seed(0)
    )
    small = torch.tensor([[0.0, 1.0, 0.3], [0.0, 1.0, -0.3]])
    embeddings = torch.cat([big, small]).double()
    labels = torch.tensor([0] * 8 + [1] * 2)
    z = unit_rows_np(embeddings)
    per_class = {c: np.sum((rows - rows.mean(0)) ** 2, axis=1) for c, rows in groups(z, labels).items()}
    unweighted = np.mean([v.mean() for v in per_class.values()])
    weighted = np.concatenate(list(per_class.values())).mean()
    assert unweighted > 2 * weighted
    assert variance_stats(embeddings, labels)["intra"] == pytest.approx(unweighted, **TOL)


def test_variance_stats_accepts_numpy_and_low_precision():
    embeddings, labels = make_batch(UNEVEN_LAYOUTS[0], seed=4)
    expected = variance_stats(embeddings, labels)
    from_numpy = variance_stats(embeddings.numpy(), labels.numpy())
    for key in expected:
        assert from_numpy[key] == pytest.approx(expected[key], **TOL)
    as_float32 = variance_stats(embeddings.float(), labels)
    assert as_float32["intra"] == pytest.approx(expected["intra"], rel=1e-5)


@pytest.mark.parametrize("name", DEGENERATE)
def test_variance_stats_degenerate_batches_are_finite(name):
    embeddings, labels = make_batch(DEGENERATE[name], seed=1)
    stats = variance_stats(embeddings, labels)
    assert all(math.isfinite(v) for v in stats.values())
    assert stats["num_classes"] == len(set(DEGENERATE[name]))
    if stats["num_classes"] < 2:
        for key in (
            "inter",
            "ratio",
            "centroid_dist_mean",
            "centroid_dist_std",
            "centroid_dist_cv",
            "centroid_dist_min",
        ):
            assert stats[key] == 0.0
    if name != "one_class":
        assert stats["intra"] == 0.0  # singleton classes have no spread


def test_variance_stats_coincident_centroids():
    embeddings = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    stats = variance_stats(embeddings, torch.tensor([0, 0, 1, 1]))
    assert stats["inter"] == 0.0 and stats["ratio"] == 0.0 and stats["centroid_dist_cv"] == 0.0
    assert stats["intra"] == pytest.approx(0.5, **TOL)


# -- gini -------------------------------------------------------------------------------------------------
def gini_reference(values):
    x = [float(v) for v in values]
    n, mean = len(x), sum(x) / len(x)
    return sum(abs(a - b) for a in x for b in x) / (2 * n * n * mean)


def test_gini_known_values():
    assert gini(torch.full((7,), 0.3)) == pytest.approx(0.0, abs=1e-15)
    for n in (1, 2, 10, 33):
        values = torch.zeros(n, dtype=torch.float64)
        values[n // 2] = 2.5
        assert gini(values) == pytest.approx((n - 1) / n, **TOL)
    assert gini(torch.zeros(5)) == 0.0
    assert gini(torch.zeros(0)) == 0.0
    assert isinstance(gini(torch.rand(4)), float)


@pytest.mark.parametrize("seed", range(4))
def test_gini_matches_mean_absolute_difference(seed):
    gen = torch.Generator().manual_seed(seed)
    values = torch.empty(40 + seed, dtype=torch.float64).exponential_(generator=gen)
    values[::5] = 0.0
    assert gini(values) == pytest.approx(gini_reference(values), **TOL)
    assert gini(values.numpy()) == pytest.approx(gini_reference(values), **TOL)
    assert gini(values.float()) == pytest.approx(gini_reference(values), rel=1e-6)


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (torch.tensor([1.0, float("nan")]), ValueError, "NaN"),
        (torch.tensor([1.0, -2.0]), ValueError, "non-negative"),
        (torch.ones(2, 3), ValueError, "1-D"),
        ([1.0, 2.0], TypeError, "Tensor"),
    ],
)
def test_gini_rejects_bad_input(bad, error, match):
    with pytest.raises(error, match=match):
        gini(bad)


# -- greediness_stats -------------------------------------------------------------------------------------
def make_loss(name, num_classes, dim, dtype=torch.float64, **hparams):
    torch.manual_seed(0)
    return build_loss(name, num_classes, dim, **hparams).to(dtype)


def by_hand_grad_norms(loss_fn, embeddings, labels):
    e = embeddings.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss_fn(e, labels), e, allow_unused=True, materialize_grads=True)
    return grad.norm(dim=1)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_greediness_stats_match_compute_and_autograd(name):
    embeddings, labels = make_batch(UNEVEN_LAYOUTS[1], dim=6, seed=2)
    loss_fn = make_loss(name, int(labels.max()) + 1, 6)
    stats = greediness_stats(loss_fn, embeddings, labels, eps=1e-3)
    out = loss_fn.compute(embeddings, labels, 1e-3)
    assert stats["num_terms"] == int(out.num_terms) and stats["num_active"] == int(out.num_active)
    assert stats["active_ratio"] == pytest.approx(out.active_ratio, **TOL)
    assert stats["loss"] == pytest.approx(float(out.loss.detach()), **TOL)
    expected = by_hand_grad_norms(loss_fn, embeddings, labels)
    got = per_sample_grad_norms(loss_fn, embeddings, labels)
    assert got.shape == (len(labels),) and not got.requires_grad
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)
    assert stats["grad_norm_mean"] == pytest.approx(float(expected.mean()), **TOL)
    assert stats["grad_norm_median"] == pytest.approx(float(np.median(expected.numpy())), **TOL)
    assert stats["grad_norm_max"] == pytest.approx(float(expected.max()), **TOL)
    assert stats["grad_gini"] == pytest.approx(gini_reference(expected), **TOL)
    assert stats["sample_active_ratio"] == pytest.approx(float((expected > 1e-8).double().mean()), **TOL)


def test_greediness_stats_leave_the_callers_graph_and_loss_parameters_alone():
    gen = torch.Generator().manual_seed(3)
    weight = torch.randn(6, 6, dtype=torch.float64, generator=gen, requires_grad=True)
    inputs = torch.randn(10, 6, dtype=torch.float64, generator=gen)
    embeddings = inputs @ weight  # non-leaf with an upstream graph
    embeddings.retain_grad()
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2, 3, 3, 3])
    loss_fn = make_loss("arcface", 4, 6)
    before = embeddings.detach().clone()
    stats = greediness_stats(loss_fn, embeddings, labels)
    per_sample_grad_norms(loss_fn, embeddings, labels)
    assert math.isfinite(stats["loss"])
    assert embeddings.grad is None and weight.grad is None
    assert loss_fn.weight.grad is None
    torch.testing.assert_close(embeddings.detach(), before, rtol=0, atol=0)
    embeddings.sum().backward()  # the caller's graph still works
    assert weight.grad is not None


def test_greediness_stats_work_under_no_grad_and_inference_mode():
    embeddings, labels = make_batch(UNEVEN_LAYOUTS[2], seed=5)
    loss_fn = make_loss("supcon", 9, 5)
    expected = greediness_stats(loss_fn, embeddings, labels)
    with torch.no_grad():
        assert greediness_stats(loss_fn, embeddings, labels) == expected
    with torch.inference_mode():
        frozen = embeddings.clone()
        assert greediness_stats(loss_fn, frozen, labels)["grad_norm_mean"] == pytest.approx(
            expected["grad_norm_mean"], **TOL
        )


def test_greediness_stats_of_a_satisfied_triplet_batch_are_zero():
    # two tight, far-apart classes: every d²_ap − d²_an + α < 0
    embeddings = torch.tensor([[1.0, 0.01], [1.0, -0.01], [1.0, 0.0], [0.01, 1.0], [-0.01, 1.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1, 1])
    stats = greediness_stats(make_loss("triplet", 2, 2), embeddings, labels)
    assert stats["num_terms"] == 3 * 2 * 2 + 2 * 1 * 3 and stats["num_active"] == 0
    assert stats["active_ratio"] == 0.0 and stats["sample_active_ratio"] == 0.0
    assert stats["loss"] == 0.0
    for key in ("grad_norm_mean", "grad_norm_median", "grad_norm_max", "grad_gini"):
        assert stats[key] == 0.0


@pytest.mark.parametrize("layout", ["normal", *DEGENERATE])
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_greediness_stats_finite_for_every_loss(name, layout):
    seq = UNEVEN_LAYOUTS[0] if layout == "normal" else DEGENERATE[layout]
    embeddings, labels = make_batch(seq, dim=4, seed=6, dtype=torch.float32)
    loss_fn = make_loss(name, max(seq) + 1, 4, dtype=torch.float32)
    stats = greediness_stats(loss_fn, embeddings, labels)
    assert set(stats) == {
        "loss",
        "num_terms",
        "num_active",
        "active_ratio",
        "effective_active_ratio",
        "sample_active_ratio",
        "grad_norm_mean",
        "grad_norm_median",
        "grad_norm_max",
        "grad_gini",
    }
    assert all(math.isfinite(v) for v in stats.values())
    assert 0.0 <= stats["active_ratio"] <= 1.0 and 0.0 <= stats["sample_active_ratio"] <= 1.0
    assert 0.0 <= stats["effective_active_ratio"] <= 1.0
    if stats["num_terms"] == 0:
        assert stats["active_ratio"] == 0.0 and stats["grad_norm_max"] == 0.0


def test_greediness_stats_reject_bad_arguments():
    embeddings, labels = make_batch(UNEVEN_LAYOUTS[0])
    with pytest.raises(TypeError, match="loss_fn"):
        greediness_stats(torch.nn.MSELoss(), embeddings, labels)
    with pytest.raises(ValueError, match="eps"):
        greediness_stats(build_loss("triplet"), embeddings, labels, eps=-1.0)
    with pytest.raises(ValueError, match="length"):
        per_sample_grad_norms(build_loss("triplet"), embeddings, labels[:-1])


# -- geometry_stats ---------------------------------------------------------------------------------------
def geometry_reference(embeddings, labels, alpha=2.0, t=2.0):
    z = unit_rows_np(embeddings)
    labels = np.asarray(labels)
    n = len(z)
    aligned, kernel = [], []
    for i in range(n):
        for j in range(i + 1, n):
            d = np.linalg.norm(z[i] - z[j])
            kernel.append(math.exp(-t * d * d))
            if labels[i] == labels[j]:
                aligned.append(d**alpha)
    by_class = groups(z, labels)
    num_classes = len(by_class)
    mu_g = z.mean(axis=0)
    sigma_w = np.zeros((z.shape[1],) * 2)
    sigma_b = np.zeros_like(sigma_w)
    for rows in by_class.values():
        mu = rows.mean(axis=0)
        for row in rows:
            sigma_w += np.outer(row - mu, row - mu) / n
        sigma_b += np.outer(mu - mu_g, mu - mu_g) / num_classes
    nc1 = np.trace(sigma_w @ np.linalg.pinv(sigma_b)) / num_classes
    return {
        "alignment": float(np.mean(aligned)),
        "uniformity": math.log(np.mean(kernel)),
        "nc1": float(nc1),
        "effective_rank": effective_rank_reference(z),
        "within_class_rank": within_class_rank_reference(z, labels),
        "spectral_decay": spectral_decay_reference(embeddings),
        "pi_ratio": pi_ratio_reference(embeddings, labels),
    }


def effective_rank_reference(matrix, cutoff=0.0):
    """exp of the entropy of the normalised singular values (singular values ≤ ``cutoff`` dropped); 0 if none."""
    sigma = np.linalg.svd(matrix, compute_uv=False)
    sigma = sigma[sigma > cutoff]
    if sigma.sum() == 0:
        return 0.0
    p = sigma / sigma.sum()
    return float(math.exp(-sum(q * math.log(q) for q in p if q > 0)))


def within_class_rank_reference(z, labels):
    """Mean over classes with ≥ 2 samples of the effective rank of the class's centred rows, one class at a time
    (singular values at rounding level, ≤ max(n_c, D)·ε, count as 0)."""
    ranks = []
    for rows in groups(z, labels).values():
        if len(rows) >= 2:
            centred = rows - rows.mean(axis=0)
            ranks.append(effective_rank_reference(centred, max(len(rows), z.shape[1]) * np.finfo(np.float64).eps))
    return float(np.mean(ranks)) if ranks else 0.0


@pytest.mark.parametrize("alpha, t", [(2, 2), (1, 0.5)])
@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("layout", UNEVEN_LAYOUTS)
def test_geometry_stats_match_loop_reference(layout, seed, alpha, t):
    embeddings, labels = make_batch(layout, dim=16, seed=seed)
    got = geometry_stats(embeddings, labels, alpha=alpha, t=t)
    expected = geometry_reference(embeddings, labels, alpha, t)
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-10), key


def test_geometry_stats_pair_terms_are_blocked(monkeypatch):
    """The row-blocked pair terms give the same numbers with tiny blocks (several per row range)."""
    import vgteach.diagnostics.geometry as geometry

    embeddings, labels = make_batch(UNEVEN_LAYOUTS[1], dim=8, seed=7)
    expected = geometry_stats(embeddings, labels)
    monkeypatch.setattr(geometry, "_PAIR_BLOCK", 2 * len(labels))  # two rows per block
    got = geometry_stats(embeddings, labels)
    for key in expected:
        assert got[key] == pytest.approx(expected[key], **TOL)


@pytest.mark.parametrize("t", [2.0, 50.0, 200.0])  # plain sum in float32, in float64, log-sum-exp
def test_uniformity_of_float32_input_matches_float64(t):
    """float32 embeddings get the uniformity's pair kernel in float32 (and move to float64 for large t)."""
    embeddings, labels = make_batch(UNEVEN_LAYOUTS[2] * 30, dim=8, seed=9)  # 300 rows: several pair blocks
    wide = geometry_stats(embeddings, labels, t=t)
    narrow = geometry_stats(embeddings.float(), labels, t=t)
    assert narrow["uniformity"] == pytest.approx(wide["uniformity"], rel=1e-6)
    assert narrow["alignment"] == pytest.approx(wide["alignment"], rel=1e-6)


def test_uniformity_for_a_large_t_matches_loop_reference():
    embeddings, labels = make_batch(UNEVEN_LAYOUTS[1], dim=3, seed=3)
    got = geometry_stats(embeddings, labels, t=200.0)["uniformity"]
    assert got == pytest.approx(geometry_reference(embeddings, labels, t=200.0)["uniformity"], rel=1e-9)


def test_geometry_stats_collapsed_classes():
    means = torch.eye(4, 8, dtype=torch.float64) * 3.0
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])
    stats = geometry_stats(means[labels], labels)
    assert stats["nc1"] == pytest.approx(0.0, abs=1e-12)
    assert stats["alignment"] == pytest.approx(0.0, abs=1e-12)
    assert stats["effective_rank"] <= 4.0 + 1e-9
    assert stats["within_class_rank"] == 0.0  # collapsed classes: no within-class direction left


@pytest.mark.parametrize("k", [1, 2, 5])
def test_within_class_rank_of_a_class_spread_isotropically_in_k_dims_is_k(k):
    """Each class: cos θ·e_c ± sin θ·e_j for k directions e_j orthogonal to its centre e_c. Centred, the 2k
    rows are ±sin θ·e_j: k equal singular values, effective rank exactly k (whatever θ). The uncentred
    effective rank is not k: it also counts the class centres."""
    dim, theta = 16, 0.3
    basis = torch.eye(dim, dtype=torch.float64)
    rows, labels = [], []
    for c in range(3):
        spread = basis[3 + c * 4 : 3 + c * 4 + k]
        for sign in (1.0, -1.0):
            rows.append(math.cos(theta) * basis[c] + sign * math.sin(theta) * spread)
            labels += [c] * k
    embeddings = torch.cat(rows) * 2.5
    stats = geometry_stats(embeddings, torch.tensor(labels))
    assert stats["within_class_rank"] == pytest.approx(k, rel=1e-12)
    assert stats["effective_rank"] > k + 1


def test_within_class_rank_skips_singletons_and_weights_classes_equally():
    gen = torch.Generator().manual_seed(4)
    embeddings = torch.randn(12, 6, generator=gen, dtype=torch.float64)
    labels = torch.tensor([0] * 8 + [1] * 3 + [2])  # class 2 is a singleton
    stats = geometry_stats(embeddings, labels)
    z = unit_rows_np(embeddings)
    per_class = [effective_rank_reference(rows - rows.mean(0)) for rows in (z[:8], z[8:11])]
    assert stats["within_class_rank"] == pytest.approx(sum(per_class) / 2, **TOL)
    assert per_class[1] < 2.0 + 1e-12  # 3 centred rows span ≤ 2 dims


@pytest.mark.parametrize("name", DEGENERATE)
def test_geometry_stats_degenerate_batches_are_finite(name):
    """Finite, except the two compression measures, NaN where undefined (tests/test_geometry_compression.py)."""
    embeddings, labels = make_batch(DEGENERATE[name], seed=2)
    stats = geometry_stats(embeddings, labels)
    compression = {"spectral_decay", "pi_ratio"}
    assert all(math.isfinite(v) for k, v in stats.items() if k not in compression)
    assert math.isnan(stats["pi_ratio"])  # one class, or no class with two samples
    assert math.isnan(stats["spectral_decay"]) == (name == "single_sample")  # rank 1
    if name != "one_class":
        assert stats["alignment"] == 0.0 and stats["nc1"] == 0.0
    if name == "one_class":
        assert stats["nc1"] == 0.0
    if name == "single_sample":
        assert stats["uniformity"] == 0.0 and stats["effective_rank"] == pytest.approx(1.0)
    if name != "one_class":
        assert stats["within_class_rank"] == 0.0  # no class with two samples


# -- bad input --------------------------------------------------------------------------------------------
BAD_INPUTS = [
    (
        "nan",
        lambda e, y: (
            e.index_put((torch.tensor([0]), torch.tensor([0])), torch.tensor(float("nan"), dtype=e.dtype)),
            y,
        ),
        ValueError,
        "NaN",
    ),
    ("mismatched", lambda e, y: (e, y[:-1]), ValueError, "length"),
    ("float labels", lambda e, y: (e, y.double()), TypeError, "integer"),
    ("numpy float labels", lambda e, y: (e.numpy(), y.numpy().astype(np.float32)), TypeError, "integer"),
    ("1-D embeddings", lambda e, y: (e[:, 0], y), ValueError, "2-D"),
    ("list embeddings", lambda e, y: (e.tolist(), y), TypeError, "torch.Tensor"),
]


@pytest.mark.parametrize("case, corrupt, error, match", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
@pytest.mark.parametrize("fn", ["variance", "geometry", "compression", "greediness", "grad_norms"])
def test_bad_input_is_named(fn, case, corrupt, error, match):
    embeddings, labels = corrupt(*make_batch(UNEVEN_LAYOUTS[0]))
    call = {
        "variance": lambda: variance_stats(embeddings, labels),
        "geometry": lambda: geometry_stats(embeddings, labels),
        "compression": lambda: compression_stats(embeddings, labels),
        "greediness": lambda: greediness_stats(build_loss("contrastive"), embeddings, labels),
        "grad_norms": lambda: per_sample_grad_norms(build_loss("contrastive"), embeddings, labels),
    }[fn]
    with pytest.raises(error, match=match):
        call()


def test_geometry_stats_reject_bad_hyperparameters():
    embeddings, labels = make_batch(UNEVEN_LAYOUTS[0])
    with pytest.raises(ValueError, match="alpha"):
        geometry_stats(embeddings, labels, alpha=0)
    with pytest.raises(ValueError, match="t must"):
        geometry_stats(embeddings, labels, t=-1.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_diagnostics_on_cuda_match_cpu():
    embeddings, labels = make_batch(UNEVEN_LAYOUTS[1], dim=8, seed=8, dtype=torch.float32)
    loss_fn = make_loss("ccl", 10, 8, dtype=torch.float32)
    for fn in (variance_stats, geometry_stats, compression_stats):
        cpu, gpu = fn(embeddings, labels), fn(embeddings.cuda(), labels.cuda())
        for key in cpu:
            assert gpu[key] == pytest.approx(cpu[key], rel=1e-6, abs=1e-9), key
    cpu = greediness_stats(loss_fn, embeddings, labels)
    gpu = greediness_stats(loss_fn.cuda(), embeddings.cuda(), labels.cuda())
    for key in cpu:
        assert gpu[key] == pytest.approx(cpu[key], rel=1e-4, abs=1e-6), key
