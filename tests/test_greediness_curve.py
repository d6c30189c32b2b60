"""active_share_curve: the share of active terms as the threshold ε sweeps (DESIGN.md §3, GREEDINESS)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vgteach.diagnostics import active_share_curve, greediness_stats
from vgteach.diagnostics.greediness import EPS_GRID
from vgteach.losses import DEFAULT_ACTIVE_EPS, LOSS_NAMES, build_loss

CLASSES, PER_CLASS, DIM = 5, 4, 8


def clustered_batch(spread: float, seed: int = 0):
    """PER_CLASS samples around each of CLASSES random directions: a small ``spread`` gives well-separated
    classes, whose softmax terms fall close to their floor (so ε matters), a large one a random batch."""
    gen = torch.Generator().manual_seed(seed)
    centers = torch.randn(CLASSES, DIM, generator=gen) * 3
    labels = torch.arange(CLASSES).repeat_interleave(PER_CLASS)
    embeddings = centers[labels] + spread * torch.randn(len(labels), DIM, generator=gen)
    return embeddings, labels


def make(name: str):
    torch.manual_seed(0)
    return build_loss(name, num_classes=CLASSES, embedding_dim=DIM)


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("spread", [0.05, 1.0, 10.0])
def test_the_share_never_increases_with_eps(name, spread):
    e, y = clustered_batch(spread)
    curve = active_share_curve(make(name), e, y)
    assert list(curve.columns) == ["eps", "num_terms", "num_active", "active_ratio"]
    assert np.all(np.diff(curve["eps"]) > 0)
    assert np.all(np.diff(curve["active_ratio"]) <= 0)
    assert np.all(np.diff(curve["num_active"]) <= 0)
    assert curve["active_ratio"].between(0, 1).all()


def test_the_sweep_moves_softmax_terms_and_leaves_hinge_terms_alone():
    """Not a vacuous monotonicity: on separated classes a softmax loss's share really falls over the grid,
    while a hinge loss's share is the same at every ε."""
    e, y = clustered_batch(0.05)
    infonce = active_share_curve(make("infonce"), e, y)["active_ratio"]
    assert infonce.iloc[0] > infonce.iloc[-1]
    for name in ("contrastive", "triplet"):
        assert active_share_curve(make(name), e, y)["active_ratio"].nunique() == 1


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("spread", [0.05, 1.0])
def test_equals_greediness_stats(name, spread):
    e, y = clustered_batch(spread, seed=1)
    loss_fn = make(name)
    curve = active_share_curve(loss_fn, e, y, eps_values=[DEFAULT_ACTIVE_EPS, 0.05]).set_index("eps")
    for eps in (DEFAULT_ACTIVE_EPS, 0.05):
        stats = greediness_stats(loss_fn, e, y, eps=eps)
        assert curve.loc[eps, "active_ratio"] == stats["active_ratio"]
        assert curve.loc[eps, "num_active"] == stats["num_active"]
        assert curve.loc[eps, "num_terms"] == stats["num_terms"]


def test_default_grid_spans_1e6_to_1_and_holds_the_default_eps():
    assert min(EPS_GRID) == pytest.approx(1e-6) and max(EPS_GRID) == 1.0
    assert DEFAULT_ACTIVE_EPS in EPS_GRID
    e, y = clustered_batch(1.0)
    curve = active_share_curve(make("supcon"), e, y)
    assert len(curve) == len(EPS_GRID)


def test_eps_values_are_sorted_and_deduplicated_and_numpy_inputs_work():
    e, y = clustered_batch(0.05)
    curve = active_share_curve(make("infonce"), e.numpy(), y.numpy(), eps_values=np.array([0.1, 1e-3, 0.1, 0.0]))
    assert curve["eps"].tolist() == [0.0, 1e-3, 0.1]
    from_tensor = active_share_curve(make("infonce"), e, y, eps_values=torch.tensor([0.0, 1e-3, 0.1]))
    assert from_tensor["active_ratio"].tolist() == curve["active_ratio"].tolist()


@pytest.mark.parametrize(
    "bad",
    [[], [[1e-3, 1e-2]], [-1e-3], [1e-3, float("nan")], [float("inf")], "1e-3", 1e-3, ["a"], None],
    ids=["empty", "2-D", "negative", "nan", "inf", "string", "scalar", "non-numeric", "None"],
)
def test_bad_eps_values_raise_a_clear_value_error(bad):
    e, y = clustered_batch(1.0)
    with pytest.raises(ValueError, match="eps_values"):
        active_share_curve(make("infonce"), e, y, eps_values=bad)


def test_not_a_vgteach_loss_is_a_type_error():
    e, y = clustered_batch(1.0)
    with pytest.raises(TypeError, match="vgteach loss"):
        active_share_curve(torch.nn.MSELoss(), e, y)


def test_mismatched_batch_is_a_value_error():
    e, y = clustered_batch(1.0)
    with pytest.raises(ValueError):
        active_share_curve(make("triplet"), e, y[:-1])


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize(
    "case",
    ["one class", "all zero", "identical rows", "tiny scale", "huge scale"],
)
def test_degenerate_batches_give_finite_shares(name, case):
    e, y = clustered_batch(1.0)
    if case == "one class":
        y = torch.zeros_like(y)
    elif case == "all zero":
        e = torch.zeros_like(e)
    elif case == "identical rows":
        e = e[:1].expand_as(e).clone()
    elif case == "tiny scale":
        e = e * 1e-30
    else:
        e = e * 1e30
    curve = active_share_curve(make(name), e, y)
    assert all(math.isfinite(value) for value in curve["active_ratio"])
    assert curve["active_ratio"].between(0, 1).all()
    assert np.all(np.diff(curve["active_ratio"]) <= 0)
    assert curve["active_ratio"].iloc[0] == pytest.approx(greediness_stats(make(name), e, y, eps=1e-6)["active_ratio"])


def test_a_batch_without_terms_reads_zero():
    """A triplet batch of one class has no negative, hence no triplet: nothing is active (as greediness_stats)."""
    e, _ = clustered_batch(1.0)
    curve = active_share_curve(make("triplet"), e, torch.zeros(len(e), dtype=torch.long))
    assert (curve["num_terms"] == 0).all() and (curve["active_ratio"] == 0.0).all()


def test_leaves_the_callers_tensors_and_the_loss_alone_and_works_without_grad():
    e, y = clustered_batch(1.0)
    e = e.clone().requires_grad_(True)
    before = e.detach().clone()
    loss_fn = make("arcface")
    with torch.no_grad():
        inside_no_grad = active_share_curve(loss_fn, e, y)
    with torch.inference_mode():
        inside_inference = active_share_curve(loss_fn, e, y)
    outside = active_share_curve(loss_fn, e, y)
    assert e.grad is None and torch.equal(e.detach(), before)
    assert loss_fn.proxies.grad is None
    assert inside_no_grad.equals(outside) and inside_inference.equals(outside)
