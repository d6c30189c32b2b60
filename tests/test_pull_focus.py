"""pull_focus: where a loss aims its pull, against the pull written out from the losses' formulas."""

from __future__ import annotations

import math

import pytest
import torch

from vgteach import build_loss
from vgteach.diagnostics import pull_focus
from vgteach.diagnostics.pull import positive_pull


def batch(seed=0, classes=4, per_class=6, dim=8):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(classes).repeat_interleave(per_class)
    centers = torch.randn(classes, dim, generator=gen)
    return centers[labels] + 0.8 * torch.randn(len(labels), dim, generator=gen), labels


def infonce_pull_by_formula(e, y, tau):
    """−∂L/∂s_ij − ∂L/∂s_ji for every positive pair i < j, from DESIGN §2's InfoNCE written as a loop:
    ∂ℓ_ip/∂s_ip = −(1 − q_ip)/τ with q_ip = e^{s_ip/τ} / (e^{s_ip/τ} + Σ_n e^{s_in/τ}), L the mean over the
    ordered positive pairs (negative-pair entries of G only push)."""
    z = torch.nn.functional.normalize(e.double(), dim=1)
    s = z @ z.T
    n = len(y)
    ordered = [(i, p) for i in range(n) for p in range(n) if i != p and y[i] == y[p]]
    pull = {}
    for i, p in ordered:
        negatives = sum(math.exp(s[i, k] / tau) for k in range(n) if y[k] != y[i])
        q = math.exp(s[i, p] / tau) / (math.exp(s[i, p] / tau) + negatives)
        key = (min(i, p), max(i, p))
        pull[key] = pull.get(key, 0.0) + (1 - q) / tau / len(ordered)
    keys = sorted(pull)
    as64 = dict(dtype=torch.float64)
    return torch.tensor([pull[k] for k in keys], **as64), torch.tensor([float(s[k]) for k in keys], **as64)


def test_infonce_pull_matches_its_formula():
    e, y = batch()
    pull, similarity = positive_pull(build_loss("infonce", temperature=0.2), e, y)
    expected_pull, expected_similarity = infonce_pull_by_formula(e, y, 0.2)
    assert torch.allclose(pull, expected_pull, rtol=1e-4, atol=1e-7)
    assert torch.allclose(similarity, expected_similarity, atol=1e-6)
    assert (pull > 0).all()  # InfoNCE never pushes a positive pair apart


def test_equal_pulls_put_the_far_fraction_on_the_far_pairs():
    # contrastive's positive term is ½·mean_P d², d² = 2 − 2s: every positive pair is pulled by 1/|P|
    e, y = batch(classes=2, per_class=5)  # 2 × C(5, 2) = 20 positive pairs: the far quarter is 5 of them
    focus = pull_focus(build_loss("contrastive"), e, y, far=0.25)
    assert focus["positive_pairs"] == 20
    assert focus["far_pull_share"] == pytest.approx(0.25, abs=1e-6)
    assert focus["pushed_positive_share"] == 0


def test_supcon_aims_at_far_positives_and_can_push_near_ones():
    # a class with one straggler: SupCon's softmax over every other sample pulls the straggler hardest and
    # pushes the closest siblings apart; InfoNCE pulls each positive only against the negatives
    torch.manual_seed(0)
    tight = torch.tensor([1.0, 0.0, 0.0]) + 0.02 * torch.randn(5, 3)
    straggler = torch.tensor([[0.4, 0.9, 0.0]])
    others = torch.tensor([-1.0, 0.0, 0.3]) + 0.02 * torch.randn(6, 3)
    e = torch.cat([tight, straggler, others])
    y = torch.tensor([0] * 6 + [1] * 6)
    supcon = pull_focus(build_loss("supcon", temperature=0.1), e, y)
    infonce = pull_focus(build_loss("infonce", temperature=0.1), e, y)
    assert supcon["pushed_positive_share"] > 0 == infonce["pushed_positive_share"]
    assert supcon["far_pull_share"] > infonce["far_pull_share"]


def test_proxy_losses_pull_each_sample_toward_its_own_proxy():
    e, y = batch()
    loss = build_loss("ccl", num_classes=4, embedding_dim=8)
    pull, similarity = positive_pull(loss, e, y)
    assert pull.shape == similarity.shape == (len(y),)
    z = torch.nn.functional.normalize(e.double(), dim=1)
    proxies = torch.nn.functional.normalize(loss.centers.detach().double(), dim=1)
    assert torch.allclose(similarity, (z * proxies[y]).sum(1), atol=1e-6)
    assert 0 <= pull_focus(loss, e, y)["far_pull_share"] <= 1


def test_the_callers_graph_is_untouched():
    e, y = batch()
    e.requires_grad_(True)
    pull_focus(build_loss("supcon"), e, y)
    assert e.grad is None


def test_bad_inputs_are_named():
    e, y = batch()
    with pytest.raises(ValueError, match="far"):
        pull_focus(build_loss("supcon"), e, y, far=1.5)
    with pytest.raises(TypeError, match="vgteach loss"):
        pull_focus(torch.nn.MSELoss(), e, y)
    with pytest.raises(ValueError, match="N-pair"):
        pull_focus(build_loss("npair"), e, y)


def test_a_batch_without_positive_pairs_gives_nan():
    e = torch.randn(4, 3)
    focus = pull_focus(build_loss("supcon"), e, torch.arange(4))
    assert focus["positive_pairs"] == 0 and math.isnan(focus["far_pull_share"])
