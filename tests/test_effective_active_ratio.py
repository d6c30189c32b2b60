"""``effective_active_ratio`` (DESIGN.md §3): the participation ratio of |∂L/∂S| over the pairs of the
similarity matrix S, against loop references written on an explicit S variable; in ``greediness_stats``, in
the training tracker (per step, every k-th step, epoch means) and in the history, for all seven losses."""

from __future__ import annotations

import math

import pytest
import torch

from vgteach.diagnostics import greediness_stats
from vgteach.losses import LOSS_NAMES, build_loss
from vgteach.losses.base import Similarity
from vgteach.track import GreedinessTracker
from vgteach.training.trainer import train_step

LAYOUTS = {
    "uneven": [0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 1],
    "pairs": [4, 4, 1, 1, 0, 0, 2, 2, 3],
    "one_class": [2, 2, 2, 2, 2],  # no negatives
    "all_distinct": [0, 1, 2, 3, 4, 5],  # no positives
    "single_sample": [1],
}


# -- loop references: each loss as a function of an explicit S (every entry its own variable) ------------
def lse(values):
    top = max(float(v.detach()) for v in values)
    return top + torch.log(sum(torch.exp(v - top) for v in values))


def mean(values, S):
    return sum(values) / len(values) if values else S.sum() * 0.0


def d2(s):
    return torch.clamp(2.0 - 2.0 * s, min=0.0)  # ||z_i − z_j||² on the unit sphere


def contrastive_from_s(S, y, margin=1.0):
    pos, neg = [], []
    for i in range(len(y)):
        for j in range(i + 1, len(y)):
            if y[i] == y[j]:
                pos.append(d2(S[i, j]))
            else:
                neg.append(torch.clamp(margin - torch.sqrt(torch.clamp(d2(S[i, j]), min=1e-12)), min=0.0) ** 2)
    return 0.5 * mean(pos, S) + 0.5 * mean(neg, S)


def triplet_from_s(S, y, margin=0.2):
    active = []
    for a in range(len(y)):
        for p in range(len(y)):
            for n in range(len(y)):
                if p != a and y[p] == y[a] and y[n] != y[a]:
                    term = d2(S[a, p]) - d2(S[a, n]) + margin
                    if float(term.detach()) > 0:
                        active.append(term)
    return mean(active, S)


def npair_from_s(S, y, scale=1.0):
    first, second = {}, {}
    for idx, label in enumerate(y):
        if label not in first:
            first[label] = idx
        elif label not in second:
            second[label] = idx
    classes = sorted(second)
    if len(classes) < 2:
        return S.sum() * 0.0
    terms = []
    for k, ck in enumerate(classes):
        logits = [scale * S[first[ck], second[cl]] for cl in classes]
        terms.append(lse(logits) - logits[k])
    return mean(terms, S)


def infonce_from_s(S, y, temperature=0.1):
    terms = []
    for i in range(len(y)):
        negatives = [S[i, n] / temperature for n in range(len(y)) if y[n] != y[i]]
        for p in range(len(y)):
            if p != i and y[p] == y[i]:
                positive = S[i, p] / temperature
                terms.append(lse([positive] + negatives) - positive)
    return mean(terms, S)


def supcon_from_s(S, y, temperature=0.1):
    terms = []
    for i in range(len(y)):
        positives = [p for p in range(len(y)) if p != i and y[p] == y[i]]
        if positives:
            log_denominator = lse([S[i, a] / temperature for a in range(len(y)) if a != i])
            terms.append(-sum(S[i, p] / temperature - log_denominator for p in positives) / len(positives))
    return mean(terms, S)


def arcface_from_s(S, y, scale=64.0, margin=0.5):
    terms = []
    for i, label in enumerate(y):
        logits = []
        for j in range(S.shape[1]):
            cos = S[i, j]
            if j != label:
                logits.append(scale * cos)
            elif float(cos.detach()) > math.cos(math.pi - margin):
                logits.append(scale * torch.cos(torch.acos(torch.clamp(cos, -1.0, 1.0)) + margin))
            else:
                logits.append(scale * (cos - margin * math.sin(math.pi - margin)))
        terms.append(lse(logits) - logits[label])
    return mean(terms, S)


def ccl_from_s(S, y, temperature=0.1, margin=0.2, pull_weight=1.0):
    terms = []
    for i, label in enumerate(y):
        logits = [(S[i, k] - (margin if k == label else 0.0)) / temperature for k in range(S.shape[1])]
        terms.append(lse(logits) - logits[label] + pull_weight * d2(S[i, label]))
    return mean(terms, S)


FROM_S = {
    "contrastive": contrastive_from_s,
    "triplet": triplet_from_s,
    "npair": npair_from_s,
    "infonce": infonce_from_s,
    "supcon": supcon_from_s,
    "arcface": arcface_from_s,
    "ccl": ccl_from_s,
}


def loop_effective_ratio(name, loss_fn, embeddings, labels, **hparams):
    """G = ∂L/∂S by autograd on a leaf S, the weights w by a loop over the pairs, then (Σw)²/(n·Σw²)."""
    z = [row / torch.sqrt(torch.sum(row * row)) for row in embeddings]
    table = loss_fn.proxies  # ArcFace/CCL: S = z ŵᵀ; else z zᵀ
    others = z if table is None else [row / torch.sqrt(torch.sum(row * row)) for row in table.detach()]
    S = torch.tensor([[float(torch.sum(a * b)) for b in others] for a in z], dtype=torch.float64, requires_grad=True)
    loss = FROM_S[name](S, labels.tolist(), **hparams)
    (G,) = torch.autograd.grad(loss, S, allow_unused=True, materialize_grads=True)
    B, K = S.shape
    if table is not None:
        weights = [abs(float(G[i, c])) for i in range(B) for c in range(K)]
    else:
        weights = [abs(float(G[i, j] + G[j, i])) for i in range(B) for j in range(i + 1, B)]
    total, squares = sum(weights), sum(w * w for w in weights)
    return total * total / (len(weights) * squares) if squares > 0 else 0.0


def make_batch(layout, dim=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.tensor(layout)[torch.randperm(len(layout), generator=gen)]
    scale = torch.rand(len(layout), 1, generator=gen, dtype=torch.float64) * 3 + 0.5
    return torch.randn(len(layout), dim, generator=gen, dtype=torch.float64) * scale, labels


def make_loss(name, num_classes, dim, dtype=torch.float64, **hparams):
    torch.manual_seed(0)
    return build_loss(name, num_classes, dim, **hparams).to(dtype)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_effective_active_ratio_matches_loop_reference(name, layout):
    embeddings, labels = make_batch(LAYOUTS[layout], seed=len(layout))
    # contrastive: a margin with some negatives inside it and some beyond
    hparams = {"margin": 1.6} if name == "contrastive" else {}
    loss_fn = make_loss(name, 6, 5, **hparams)
    expected = loop_effective_ratio(name, loss_fn, embeddings, labels, **hparams)
    got = greediness_stats(loss_fn, embeddings, labels)["effective_active_ratio"]
    assert isinstance(got, float) and 0.0 <= got <= 1.0
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-12)
    if layout == "uneven":
        assert 0.0 < got < 1.0  # a real spread of weights, not a corner case
    if layout == "single_sample" and loss_fn.proxies is None:
        assert got == 0.0  # no pair at all


def test_effective_active_ratio_is_k_over_n_for_k_equal_weights():
    B, K, n = 6, 4, 15
    upper = torch.triu_indices(B, B, offset=1)
    for k in (1, 4, n):
        G = torch.zeros(B, B, dtype=torch.float64)
        chosen = torch.randperm(n, generator=torch.Generator().manual_seed(k))[:k]
        i, j = upper[0, chosen], upper[1, chosen]
        G[i, j], G[j, i] = 0.25, 0.75  # w_ij = |G_ij + G_ji| = 1, shared unevenly
        G.diagonal().fill_(5.0)  # s_ii is no pair: ignored
        ratio = Similarity(torch.zeros(B, B), n, symmetric=True).effective_active_ratio(G)
        assert float(ratio) == pytest.approx(k / n, rel=1e-12)
        P = torch.zeros(B, K, dtype=torch.float64)
        P.view(-1)[:k] = torch.tensor([1.0, -1.0]).repeat(k)[:k] * 1e-30  # signs and tiny scales
        ratio = Similarity(torch.zeros(B, K), B * K, symmetric=False).effective_active_ratio(P)
        assert float(ratio) == pytest.approx(k / (B * K), rel=1e-12)
    zero = Similarity(torch.zeros(B, B), n).effective_active_ratio(torch.zeros(B, B))
    assert float(zero) == 0.0
    assert float(Similarity(torch.zeros(B, B), n).effective_active_ratio(None)) == 0.0


def test_contrastive_with_only_positive_pairs_pushing_gives_their_share():
    """Two tight classes at right angles: every negative is beyond the margin (d ≈ √2 > 1) and every positive
    pair weighs exactly 1/|P| (½ mean d², ∂d²/∂s = −2), so the ratio is |P|/n."""
    gen = torch.Generator().manual_seed(0)
    centres = torch.eye(2, 4, dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 1, 0, 1, 1])
    embeddings = centres[labels] + 0.05 * torch.randn(7, 4, generator=gen, dtype=torch.float64)
    num_pos, n = 3 + 6, 21
    stats = greediness_stats(make_loss("contrastive", 2, 4), embeddings, labels)
    assert stats["effective_active_ratio"] == pytest.approx(num_pos / n, rel=1e-12)


def test_losses_expose_the_similarity_they_depend_on():
    """∂L/∂e computed through S alone (∂L/∂z = (G + Gᵀ) z or G ŵ, then the normalisation) equals autograd's:
    nothing reaches the embeddings except through S."""
    embeddings, labels = make_batch(LAYOUTS["uneven"], seed=3)
    for name in LOSS_NAMES:
        loss_fn = make_loss(name, 6, 5)
        e = embeddings.clone().requires_grad_(True)
        out = loss_fn.compute(e, labels)
        sim = out.similarity
        assert sim is not None and sim.matrix.requires_grad, name
        table = loss_fn.proxies
        expected_shape = (len(labels), len(labels)) if table is None else (len(labels), 6)
        if name != "npair":
            assert sim.matrix.shape == expected_shape, name
        grad_e, G = torch.autograd.grad(out.loss, [e, sim.matrix])
        z = e.detach() / e.detach().norm(dim=1, keepdim=True)
        if table is not None:
            grad_z = G @ (table.detach() / table.detach().norm(dim=1, keepdim=True))
        elif name == "npair":
            continue  # a block of z zᵀ: covered by the loop reference
        else:
            grad_z = (G + G.T) @ z
        tangent = (grad_z - (grad_z * z).sum(1, keepdim=True) * z) / e.detach().norm(dim=1, keepdim=True)
        torch.testing.assert_close(grad_e, tangent, rtol=1e-10, atol=1e-12, msg=name)


# -- in training ---------------------------------------------------------------------------------------------
def tracked_setup(name, B=48, F=12, D=8, K=4, effective_every=1):
    from vgteach.training.head import EmbeddingHead

    torch.manual_seed(0)
    head = EmbeddingHead(F, D)
    loss_fn = build_loss(name, num_classes=K, embedding_dim=D)
    optimizer = torch.optim.Adam([*head.parameters(), *loss_fn.parameters()], lr=1e-2)
    tracker = GreedinessTracker(loss_fn, head, effective_every=effective_every)
    x = torch.randn(B, F, generator=torch.Generator().manual_seed(1))
    y = torch.arange(B) % K
    return head, loss_fn, optimizer, tracker, x, y


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_tracker_records_the_effective_active_ratio_of_each_step(name):
    head, loss_fn, optimizer, tracker, x, y = tracked_setup(name)
    expected, got = [], []
    for _ in range(3):  # one step an epoch: each row is that step's ratio
        expected.append(greediness_stats(loss_fn, head(x).detach(), y)["effective_active_ratio"])
        train_step(head, loss_fn, optimizer, x, y, False, tracker)
        got.append(tracker.end_epoch()["effective_active_ratio"])
    assert got == pytest.approx(expected, rel=1e-4, abs=1e-7)
    assert all(0.0 < ratio <= 1.0 for ratio in got)


def test_tracker_takes_the_effective_ratio_every_kth_step():
    head, loss_fn, optimizer, tracker, x, y = tracked_setup("infonce", effective_every=3)
    expected = []
    for step in range(7):
        if step % 3 == 0:
            expected.append(greediness_stats(loss_fn, head(x).detach(), y)["effective_active_ratio"])
        train_step(head, loss_fn, optimizer, x, y, False, tracker)
    assert len(expected) == 3 and tracker.steps == 7
    assert tracker.end_epoch()["effective_active_ratio"] == pytest.approx(sum(expected) / 3, rel=1e-4)
    with pytest.raises(ValueError, match="effective_every"):
        GreedinessTracker(loss_fn, effective_every=0)


def test_tracker_counts_a_step_without_gradient_on_s_as_zero():
    """A satisfied triplet batch (no active triplet): no gradient reaches S, the step's ratio is 0."""
    model = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    x = torch.tensor([[1.0, 0.01], [1.0, -0.01], [1.0, 0.0], [0.01, 1.0], [-0.01, 1.0], [0.0, 1.0]])
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    loss_fn = build_loss("triplet")
    tracker = GreedinessTracker(loss_fn, model)
    out = train_step(model, loss_fn, torch.optim.Adam(model.parameters()), x, y, False, tracker, update=False)
    assert int(out.num_active) == 0
    assert tracker.end_epoch()["effective_active_ratio"] == 0.0


def test_history_has_the_effective_active_ratio_for_every_loss():
    from vgteach.training import make_config, train

    for name in LOSS_NAMES:
        config = make_config("smoke", dataset="blobs", loss=name, epochs=1)
        history = train(config, progress=False).history
        values = history["effective_active_ratio"]
        assert len(values) == 2 and values.between(0.0, 1.0).all() and (values > 0).all(), name
        assert history["within_class_rank"].notna().all(), name
