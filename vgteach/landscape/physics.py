r"""The physics of the loss landscape: five points on the unit circle and the force each loss puts on them.

The batch is about the smallest that every loss of DESIGN.md §2 accepts and that tells them apart: an
anchor ``a`` and two positives ``p``, ``p₂`` of class 0, two negatives ``n₁``, ``n₂`` of class 1 (N-pair
needs two labels present twice; with a single positive per anchor SupCon and InfoNCE would coincide). A
:class:`Sweep` moves ``n₁`` around the circle and records, for each point, the force

.. math::  -\frac{\partial L}{\partial e_i},

computed by autograd through :mod:`vgteach.losses` — the direction plain gradient descent moves ``e_i``.
The losses L2-normalise inside, so on the circle the gradient has no radial part: every force is tangent.
ArcFace and CCL act through class proxies that stay fixed here.

Every loss depends on the embeddings only through a similarity matrix S (:class:`vgteach.losses.Similarity`),
so each force splits exactly into the shares of the pairs (or sample–proxy pairs) it comes from: G = ∂L/∂S
says whether a pair pulls (G < 0) or pushes (G > 0) (:func:`split_forces`, :class:`PairForce`).

This module computes; :mod:`vgteach.landscape.statements` puts the numbers into words and
:mod:`vgteach.widgets.landscape` draws them.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np
import torch

from ..losses import LOSS_NAMES, LOSSES, build_loss
from ..losses.base import unit_rows
from ..losses.npair import first_two_per_label

#: The hyper-parameters the explorer lets you change (each loss uses the subset its constructor takes).
TUNABLE = ("margin", "temperature", "scale")
POINT_NAMES = ("a", "p", "p₂", "n₁", "n₂")
POINT_LABELS = (0, 0, 0, 1, 1)
SWEPT = POINT_NAMES.index("n₁")
#: n₁ angles (degrees from the anchor) of the precomputed frames: hard, semi-hard and easy negatives.
DEFAULT_NEGATIVE_DEGREES = (10, 30, 50, 70, 90, 110, 130, 150, 170)
#: A point (or a pair) counts as feeling a force, and gets an arrow, when its force exceeds this share of the
#: largest force on any point over the loss's sweep: the one threshold of the arrows, captions and statements.
ARROW_FLOOR = 1e-4


def default_hparams(loss_name: str) -> dict:
    """The tunable hyper-parameters of ``loss_name`` with their defaults, read from the loss's constructor
    (so the explorer never disagrees with :mod:`vgteach.losses`)."""
    if loss_name not in LOSSES:
        raise ValueError(f"unknown loss {loss_name!r}; valid names: {', '.join(LOSS_NAMES)}")
    parameters = inspect.signature(LOSSES[loss_name].__init__).parameters
    return {name: float(parameters[name].default) for name in TUNABLE if name in parameters}


def unit(degrees: float) -> list:
    return [math.cos(math.radians(degrees)), math.sin(math.radians(degrees))]


@dataclass(frozen=True)
class CircleScene:
    """Angles (degrees) of the five points (the anchor sits at 0°) and of the two class proxies."""

    positive: float = 40.0
    second_positive: float = 300.0
    negative: float = 90.0
    second_negative: float = 220.0
    proxies: tuple = (20.0, 200.0)

    def points(self) -> torch.Tensor:
        angles = (0.0, self.positive, self.second_positive, self.negative, self.second_negative)
        return torch.tensor([unit(angle) for angle in angles], dtype=torch.float32)

    def labels(self) -> torch.Tensor:
        return torch.tensor(POINT_LABELS)

    def proxy_points(self) -> torch.Tensor:
        return torch.tensor([unit(angle) for angle in self.proxies], dtype=torch.float32)


@dataclass(frozen=True)
class PairForce:
    """One pair's share of the force on one point.

    ``partner`` is another point's name (pair losses) or ``"proxy 0"``/``"proxy 1"`` (ArcFace, CCL).
    ``weight`` is ∂L/∂s of the pair (G_ij + G_ji for a symmetric S): negative, the pair pulls the point
    toward its partner; positive, it pushes it away. ``force`` [2] is the share, −weight times the tangent
    direction of the partner at the point; the shares of a point sum to its force.
    """

    point: str
    partner: str
    weight: float
    force: np.ndarray

    @property
    def kind(self) -> str:
        return "pull" if self.weight < 0 else "push"

    @property
    def norm(self) -> float:
        return float(np.linalg.norm(self.force))


@dataclass(frozen=True)
class Forces:
    """The loss on one scene, −∂L/∂e for each point, and each pair's share of it."""

    loss: float
    forces: np.ndarray  # [5, 2], in POINT_NAMES order
    num_terms: int
    num_active: int
    proxies: Optional[np.ndarray] = None  # [2, 2] unit proxies of ArcFace/CCL; None for pair losses
    pairs: tuple = ()  # PairForce per (point, partner), every ordered combination the loss's S holds

    @property
    def norms(self) -> np.ndarray:
        """‖−∂L/∂e_i‖ of every point, in POINT_NAMES order."""
        return np.linalg.norm(self.forces, axis=1)


def make_loss(loss_name: str, hparams: Mapping[str, float], scene: CircleScene):
    """Build ``loss_name`` with ``hparams``: 2 classes in 2-D, ArcFace's/CCL's proxies at ``scene.proxies``."""
    loss_fn = build_loss(loss_name, num_classes=2, embedding_dim=2, **hparams)
    with torch.no_grad():
        for proxies in loss_fn.parameters():  # none for the pair losses
            proxies.copy_(scene.proxy_points())
    return loss_fn


def forces(loss_fn, scene: CircleScene) -> Forces:
    """Loss value, active-term counts, the descent direction −∂L/∂e_i of every point (autograd) and its
    split into the shares of the pairs (from G = ∂L/∂S, see :class:`PairForce`)."""
    embeddings = scene.points().requires_grad_(True)
    labels = scene.labels()
    out = loss_fn.compute(embeddings, labels)
    sim = out.similarity
    if sim is not None and sim.matrix is not None and sim.matrix.requires_grad:
        grad, g = torch.autograd.grad(out.loss, (embeddings, sim.matrix), allow_unused=True)
    else:
        (grad,), g = torch.autograd.grad(out.loss, embeddings), None
    proxies = None if loss_fn.proxies is None else unit_rows(loss_fn.proxies.detach()).numpy()
    z = unit_rows(embeddings.detach()).numpy()
    pairs = () if g is None else split_forces(z, labels, g.detach().numpy(), sim.symmetric, proxies)
    return Forces(float(out.loss.detach()), (-grad).numpy(), int(out.num_terms), int(out.num_active), proxies, pairs)


def tangent(z_i: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The part of ``target`` tangent to the circle at ``z_i``: where a pull toward ``target`` moves z_i."""
    return target - float(target @ z_i) * z_i


def split_forces(z, labels, g, symmetric: bool, proxies) -> tuple:
    """Each pair's share of the forces, from G = ∂L/∂S: a point's force is −(I − z zᵀ) Σ_j G_ij z_j."""
    shares = []

    def add(i: int, partner: str, target: np.ndarray, weight: float) -> None:
        shares.append(PairForce(POINT_NAMES[i], partner, float(weight), -weight * tangent(z[i], target)))

    if symmetric:  # S = z zᵀ: s_ij and s_ji are one pair
        w = g + g.T
        for i in range(len(z)):
            for j in range(len(z)):
                if i != j:
                    add(i, POINT_NAMES[j], z[j], w[i, j])
    elif proxies is not None and g.shape[1] == len(proxies):  # S = z ŵᵀ: sample–proxy pairs
        for i in range(len(z)):
            for k, proxy in enumerate(proxies):
                add(i, f"proxy {k}", proxy, g[i, k])
    else:  # N-pair: S = anchors × positives, every entry a distinct pair
        anchors, positives = (index.tolist() for index in first_two_per_label(labels))
        for k, a in enumerate(anchors):
            for l, p in enumerate(positives):
                add(a, POINT_NAMES[p], z[p], g[k, l])
                add(p, POINT_NAMES[a], z[a], g[k, l])
    return tuple(shares)


def pair_name(point: str, partner: str) -> str:
    """``"a–n₁"`` with the points in POINT_NAMES order (one name per unordered pair); ``"n₁–proxy 1"``."""
    if partner in POINT_NAMES and POINT_NAMES.index(partner) < POINT_NAMES.index(point):
        point, partner = partner, point
    return f"{point}–{partner}"


def acting_pairs(result: Forces, floor: float) -> dict:
    """``{pair name: PairForce}`` of the pairs whose share of the force is above ``floor`` (one entry per
    unordered pair: both points of a pair get shares of the same size, |G|·sin of their angle)."""
    acting = {}
    for share in result.pairs:
        name = pair_name(share.point, share.partner)
        if share.norm > floor and name not in acting:
            acting[name] = share
    return acting


@dataclass(frozen=True)
class Sweep:
    """The forces of one loss at every angle of n₁ (what its frames show)."""

    loss_name: str
    hparams: dict
    scene: CircleScene
    degrees: tuple
    results: tuple

    @property
    def max_force(self) -> float:
        """The largest force on any point over the sweep (the arrows' common scale)."""
        return max(float(result.norms.max()) for result in self.results)

    @property
    def floor(self) -> float:
        """A force at most this large gets no arrow (:data:`ARROW_FLOOR` of :attr:`max_force`)."""
        return ARROW_FLOOR * self.max_force


def sweep(
    loss_name: str,
    scene: CircleScene = CircleScene(),
    negative_degrees: Sequence[float] = DEFAULT_NEGATIVE_DEGREES,
    hparams: Optional[Mapping[str, float]] = None,
) -> Sweep:
    """:func:`forces` of ``loss_name`` (default hyper-parameters, updated by ``hparams``) with n₁ at each of
    ``negative_degrees``, the rest of ``scene`` fixed."""
    chosen = {**default_hparams(loss_name), **{key: float(value) for key, value in (hparams or {}).items()}}
    loss_fn = make_loss(loss_name, chosen, scene)
    degrees = validate_degrees(negative_degrees)
    results = tuple(forces(loss_fn, dataclasses.replace(scene, negative=angle)) for angle in degrees)
    return Sweep(loss_name, chosen, scene, degrees, results)


def validate_degrees(degrees) -> tuple:
    degrees = tuple(float(angle) for angle in degrees)
    if not degrees:
        raise ValueError("negative_degrees is empty; give at least one angle")
    if not all(math.isfinite(angle) for angle in degrees):
        raise ValueError(f"negative_degrees must be finite numbers, got {degrees}")
    return degrees
