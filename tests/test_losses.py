"""The seven losses (DESIGN.md §2): values, gradients and term counts against loop implementations of the
formulas, parity with pytorch-metric-learning's twins, gradcheck, degenerate batches, bad input, numerical
stability and triplet's memory bound."""

from __future__ import annotations

import math

import pytest
import reference_losses as ref
import torch
from torch import nn

from vgteach.losses import LOSS_NAMES, PROXY_LOSSES, Terms, build_loss, triplet
from vgteach.losses.base import l2_normalize
from vgteach.losses.triplet import batch_all_triplet_loss

TIGHT = dict(rtol=1e-10, atol=1e-10)

# label layouts: balanced, uneven with singletons, two classes, and the degenerate ones
LAYOUTS = {
    "balanced": [0, 0, 1, 1, 2, 2, 3, 3],
    "uneven": [0, 0, 0, 0, 0, 1, 1, 2, 3, 3, 3, 4],
    "pairs_and_singletons": [0, 0, 1, 2, 3, 3, 4],
    "two_classes": [0, 0, 0, 1, 1, 1, 1],
    "one_class": [2, 2, 2, 2, 2],
    "all_distinct": [0, 1, 2, 3, 4, 5],
    "single_sample": [1],
}
DEGENERATE = ("one_class", "all_distinct", "single_sample")


# -- helpers ----------------------------------------------------------------------------------------------
def make_labels(layout: str, seed: int) -> torch.Tensor:
    labels = torch.tensor(LAYOUTS[layout])
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))]


def random_embeddings(n: int, dim: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    scale = torch.rand(n, 1, generator=gen, dtype=dtype) * 3 + 0.5  # un-normalised on purpose
    return (torch.randn(n, dim, generator=gen, dtype=dtype) * scale).requires_grad_()


def clustered_embeddings(labels: torch.Tensor, dim: int, seed: int, dtype=torch.float64, spread: float = 3.0):
    """Samples near one axis per class with a noise level that varies per sample (up to ``spread``), so
    that some softmax terms fall below ε = 1e-3 (inactive) and others do not."""
    gen = torch.Generator().manual_seed(seed)
    centers = 8.0 * torch.eye(dim, dtype=dtype)[labels % dim]
    noise = torch.randn(len(labels), dim, generator=gen, dtype=dtype)
    level = torch.rand(len(labels), 1, generator=gen, dtype=dtype) ** 2 * spread
    return (centers + level * noise).requires_grad_()


def make_loss(name: str, num_classes: int, dim: int, dtype=torch.float64, seed: int = 0, **hparams):
    torch.manual_seed(seed)
    return build_loss(name, num_classes, dim, **hparams).to(dtype)


def reference(name: str, loss_fn, embeddings, labels, **hparams):
    fn = getattr(ref, name)
    param = loss_fn.proxies
    return fn(embeddings, labels, param, **hparams) if param is not None else fn(embeddings, labels, **hparams)


def grads(loss, inputs):
    inputs = [x for x in inputs if x is not None]
    return torch.autograd.grad(loss, inputs, allow_unused=True)


def batch(name: str, layout: str, seed: int, clustered: float = 0.0, dim: int = 6):
    """A loss with its proxies and a batch: random embeddings, or ``clustered`` ones with that spread."""
    labels = make_labels(layout, seed)
    num_classes = int(labels.max()) + 2  # one proxy that no sample uses
    loss_fn = make_loss(name, num_classes, dim, seed=seed)
    if clustered:
        embeddings = clustered_embeddings(labels, dim, seed, spread=clustered)
        param = loss_fn.proxies
        if param is not None:  # proxies near the class axes too
            with torch.no_grad():
                param.copy_(
                    torch.eye(dim, dtype=param.dtype)[torch.arange(num_classes) % dim]
                    + 0.1 * torch.randn(param.shape, dtype=param.dtype)
                )
    else:
        embeddings = random_embeddings(len(labels), dim, seed)
    return loss_fn, embeddings, labels


# -- 1. against the loop implementations of DESIGN.md's formulas ----------------------------------------
CASES = [(layout, seed, 0.0) for layout in LAYOUTS for seed in (0, 1)] + [
    (layout, 2, spread)
    for layout in ("balanced", "uneven", "pairs_and_singletons", "two_classes")
    for spread in (3.0, 0.5)  # mixed / mostly inactive softmax terms
]


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("layout,seed,clustered", CASES)
def test_matches_loop_reference(name, layout, seed, clustered):
    loss_fn, embeddings, labels = batch(name, layout, seed, clustered)
    param = loss_fn.proxies

    out = loss_fn.compute(embeddings, labels)
    expected = reference(name, loss_fn, embeddings, labels)
    torch.testing.assert_close(out.loss, expected.loss.to(out.loss.dtype), **TIGHT)
    for got, want in zip(grads(out.loss, [embeddings, param]), grads(expected.loss, [embeddings, param])):
        torch.testing.assert_close(got, want, **TIGHT)

    # GREEDINESS counts: the table's "terms" and "active" columns
    assert out.num_terms.dtype == out.num_active.dtype == torch.long
    assert out.num_terms.dim() == out.num_active.dim() == 0
    assert int(out.num_terms) == expected.num_terms
    assert int(out.num_active) == expected.num_active
    assert out.active_ratio == pytest.approx(expected.num_active / expected.num_terms if expected.num_terms else 0.0)

    terms = loss_fn.terms(embeddings, labels)
    want = torch.stack(expected.terms).detach() if expected.terms else torch.zeros(0, dtype=torch.float64)
    torch.testing.assert_close(terms.values, want, **TIGHT)
    assert terms.active().tolist() == expected.active
    assert not terms.values.requires_grad


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_forward_is_compute_loss(name):
    """forward() skips the counting; value and gradient must be compute()'s."""
    loss_fn, embeddings, labels = batch(name, "uneven", 0)
    loss, out = loss_fn(embeddings, labels), loss_fn.compute(embeddings, labels)
    torch.testing.assert_close(loss, out.loss, **TIGHT)
    torch.testing.assert_close(grads(loss, [embeddings])[0], grads(out.loss, [embeddings])[0], **TIGHT)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_count_active_of_hinge_terms_is_the_mask_sum(dtype):
    """The float fast path for hinges counts exactly what ``active().sum()`` counts: zeros are inactive and
    a NaN is skipped (float32 adds 0/1 exactly below 2**24 terms, where the path hands over to the mask)."""
    values = torch.rand(70_001, generator=torch.Generator().manual_seed(0), dtype=dtype)
    values[::3] = 0.0
    values[7] = float("nan")
    for terms in (Terms(values, hinge=True), Terms(values, hinge=False, floor=0.25)):
        count = terms.count_active()
        assert count.dtype == torch.long and count.dim() == 0
        assert int(count) == int(terms.active().sum())
    assert int(Terms(values[:0], hinge=True).count_active()) == 0


@pytest.mark.parametrize("name", ["infonce", "supcon", "npair", "arcface", "ccl"])
def test_active_threshold_is_eps(name):
    """``compute(eps=...)`` uses the given threshold; a larger ε can only switch softmax-type terms off."""
    loss_fn, embeddings, labels = batch(name, "uneven", 2, clustered=3.0)
    expected_loose = reference(name, loss_fn, embeddings, labels, eps=0.5)
    out = loss_fn.compute(embeddings, labels, eps=0.5)
    assert int(out.num_active) == expected_loose.num_active
    assert int(out.num_active) <= int(loss_fn.compute(embeddings, labels).num_active)


def test_supcon_floor_is_log_num_positives():
    """SupCon's per-anchor loss never falls below log #P(i), so "active" is measured above that floor."""
    labels = torch.tensor([0, 0, 0, 0, 1, 1])
    embeddings = 8 * torch.eye(4, dtype=torch.float64)[labels]
    terms = build_loss("supcon").terms(embeddings, labels)
    num_pos = torch.tensor([3, 3, 3, 3, 1, 1], dtype=torch.float64)
    assert (terms.values >= torch.log(num_pos) - 1e-12).all()
    torch.testing.assert_close(terms.floor, torch.log(num_pos))
    assert not terms.active().any()  # identical positives, negatives e^{-10} away: all at the floor


def test_arcface_fallback_branch_matches_reference():
    """Samples pointing away from their proxy (θ_y > π − m) take φ = cos θ_y − m·sin(π − m)."""
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    loss_fn = make_loss("arcface", 3, 5)
    with torch.no_grad():
        loss_fn.weight.copy_(torch.eye(5, dtype=torch.float64)[:3])
    embeddings = random_embeddings(6, 5, 0).detach()
    embeddings[:3] = -8 * torch.eye(5, dtype=torch.float64)[labels[:3]] + 0.1 * embeddings[:3]
    embeddings.requires_grad_()
    cos_y = nn.functional.normalize(embeddings, dim=1)[torch.arange(6), labels]
    assert (cos_y[:3] < math.cos(math.pi - 0.5)).all() and (cos_y[3:] > math.cos(math.pi - 0.5)).all()
    loss = loss_fn(embeddings, labels)
    expected = reference("arcface", loss_fn, embeddings, labels)
    torch.testing.assert_close(loss, expected.loss, **TIGHT)
    for got, want in zip(grads(loss, [embeddings, loss_fn.weight]), grads(expected.loss, [embeddings, loss_fn.weight])):
        torch.testing.assert_close(got, want, **TIGHT)


@pytest.mark.parametrize(
    "name,hparams",
    [
        ("contrastive", dict(margin=0.5)),
        ("triplet", dict(margin=0.05)),
        ("npair", dict(scale=4.0)),
        ("infonce", dict(temperature=0.5)),
        ("arcface", dict(scale=16.0, margin=0.3)),
        ("supcon", dict(temperature=0.07)),
        ("ccl", dict(temperature=0.2, margin=0.1, pull_weight=0.3)),
    ],
)
def test_hyperparameters_match_reference(name, hparams):
    labels = make_labels("uneven", 3)
    loss_fn = make_loss(name, int(labels.max()) + 1, 6, **hparams)
    embeddings = random_embeddings(len(labels), 6, 3)
    torch.testing.assert_close(
        loss_fn(embeddings, labels), reference(name, loss_fn, embeddings, labels, **hparams).loss, **TIGHT
    )


@pytest.mark.parametrize("chunk_size", [1, 5, 64])
def test_triplet_chunk_size_does_not_change_the_result(chunk_size):
    """chunk_size is terms()'s memory budget only: the terms, the loss and the counts stay the same."""
    labels = torch.randint(0, 6, (40,), generator=torch.Generator().manual_seed(0))
    embeddings = random_embeddings(40, 8, 0)
    base = build_loss("triplet").compute(embeddings, labels)
    out = build_loss("triplet", chunk_size=chunk_size).compute(embeddings, labels)
    torch.testing.assert_close(out.loss, base.loss, **TIGHT)
    assert int(out.num_terms) == int(base.num_terms) and int(out.num_active) == int(base.num_active)
    torch.testing.assert_close(grads(out.loss, [embeddings])[0], grads(base.loss, [embeddings])[0], **TIGHT)
    terms = build_loss("triplet", chunk_size=chunk_size).terms(embeddings, labels)
    assert torch.equal(terms.values, build_loss("triplet").terms(embeddings, labels).values)
    assert int(terms.count_active()) == int(base.num_active) and terms.values.numel() == int(base.num_terms)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])  # float32: the CPU's sorted-keys path
@pytest.mark.parametrize("margin", [0.2, 1.5])
@pytest.mark.parametrize("layout", [*LAYOUTS, "separated", "random40"])
def test_triplet_compute_equals_the_dense_equation(layout, margin, dtype):
    """TripletLoss's counting compute = the dense [B, B, B] batch-all equation, value and gradient (float64
    takes the torch.sort/searchsorted path, float32 on the CPU the NumPy one); 'separated' classes leave no
    active triplet at margin 0.2."""
    if layout == "separated":
        labels = torch.tensor([0, 0, 1, 1, 2, 2, 3])
        embeddings = clustered_embeddings(labels, 6, 0, spread=0.01, dtype=dtype)
    elif layout == "random40":
        labels = torch.randint(0, 6, (40,), generator=torch.Generator().manual_seed(1))
        embeddings = random_embeddings(40, 8, 1, dtype=dtype)
    else:
        labels = make_labels(layout, 0)
        embeddings = random_embeddings(len(labels), 6, 0, dtype=dtype)
    out = build_loss("triplet", margin=margin).compute(embeddings, labels)
    dense = batch_all_triplet_loss(l2_normalize(embeddings), labels, margin)
    tol = TIGHT if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.loss, dense, **tol)
    torch.testing.assert_close(grads(out.loss, [embeddings])[0], grads(dense, [embeddings])[0], **tol)
    assert out.loss.dtype == dtype
    if layout == "separated" and margin == 0.2:
        assert int(out.num_active) == 0 and float(dense.detach()) == 0.0 and dense.requires_grad
    if layout == "random40":
        assert 0 < int(out.num_active) < int(out.num_terms)  # a real mix of active and inactive


def enumerated_triplet_counts(d2, pos, neg, margin):
    """W_ap, W_an and |A| by enumerating the [B, B, B] triplets with the comparison the loss makes,
    ``(d²_ap + α) − d²_an > 0``, on the dtype of ``d2``."""
    active = ((d2 + margin)[:, :, None] - d2[:, None, :] > 0) & pos[:, :, None] & neg[:, None, :]
    return active.sum(2), active.sum(1), int(active.sum())


def random_distance_table(n: int, num_classes: int, seed: int, dtype, grid: float = 0.0):
    """A symmetric table of squared distances ≥ 0 with a zero diagonal and its label masks. ``grid`` > 0
    rounds every entry to a multiple of it: with a margin that is a multiple too, many triplets sit exactly
    at the hinge (d²_ap + α = d²_an, ℓ = 0: not active) and many distances tie."""
    gen = torch.Generator().manual_seed(seed)
    d2 = torch.rand(n, n, generator=gen, dtype=torch.float64) * 4
    if grid:
        d2 = (d2 / grid).round() * grid
    d2 = torch.triu(d2, 1)
    d2 = (d2 + d2.T).to(dtype)
    labels = torch.randint(0, num_classes, (n,), generator=gen)
    same = labels[:, None] == labels[None, :]
    return d2, same & ~torch.eye(n, dtype=torch.bool), ~same


COUNTERS = {"sorted_keys": triplet._counts_by_sorting_keys, "search": triplet._counts_by_search}


@pytest.mark.parametrize(
    "counter,dtype", [("sorted_keys", torch.float32), ("search", torch.float32), ("search", torch.float64)]
)
@pytest.mark.parametrize(
    "n,num_classes,grid,margin",
    [(1, 1, 0.0, 0.2), (9, 1, 0.0, 0.2), (9, 9, 0.0, 0.2), (60, 4, 0.0, 0.2), (60, 2, 0.25, 0.5), (80, 5, 0.5, 0.0)],
)
def test_triplet_counts_equal_the_enumeration(counter, dtype, n, num_classes, grid, margin):
    """Both counting paths give exactly the enumerated W_ap, W_an and |A| — ties at the hinge (on a grid)
    included, one class (no negative) and one sample per class (no positive) too."""
    d2, pos, neg = random_distance_table(n, num_classes, n + num_classes, dtype, grid)
    w_ap, w_an, num_active = enumerated_triplet_counts(d2, pos, neg, margin)
    args = (d2, pos, margin) if counter == "sorted_keys" else (d2, pos, neg, margin)
    weight, count = COUNTERS[counter](*args)
    assert weight.dtype == d2.dtype and count.dtype == torch.long and count.dim() == 0
    assert torch.equal(weight, (w_ap * pos - w_an * neg).to(d2.dtype))
    assert int(count) == num_active
    if grid:  # the grid does put triplets exactly at the hinge
        at_hinge = ((d2 + margin)[:, :, None] == d2[:, None, :]) & pos[:, :, None] & neg[:, None, :]
        assert at_hinge.any()


def test_triplet_counts_dispatch_by_dtype(monkeypatch):
    """float32 on the CPU takes the sorted-keys path, float64 the search path: the loss-level tests above
    run both."""
    d2, pos, neg = random_distance_table(12, 3, 0, torch.float64)
    taken = []
    for name, counter in COUNTERS.items():

        def spy(*args, _counter=counter, _name=name):
            taken.append(_name)
            return _counter(*args)

        monkeypatch.setattr(triplet, counter.__name__, spy)
    triplet.active_triplet_counts(d2.float(), pos, neg, 0.2)
    triplet.active_triplet_counts(d2, pos, neg, 0.2)
    assert taken == ["sorted_keys", "search"]


def test_triplet_counts_with_nan_distances_stay_bounded():
    """NaN distances (NaN embeddings; the loss is NaN then): the search path counts as the enumeration does
    (a NaN makes no triplet active); the sorted-keys path leaves each W_ap within the anchor's negatives."""
    d2, pos, neg = random_distance_table(30, 3, 7, torch.float32)
    d2[4, :] = d2[:, 4] = float("nan")
    d2[9, 11] = -float("nan")  # a NaN with its sign bit set
    w_ap, w_an, num_active = enumerated_triplet_counts(d2, pos, neg, 0.2)
    weight, count = triplet._counts_by_search(d2, pos, neg, 0.2)
    assert torch.equal(weight, (w_ap * pos - w_an * neg).float()) and int(count) == num_active
    weight, count = triplet._counts_by_sorting_keys(d2, pos, 0.2)
    assert ((weight >= 0) | ~pos).all() and ((weight <= 0) | pos).all()
    assert (torch.where(pos, weight, 0).sum(1) <= pos.sum(1) * neg.sum(1)).all()
    assert 0 <= int(count) <= int((pos.sum(1) * neg.sum(1)).sum())


# -- 2. parity with pytorch-metric-learning (DESIGN.md §2's five twins) ---------------------------------
def pml_twin(name: str, num_classes: int, dim: int):
    pytest.importorskip("pytorch_metric_learning")
    from pytorch_metric_learning import distances, losses

    return {
        "infonce": lambda: losses.NTXentLoss(temperature=0.1),
        "supcon": lambda: losses.SupConLoss(temperature=0.1),
        "npair": lambda: losses.NPairsLoss(),
        "triplet": lambda: losses.TripletMarginLoss(margin=0.2, distance=distances.LpDistance(power=2)),
        "arcface": lambda: losses.ArcFaceLoss(num_classes, dim, margin=math.degrees(0.5), scale=64),
    }[name]()


@pytest.mark.parametrize("name", ["infonce", "supcon", "npair", "triplet", "arcface"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pml_parity(name, seed):
    gen = torch.Generator().manual_seed(seed)
    num_classes, dim = 7, 16
    # seed 0: uniform labels; 1: uneven sizes with singletons; 2: few large classes
    sizes = {0: [4] * 7, 1: [6, 1, 3, 2, 1, 5, 2], 2: [9, 8, 7]}[seed]
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(sizes)])
    labels = labels[torch.randperm(len(labels), generator=gen)]
    embeddings = random_embeddings(len(labels), dim, seed)
    ours = make_loss(name, num_classes, dim, seed=seed)
    twin = pml_twin(name, num_classes, dim)
    params = [embeddings]
    if name == "arcface":
        with torch.no_grad():
            twin.W.data = ours.weight.detach().T.clone()
        cos_y = nn.functional.normalize(embeddings, dim=1) @ nn.functional.normalize(ours.weight, dim=1).T
        assert (cos_y[torch.arange(len(labels)), labels] > math.cos(math.pi - 0.5)).all()  # no fallback here

    loss = ours(embeddings, labels)
    twin_loss = twin(embeddings, labels)
    torch.testing.assert_close(loss, twin_loss.to(loss.dtype), rtol=1e-9, atol=1e-10)
    (g_ours,) = grads(loss, params)
    (g_twin,) = grads(twin_loss, params)
    torch.testing.assert_close(g_ours, g_twin, rtol=1e-8, atol=1e-10)
    if name == "arcface":
        (gw_ours,) = grads(ours(embeddings, labels), [ours.weight])
        (gw_twin,) = grads(twin(embeddings, labels), [twin.W])
        torch.testing.assert_close(gw_ours, gw_twin.T, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("num_classes", [2, 7])
def test_triplet_pml_parity_in_float32(num_classes):
    """The float32 CPU path (the one training takes) against PML's TripletMarginLoss in float32 too."""
    gen = torch.Generator().manual_seed(num_classes)
    labels = torch.randint(0, num_classes, (96,), generator=gen)
    embeddings = torch.randn(96, 16, generator=gen).requires_grad_()
    loss = build_loss("triplet")(embeddings, labels)
    twin_loss = pml_twin("triplet", num_classes, 16)(embeddings, labels)
    torch.testing.assert_close(loss, twin_loss, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grads(loss, [embeddings])[0], grads(twin_loss, [embeddings])[0], rtol=1e-4, atol=1e-6)


# -- 3. gradcheck -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_gradcheck(name):
    labels = torch.tensor([0, 1, 0, 2, 1, 0, 2])
    embeddings = random_embeddings(len(labels), 4, 5).detach().requires_grad_()
    loss_fn = make_loss(name, 3, 4)  # DESIGN.md defaults (ArcFace s = 64 included)
    param = loss_fn.proxies
    inputs = (embeddings,) if param is None else (embeddings, param)

    def f(e, *_):
        return loss_fn(e, labels)

    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)


# -- 4. degenerate batches -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("layout", DEGENERATE)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_degenerate_batch_has_finite_loss_and_gradient(name, layout, dtype):
    labels = make_labels(layout, 0)
    loss_fn = make_loss(name, int(labels.max()) + 1, 6, dtype=dtype)
    embeddings = random_embeddings(len(labels), 6, 0, dtype=dtype)
    out = loss_fn.compute(embeddings, labels)
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    out.loss.backward()
    assert embeddings.grad is not None and torch.isfinite(embeddings.grad).all()
    assert 0 <= int(out.num_active) <= int(out.num_terms)


@pytest.mark.parametrize("name", ["contrastive", "triplet", "npair", "infonce", "supcon"])
def test_no_terms_means_zero_loss_with_gradient_path(name):
    """One sample: no pair, triplet or anchor exists, so the loss is an empty mean = 0 (not NaN)."""
    embeddings = random_embeddings(1, 4, 0)
    out = build_loss(name).compute(embeddings, torch.tensor([3]))
    assert float(out.loss.detach()) == 0.0 and int(out.num_terms) == 0 and out.active_ratio == 0.0
    out.loss.backward()
    assert torch.equal(embeddings.grad, torch.zeros_like(embeddings))


# -- 5. bad input ---------------------------------------------------------------------------------------------
def good_input(dim=4):
    return torch.randn(6, dim), torch.tensor([0, 0, 1, 1, 2, 2])


BAD_INPUTS = {
    "nan": (
        lambda e, y: (e.index_put((torch.tensor([1]), torch.tensor([2])), torch.tensor(float("nan"))), y),
        ValueError,
        "NaN",
    ),
    "inf": (
        lambda e, y: (e.index_put((torch.tensor([0]), torch.tensor([0])), torch.tensor(float("inf"))), y),
        ValueError,
        "Inf",
    ),
    "1d": (lambda e, y: (e[:, 0], y), ValueError, "2-D"),
    "3d": (lambda e, y: (e[None], y), ValueError, "2-D"),
    "empty": (lambda e, y: (e[:0], y[:0]), ValueError, "at least one sample"),
    "int_embeddings": (lambda e, y: (e.long(), y), TypeError, "floating"),
    "list_embeddings": (lambda e, y: (e.tolist(), y), TypeError, "torch.Tensor"),
    "length_mismatch": (lambda e, y: (e, y[:-1]), ValueError, "length"),
    "float_labels": (lambda e, y: (e, y.float()), TypeError, "integer"),
    "bool_labels": (lambda e, y: (e, y > 0), TypeError, "integer"),
    "2d_labels": (lambda e, y: (e, y[:, None]), ValueError, "1-D"),
    "list_labels": (lambda e, y: (e, y.tolist()), TypeError, "labels"),
}


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_raises_with_a_message(name, case):
    make_bad, error, message = BAD_INPUTS[case]
    embeddings, labels = make_bad(*good_input())
    loss_fn = make_loss(name, 3, 4, dtype=torch.float32)
    with pytest.raises(error, match=message):
        loss_fn(embeddings, labels)
    with pytest.raises(error, match=message):
        loss_fn.compute(embeddings, labels)


@pytest.mark.parametrize("name", PROXY_LOSSES)
@pytest.mark.parametrize("bad_label", [3, -1])
def test_proxy_losses_reject_labels_out_of_range(name, bad_label):
    embeddings, labels = good_input()
    labels[2] = bad_label
    with pytest.raises(ValueError, match="num_classes"):
        make_loss(name, 3, 4, dtype=torch.float32)(embeddings, labels)


@pytest.mark.parametrize("name", PROXY_LOSSES)
def test_proxy_losses_reject_wrong_embedding_dim_or_missing_num_classes(name):
    with pytest.raises(ValueError, match="num_classes"):
        build_loss(name)
    with pytest.raises(ValueError, match="num_classes"):
        build_loss(name, num_classes=0)
    embeddings, labels = good_input(dim=5)
    with pytest.raises(ValueError, match="embedding_dim"):
        build_loss(name, num_classes=3, embedding_dim=4)(embeddings, labels)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_one_constructor_shape_for_all_seven(name):
    """build_loss(name, num_classes, embedding_dim) for every loss: proxy losses own a [K, D] table under
    ``.proxies`` (ArcFace's ``.weight``, CCL's ``.centers``, the same Parameter); pair losses ignore both."""
    embeddings, labels = good_input(dim=3)
    loss_fn = build_loss(name, num_classes=int(labels.max()) + 2, embedding_dim=3)
    assert build_loss(name, int(labels.max()) + 2, 3).extra_repr() == loss_fn.extra_repr()  # positional too
    assert torch.isfinite(loss_fn(embeddings, labels))
    if name in PROXY_LOSSES:
        assert (
            loss_fn.proxies
            is {"arcface": getattr(loss_fn, "weight", None), "ccl": getattr(loss_fn, "centers", None)}[name]
        )
        assert loss_fn.proxies.shape == (int(labels.max()) + 2, 3)
        assert list(loss_fn.parameters()) == [loss_fn.proxies]
        assert build_loss(name, num_classes=4).proxies.shape == (4, 128)  # the default D stays
    else:
        assert loss_fn.proxies is None and not list(loss_fn.parameters())
    with pytest.raises(AttributeError):
        loss_fn.proxies = torch.zeros(4, 3)  # read-only
    for bad in (0, -2, 2.0, True, "3"):
        with pytest.raises(ValueError, match="num_classes must be a positive integer"):
            build_loss(name, num_classes=bad, embedding_dim=3)
        with pytest.raises(ValueError, match="embedding_dim must be a positive integer"):
            build_loss(name, num_classes=3, embedding_dim=bad)


def test_unknown_loss_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown loss") as info:
        build_loss("hinge")
    assert all(valid in str(info.value) for valid in LOSS_NAMES)
    with pytest.raises(TypeError, match="string"):
        build_loss(3)


def test_aliases():
    assert build_loss("SCL").name == "supcon" and build_loss("NT-Xent").name == "infonce"


@pytest.mark.parametrize(
    "name,hparams,word",
    [
        ("triplet", dict(temperature=0.1), "temperature"),
        ("infonce", dict(margin=0.2), "margin"),
        ("contrastive", dict(scale=2.0), "scale"),
    ],
)
def test_unknown_hyperparameter_is_named(name, hparams, word):
    with pytest.raises(ValueError, match=word):
        build_loss(name, **hparams)


@pytest.mark.parametrize(
    "name,hparams,word",
    [
        ("infonce", dict(temperature=0.0), "temperature"),
        ("supcon", dict(temperature=-0.1), "temperature"),
        ("ccl", dict(num_classes=3, temperature=0.0), "temperature"),
        ("infonce", dict(temperature=float("nan")), "temperature"),
        ("arcface", dict(num_classes=3, scale=0.0), "scale"),
        ("arcface", dict(num_classes=3, margin=2.0), "margin"),
        ("npair", dict(scale=-1.0), "scale"),
        ("contrastive", dict(margin=-1.0), "margin"),
        ("triplet", dict(margin=-0.2), "margin"),
        ("triplet", dict(chunk_size=0), "chunk_size"),
        ("ccl", dict(num_classes=3, pull_weight=-1.0), "pull_weight"),
    ],
)
def test_bad_hyperparameter_value_is_named(name, hparams, word):
    with pytest.raises(ValueError, match=word):
        build_loss(name, **hparams)


def test_non_numeric_hyperparameter_is_a_type_error():
    with pytest.raises(TypeError, match="temperature"):
        build_loss("supcon", temperature="0.1")


# -- 6. numerical stability ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["infonce", "supcon", "ccl"])
@pytest.mark.parametrize("clustered", [0.0, 3.0])
def test_small_temperature_is_finite_and_exact(name, clustered):
    loss_fn, embeddings, labels = batch(name, "uneven", 4, clustered)
    loss_fn.temperature = 0.01
    loss = loss_fn(embeddings, labels)
    (grad,) = grads(loss, [embeddings])
    assert torch.isfinite(loss) and torch.isfinite(grad).all()
    torch.testing.assert_close(loss, reference(name, loss_fn, embeddings, labels, temperature=0.01).loss, **TIGHT)
    # float32 at τ = 0.01: e^{s/τ} alone would overflow (e^{100}); the log-sum-exp must not
    loss32 = loss_fn.float()(embeddings.detach().float().requires_grad_(), labels)
    assert torch.isfinite(loss32)
    torch.testing.assert_close(loss32.double(), loss.detach(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("magnitude", [1e-20, 1e4, 1e30])
def test_extreme_norms_give_the_same_loss(name, magnitude):
    """L2-normalisation makes every loss scale-invariant, also far outside the usual range (float32)."""
    labels = make_labels("uneven", 5)
    loss_fn = make_loss(name, int(labels.max()) + 1, 8, dtype=torch.float32)
    direction = random_embeddings(len(labels), 8, 5, dtype=torch.float32).detach()
    big = (direction * magnitude).requires_grad_()
    loss = loss_fn(big, labels)
    (grad,) = grads(loss, [big])
    assert torch.isfinite(loss) and torch.isfinite(grad).all()
    torch.testing.assert_close(loss, loss_fn(direction, labels), rtol=1e-5, atol=1e-5)


def test_arcface_large_scale_is_finite():
    loss_fn, embeddings, labels = batch("arcface", "uneven", 0)
    for scale in (64.0, 256.0):
        loss_fn.scale = scale
        loss = loss_fn(embeddings.float(), labels)
        assert torch.isfinite(loss)
        (grad,) = grads(loss_fn(embeddings, labels), [embeddings])
        assert torch.isfinite(grad).all()


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_bfloat16_autocast_matches_float32(name):
    torch.manual_seed(0)
    head = nn.Linear(32, 16)
    features = torch.randn(48, 32)
    labels = torch.arange(48) % 6
    loss_fn = make_loss(name, 6, 16, dtype=torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        embeddings = head(features)
        assert embeddings.dtype == torch.bfloat16
        loss = loss_fn(embeddings, labels)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters())
    loss32 = loss_fn(head(features), labels)
    torch.testing.assert_close(loss.detach(), loss32.detach(), rtol=0.05, atol=0.02)


# -- 7. triplet at the paper's batch size: O(B²) memory, never B³ -----------------------------------------
@pytest.mark.parametrize("num_classes", [10, 2])  # the paper's setting; coarse-to-fine's two superclasses
def test_triplet_at_batch_512_never_builds_a_cube(num_classes):
    from torch.utils._python_dispatch import TorchDispatchMode

    class LargestTensor(TorchDispatchMode):
        """Records the largest tensor any aten op produces (forward and backward)."""

        largest = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else [out]:
                if isinstance(t, torch.Tensor):
                    self.largest = max(self.largest, t.numel())
            return out

    B = 512
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, num_classes, (B,), generator=gen)
    embeddings = torch.randn(B, 128, generator=gen).requires_grad_()
    loss_fn = build_loss("triplet")
    with LargestTensor() as probe:
        out = loss_fn.compute(embeddings, labels)
        (grad,) = grads(out.loss, [embeddings])
    assert probe.largest <= B * (B + 1)  # the B×B distances (and one [B, B + 1] histogram on other devices)

    counts = torch.bincount(labels)[labels]  # class size of each anchor
    assert int(out.num_terms) == int(((counts - 1) * (B - counts)).sum())
    # the float32 CPU path (NumPy-sorted keys) against the torch.sort/searchsorted path on the same distances
    z = l2_normalize(embeddings.detach())
    d2 = (2.0 - 2.0 * z @ z.T).clamp_min(0.0)
    same = labels[:, None] == labels[None, :]
    pos, neg = same & ~torch.eye(B, dtype=torch.bool), ~same
    weight, num_active = triplet._counts_by_search(d2, pos, neg, loss_fn.margin)
    assert int(out.num_active) == int(num_active) > 0
    assert torch.equal(triplet.active_triplet_counts(d2, pos, neg, loss_fn.margin)[0], weight)
    # and the loss against float64 (its own counts: a rare triplet within rounding of the hinge may differ)
    wide = embeddings.detach().double().requires_grad_()
    loss64 = build_loss("triplet")(wide, labels)
    torch.testing.assert_close(out.loss.double(), loss64.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad.double(), grads(loss64, [wide])[0], rtol=1e-3, atol=1e-7)


# -- devices ---------------------------------------------------------------------------------------------
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_cuda_matches_cpu(name):
    loss_fn, embeddings, labels = batch(name, "uneven", 0)
    out_cpu = loss_fn.compute(embeddings, labels)
    out_gpu = loss_fn.cuda().compute(embeddings.detach().cuda(), labels)  # labels moved inside
    torch.testing.assert_close(out_gpu.loss.cpu(), out_cpu.loss.detach(), rtol=1e-9, atol=1e-9)
    assert int(out_gpu.num_active) == int(out_cpu.num_active) and out_gpu.num_terms.device.type == "cuda"
