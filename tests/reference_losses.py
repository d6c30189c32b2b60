"""Loop implementations of the seven losses, written from DESIGN.md §2 alone (not from vgteach's code).

Every function takes ``embeddings [B, D]`` and ``labels [B]`` (and the loss's hyper-parameters) and returns a
:class:`Reference`: the loss, the list of elementary terms (0-dim tensors, in the order DESIGN.md's table
implies: pairs/triplets in row-major index order, anchors in batch order) and, for each term, whether it is
*active* by the table's last column. Everything is an explicit Python loop over samples, pairs or triplets
on 0-dim tensors, so autograd gives reference gradients too. Slow on purpose: use batches of ≤ ~16.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

EPS = 1e-3  # DESIGN.md: the softmax-type "active" threshold


@dataclass
class Reference:
    loss: torch.Tensor
    terms: list
    active: list

    @property
    def num_terms(self) -> int:
        return len(self.terms)

    @property
    def num_active(self) -> int:
        return sum(bool(a) for a in self.active)


# -- scalar helpers -------------------------------------------------------------------------------------
def unit_rows(embeddings):
    """z_i = e_i / ||e_i||, one row at a time."""
    return [row / torch.sqrt(torch.sum(row * row)) for row in embeddings]


def dot(a, b):
    return torch.sum(a * b)


def sq_dist(a, b):
    diff = a - b
    return torch.sum(diff * diff)


def log_sum_exp(values):
    """log Σ exp(v) over a Python list of 0-dim tensors (shifted by the max for stability)."""
    top = max(float(v.detach()) for v in values)
    return top + torch.log(sum(torch.exp(v - top) for v in values))


def neg_log_softmax(logits, target):
    """−log( exp(logits[target]) / Σ_j exp(logits[j]) )."""
    return log_sum_exp(logits) - logits[target]


def mean(values, embeddings):
    """Mean of a list; an empty mean is 0 (kept connected to the embeddings)."""
    if not values:
        return embeddings.sum() * 0.0
    return sum(values) / len(values)


def hinge(x):
    return torch.clamp(x, min=0.0)


# -- the seven losses -----------------------------------------------------------------------------------
def contrastive(embeddings, labels, margin=1.0):
    z, y, B = unit_rows(embeddings), labels.tolist(), len(labels)
    pos, neg, terms = [], [], []
    for i in range(B):
        for j in range(i + 1, B):
            d2 = sq_dist(z[i], z[j])
            term = d2 if y[i] == y[j] else hinge(margin - torch.sqrt(d2)) ** 2
            (pos if y[i] == y[j] else neg).append(term)
            terms.append(term)
    loss = 0.5 * mean(pos, embeddings) + 0.5 * mean(neg, embeddings)
    return Reference(loss, terms, [float(t.detach()) > 0 for t in terms])


def triplet(embeddings, labels, margin=0.2):
    z, y, B = unit_rows(embeddings), labels.tolist(), len(labels)
    terms = []
    for a in range(B):
        for p in range(B):
            if p == a or y[p] != y[a]:
                continue
            for n in range(B):
                if y[n] == y[a]:
                    continue
                terms.append(hinge(sq_dist(z[a], z[p]) - sq_dist(z[a], z[n]) + margin))
    active = [float(t.detach()) > 0 for t in terms]
    loss = mean([t for t, act in zip(terms, active) if act], embeddings)
    return Reference(loss, terms, active)


def npair(embeddings, labels, scale=1.0, eps=EPS):
    z, y = unit_rows(embeddings), labels.tolist()
    first, second = {}, {}
    for idx, label in enumerate(y):  # batch order
        if label not in first:
            first[label] = idx
        elif label not in second:
            second[label] = idx
    classes = sorted(second)  # labels present at least twice
    if len(classes) < 2:
        return Reference(embeddings.sum() * 0.0, [], [])
    terms = []
    for k, ck in enumerate(classes):
        logits = [scale * dot(z[first[ck]], z[second[cl]]) for cl in classes]
        terms.append(neg_log_softmax(logits, k))
    return Reference(mean(terms, embeddings), terms, [float(t.detach()) > eps for t in terms])


def infonce(embeddings, labels, temperature=0.1, eps=EPS):
    z, y, B = unit_rows(embeddings), labels.tolist(), len(labels)
    terms = []
    for i in range(B):
        negatives = [dot(z[i], z[n]) / temperature for n in range(B) if y[n] != y[i]]
        for p in range(B):
            if p == i or y[p] != y[i]:
                continue
            positive = dot(z[i], z[p]) / temperature
            terms.append(neg_log_softmax([positive] + negatives, 0))
    return Reference(mean(terms, embeddings), terms, [float(t.detach()) > eps for t in terms])


def arcface(embeddings, labels, weight, scale=64.0, margin=0.5, eps=EPS):
    z, y = unit_rows(embeddings), labels.tolist()
    w = unit_rows(weight)
    terms = []
    for i, label in enumerate(y):
        logits = []
        for j in range(len(w)):
            cos = dot(z[i], w[j])
            if j == label:
                if float(cos.detach()) > math.cos(math.pi - margin):
                    theta = torch.acos(torch.clamp(cos, -1.0, 1.0))
                    phi = torch.cos(theta + margin)
                else:
                    phi = cos - margin * math.sin(math.pi - margin)
                logits.append(scale * phi)
            else:
                logits.append(scale * cos)
        terms.append(neg_log_softmax(logits, label))
    return Reference(mean(terms, embeddings), terms, [float(t.detach()) > eps for t in terms])


def supcon(embeddings, labels, temperature=0.1, eps=EPS):
    z, y, B = unit_rows(embeddings), labels.tolist(), len(labels)
    terms, active = [], []
    for i in range(B):
        positives = [p for p in range(B) if p != i and y[p] == y[i]]
        if not positives:
            continue
        others = [dot(z[i], z[a]) / temperature for a in range(B) if a != i]
        log_denominator = log_sum_exp(others)
        term = -sum(dot(z[i], z[p]) / temperature - log_denominator for p in positives) / len(positives)
        terms.append(term)
        active.append(float(term.detach()) - math.log(len(positives)) > eps)
    return Reference(mean(terms, embeddings), terms, active)


def ccl(embeddings, labels, centers, temperature=0.1, margin=0.2, pull_weight=1.0, eps=EPS):
    z, y = unit_rows(embeddings), labels.tolist()
    c = unit_rows(centers)
    terms = []
    for i, label in enumerate(y):
        logits = [(dot(z[i], c[k]) - (margin if k == label else 0.0)) / temperature for k in range(len(c))]
        terms.append(neg_log_softmax(logits, label) + pull_weight * sq_dist(z[i], c[label]))
    return Reference(mean(terms, embeddings), terms, [float(t.detach()) > eps for t in terms])
