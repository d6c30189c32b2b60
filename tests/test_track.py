"""The public tracker around any loss: pytorch-metric-learning's, a hand-written one, vgteach's.

What it records is checked against autograd run separately (float64), the epoch row against a loop over
the steps, and a tracked training run against an untracked one (identical parameters).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from vgteach import build_loss, greediness_stats
from vgteach.diagnostics import gini
from vgteach.diagnostics.greediness import GRAD_NORM_KEYS
from vgteach.track import COLUMNS, GreedinessTracker

pml = pytest.importorskip("pytorch_metric_learning.losses")

B, D_IN, D, CLASSES = 24, 10, 8, 4


def hand_written(embeddings, labels):
    """A user's loss: pull each sample towards its class mean, push class means apart (cosine)."""
    z = nn.functional.normalize(embeddings, dim=1)
    same = (labels[:, None] == labels[None, :]).to(z.dtype)
    sim = z @ z.T
    return (1 - (sim * same).sum(1) / same.sum(1)).mean() + (sim * (1 - same)).clamp_min(0).mean()


LOSSES = {
    "pml TripletMarginLoss": lambda: pml.TripletMarginLoss(margin=0.2),
    "pml NTXentLoss": lambda: pml.NTXentLoss(temperature=0.1),
    "pml ArcFaceLoss": lambda: pml.ArcFaceLoss(num_classes=CLASSES, embedding_size=D),
    "hand-written": lambda: hand_written,
    "vgteach triplet": lambda: build_loss("triplet"),
}


def setup(name, seed=0):
    torch.manual_seed(seed)
    model = nn.Linear(D_IN, D).double()
    loss_fn = LOSSES[name]()
    if isinstance(loss_fn, nn.Module):
        loss_fn = loss_fn.double()
    gen = torch.Generator().manual_seed(seed + 1)
    batches = [(torch.randn(B, D_IN, generator=gen, dtype=torch.float64), torch.arange(B) % CLASSES) for _ in range(3)]
    return model, loss_fn, batches


def reference_norms(model, loss_fn, x, y):
    """‖∂L/∂e_i‖ by autograd, without any tracker."""
    e = model(x)
    (grad,) = torch.autograd.grad(loss_fn(e, y), e)
    return torch.linalg.vector_norm(grad, dim=1)


@pytest.mark.parametrize("name", list(LOSSES))
def test_recorded_norms_and_epoch_row_equal_autograd(name):
    model, loss_fn, batches = setup(name)
    tracker = GreedinessTracker(loss_fn, model, effective_every=1)
    expected, losses, param_norms, proxy_norms = [], [], [], []
    for x, y in batches:
        expected.append(reference_norms(model, loss_fn, x, y))
        model.zero_grad()
        if isinstance(loss_fn, nn.Module):
            loss_fn.zero_grad()
        loss = tracker(model(x), y)
        loss.backward()
        tracker.step()
        torch.testing.assert_close(tracker.last_sample_grad_norms, expected[-1], rtol=1e-12, atol=1e-15)
        losses.append(loss.item())
        param_norms.append(math.sqrt(sum(float(p.grad.pow(2).sum()) for p in model.parameters())))
        if isinstance(loss_fn, nn.Module) and list(loss_fn.parameters()):
            proxy_norms.append(math.sqrt(sum(float(p.grad.pow(2).sum()) for p in loss_fn.parameters())))
    row = tracker.end_epoch()

    g = [n.numpy() for n in expected]  # loop reference of the epoch means
    assert row["steps"] == 3 and row["epoch"] == 0
    assert row["loss"] == pytest.approx(np.mean(losses), rel=1e-6)
    assert row["grad_norm_mean"] == pytest.approx(np.mean([n.mean() for n in g]), rel=1e-5)
    assert row["grad_norm_median"] == pytest.approx(np.mean([np.median(n) for n in g]), rel=1e-5)
    assert row["grad_norm_max"] == pytest.approx(np.mean([n.max() for n in g]), rel=1e-5)
    assert row["grad_gini"] == pytest.approx(np.mean([gini(n) for n in g]), rel=1e-5, abs=1e-7)
    assert row["sample_active_ratio"] == pytest.approx(np.mean([(n > 1e-8).mean() for n in g]))
    assert row["param_grad_norm"] == pytest.approx(np.mean(param_norms), rel=1e-5)
    if proxy_norms:
        assert row["proxy_grad_norm"] == pytest.approx(np.mean(proxy_norms), rel=1e-5)
    else:
        assert math.isnan(row["proxy_grad_norm"])
    if name.startswith("vgteach"):
        stats = [greediness_stats(loss_fn, model(x), y) for x, y in batches]
        assert row["active_ratio"] == pytest.approx(np.mean([s["active_ratio"] for s in stats]))
        assert row["effective_active_ratio"] == pytest.approx(
            np.mean([s["effective_active_ratio"] for s in stats]), rel=1e-5
        )
        assert 0 < row["effective_active_ratio"] < 1
    else:  # a foreign loss's terms and S are not visible
        assert math.isnan(row["active_ratio"]) and math.isnan(row["effective_active_ratio"])


def train(name, tracked: bool, epochs=2):
    model, loss_fn, batches = setup(name, seed=5)
    params = list(model.parameters()) + (list(loss_fn.parameters()) if isinstance(loss_fn, nn.Module) else [])
    optimizer = torch.optim.Adam(params, lr=1e-2)
    tracker = GreedinessTracker(loss_fn, model) if tracked else None
    step_loss = tracker if tracked else loss_fn
    losses = []
    for _ in range(epochs):
        for x, y in batches:
            optimizer.zero_grad()
            loss = step_loss(model(x), y)
            loss.backward()
            if tracked:
                tracker.step()
            optimizer.step()
            losses.append(loss.detach())
        if tracked:
            tracker.end_epoch()
    return [p.detach().clone() for p in params], torch.stack(losses), tracker


@pytest.mark.parametrize("name", list(LOSSES))
def test_wrapping_does_not_change_training(name):
    bare_params, bare_losses, _ = train(name, tracked=False)
    params, losses, tracker = train(name, tracked=True)
    assert torch.equal(losses, bare_losses)
    assert all(torch.equal(a, b) for a, b in zip(params, bare_params))
    frame = tracker.to_frame()
    assert list(frame.columns) == ["epoch", "steps", *COLUMNS] and frame["epoch"].tolist() == [0, 1]


def test_validation_calls_pass_through_untracked():
    model, loss_fn, batches = setup("pml NTXentLoss")
    tracker = GreedinessTracker(loss_fn, model)
    x, y = batches[0]
    with torch.no_grad():
        value = tracker(model(x), y)
    assert value == loss_fn(model(x), y) and tracker.steps == 0
    assert tracker.end_epoch() is None and tracker.to_frame().empty


def test_only_this_losss_gradient_is_recorded():
    """A second term on the same embeddings (a regulariser) does not enter ‖∂L/∂e_i‖."""
    model, loss_fn, batches = setup("hand-written")
    tracker = GreedinessTracker(loss_fn, model)
    x, y = batches[0]
    e = model(x)
    (tracker(e, y) + 10 * e.pow(2).sum()).backward()
    tracker.step()
    torch.testing.assert_close(tracker.last_sample_grad_norms, reference_norms(model, loss_fn, x, y))


def test_misuse_is_reported():
    model, loss_fn, batches = setup("pml TripletMarginLoss")
    x, y = batches[0]
    with pytest.raises(TypeError, match="callable"):
        GreedinessTracker("triplet", model)
    with pytest.raises(TypeError, match="model must be"):
        GreedinessTracker(loss_fn, model=3)
    tracker = GreedinessTracker(loss_fn, model)
    with pytest.raises(RuntimeError, match="without a tracked loss call"):
        tracker.step()
    tracker(model(x), y)
    with pytest.raises(RuntimeError, match="before tracker.step"):
        tracker(model(x), y)
    with pytest.raises(RuntimeError, match="before loss.backward"):
        tracker.step()
    with pytest.raises(TypeError, match="scalar tensor"):
        GreedinessTracker(lambda e, y: e.sum(1), model)(model(x), y)


def test_without_a_model_and_with_an_open_epoch():
    _, loss_fn, batches = setup("hand-written")
    tracker = GreedinessTracker(loss_fn)
    for x, y in batches[:2]:
        e = torch.randn(B, D, dtype=torch.float64, requires_grad=True)
        tracker(e, y).backward()
        tracker.step()
    frame = tracker.to_frame()  # the open epoch shows as a last row
    assert len(frame) == 1 and frame["steps"].iloc[0] == 2 and math.isnan(frame["param_grad_norm"].iloc[0])
    fig = tracker.plot()
    assert {ax.get_title() for ax in fig.axes if ax.has_data()} == {"loss", "sample_active_ratio", "grad_gini"}


def test_effective_ratio_on_every_kth_step_as_in_the_trainer():
    model, loss_fn, batches = setup("vgteach triplet")
    tracker = GreedinessTracker(loss_fn, model, effective_every=2)  # steps 0 and 2 of each epoch
    for x, y in batches:
        tracker(model(x), y).backward()
        tracker.step()
    taken = [greediness_stats(loss_fn, model(x), y)["effective_active_ratio"] for x, y in batches[::2]]
    assert tracker.end_epoch()["effective_active_ratio"] == pytest.approx(np.mean(taken), rel=1e-5)
    assert GreedinessTracker(loss_fn).effective_every == 10  # the trainer's default


def test_tracker_and_greediness_stats_agree_on_an_even_batch():
    """One definition of each statistic: the tracker's epoch reduction of one step and ``greediness_stats``
    of the same batch give the same numbers; with B even the median is the mean of the two middle norms
    (the study's history once took the lower one, and disagreed with ``vgteach diagnose``)."""
    model, loss_fn, _ = setup("vgteach triplet")
    x = torch.randn(48, D_IN, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    y = torch.arange(48) % CLASSES
    tracker = GreedinessTracker(loss_fn, model)
    tracker(model(x), y).backward()
    tracker.step()
    norms = np.sort(tracker.last_sample_grad_norms.numpy())
    row = tracker.end_epoch()
    stats = greediness_stats(loss_fn, model(x).detach(), y)
    for key in ("loss", "active_ratio", "effective_active_ratio", *GRAD_NORM_KEYS):
        assert row[key] == pytest.approx(stats[key], rel=1e-5, abs=1e-9), key
    middle = (norms[23] + norms[24]) / 2
    assert norms[23] < norms[24] and stats["grad_norm_median"] == pytest.approx(middle, rel=1e-9)


def test_a_scaled_backward_is_divided_out():
    """``loss_scale``: the loop multiplies the loss before backward (DDP in vgteach's trainer); the recorded
    per-sample norms are those of the loss itself."""
    model, loss_fn, batches = setup("vgteach triplet")
    x, y = batches[0]
    tracker = GreedinessTracker(loss_fn, model, loss_scale=4)
    out = tracker.compute(model(x), y)
    assert int(out.num_terms) > 0 and out.similarity is not None  # a vgteach loss: its counts and S
    (out.loss * 4).backward()
    tracker.step()
    torch.testing.assert_close(tracker.last_sample_grad_norms, reference_norms(model, loss_fn, x, y))
    with pytest.raises(ValueError, match="loss_scale"):
        GreedinessTracker(loss_fn, model, loss_scale=0)
