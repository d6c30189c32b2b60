r"""The loss-landscape explorer: five points on the unit circle and the force each loss puts on them.

The batch is about the smallest that every loss of DESIGN.md §2 accepts and that tells them apart: an
anchor ``a`` and two positives ``p``, ``p₂`` of class 0, two negatives ``n₁``, ``n₂`` of class 1 (N-pair
needs two labels present twice; with a single positive per anchor SupCon and InfoNCE would coincide). The
explorer sweeps the angle of ``n₁`` and draws, for each point, the arrow

.. math::  -\frac{\partial L}{\partial e_i},

computed by autograd through :mod:`vgteach.losses` — the direction plain gradient descent moves ``e_i``.
The losses L2-normalise inside, so on the circle the gradient has no radial part: every arrow is tangent.
ArcFace and CCL act through class proxies (squares) that stay fixed here.

Every loss depends on the embeddings only through a similarity matrix S (:class:`vgteach.losses.Similarity`),
so each arrow splits exactly into the shares of the pairs (or sample–proxy pairs) it comes from: G = ∂L/∂S
says whether a pair pulls (G < 0) or pushes (G > 0). The captions and :func:`landscape_summary` (the
sentence a chapter glues under the widget) are written from these numbers by :func:`sweep_statements`, so
what they say about an arrow (where it vanishes, which pairs still act) is what the frames show; a hinge
pair (contrastive, triplet) stops acting beyond its margin, but the point may keep an arrow from its other
pairs.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import inspect
import math
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np
import torch

from ..losses import LOSS_NAMES, LOSSES, build_loss
from ..losses.base import unit_rows
from ..losses.npair import first_two_per_label
from ._frames import FrameExplorer, frame_html, frame_stack, intro, link_index, loss_color, new_figure, player, widgets

#: The hyper-parameters the explorer lets you change (each loss uses the subset its constructor takes).
TUNABLE = ("margin", "temperature", "scale")
POINT_NAMES = ("a", "p", "p₂", "n₁", "n₂")
POINT_LABELS = (0, 0, 0, 1, 1)
POINT_MARKERS = ("o", "o", "o", "s", "s")
POINT_COLORS = ("#1f77b4", "#2ca02c", "#17becf", "#d62728", "#ff7f0e")
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


def describe_hparams(hparams: Mapping[str, float]) -> str:
    return ", ".join(f"{name} = {value:g}" for name, value in hparams.items())


def draw_circle(ax, loss_name: str, scene: CircleScene, result: Forces, max_force: float) -> None:
    """The points on the circle with their force arrows (and ``result.proxies``: those of ArcFace/CCL).

    Arrow length is ``0.6 · sqrt(‖force‖ / max_force)``: one scale for all frames of a loss, so arrows
    visibly grow and vanish as n₁ moves, compressed so that a force ten times smaller still shows.
    """
    theta = np.linspace(0, 2 * np.pi, 181)
    ax.plot(np.cos(theta), np.sin(theta), color="0.8", lw=1)
    if result.proxies is not None:
        for label, proxy in enumerate(result.proxies):
            ax.scatter(
                *proxy, marker="s", s=70, facecolors="none", lw=1.5, edgecolors=POINT_COLORS[0 if label == 0 else SWEPT]
            )
            ax.annotate(f"class {label}", proxy * 1.2, ha="center", va="center", fontsize=7)
    for point, force, name, marker, color in zip(
        scene.points().numpy(), result.forces, POINT_NAMES, POINT_MARKERS, POINT_COLORS
    ):
        ax.scatter(*point, marker=marker, s=45, color=color, zorder=3)
        ax.annotate(name, point * 0.8, ha="center", va="center", fontsize=9, color=color)
        norm = float(np.linalg.norm(force))
        if max_force > 0 and norm > ARROW_FLOOR * max_force:
            arrow = force / norm * 0.6 * math.sqrt(norm / max_force)
            ax.arrow(*point, *arrow, width=0.012, head_width=0.07, length_includes_head=True, color=color, zorder=4)
    ax.set(xlim=(-1.45, 1.45), ylim=(-1.45, 1.45), aspect="equal", xticks=[], yticks=[])
    ax.set_title(f"{loss_name}: arrows = −∂L/∂e", fontsize=9)


def draw_curve(
    ax, loss_name: str, scene: CircleScene, result: Forces, sweep_degrees: np.ndarray, sweep_losses: np.ndarray
) -> None:
    """L as a function of n₁'s angle, with the current angle marked."""
    ax.plot(sweep_degrees, sweep_losses, color=loss_color(loss_name), lw=2)
    ax.axvline(scene.positive, color=POINT_COLORS[1], lw=1, ls="--")
    ax.annotate(
        "p",
        (scene.positive, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(2, -10),
        textcoords="offset points",
        color=POINT_COLORS[1],
        fontsize=8,
    )
    ax.scatter([scene.negative], [result.loss], color=POINT_COLORS[SWEPT], zorder=3, s=40)
    ax.set_xlabel("angle of n₁ from a (degrees)", fontsize=8)
    ax.set_ylabel("loss L", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(f"L = {result.loss:.3g}   active terms {result.num_active}/{result.num_terms}", fontsize=9)


def draw_frame(
    loss_name: str,
    hparams: Mapping[str, float],
    scene: CircleScene,
    result: Forces,
    sweep_degrees: np.ndarray,
    sweep_losses: np.ndarray,
    max_force: float,
    summary: str = "",
) -> str:
    """One frame (HTML): the circle with the forces, the curve L(angle of n₁), and a caption written from
    ``result`` (:func:`frame_facts`) plus ``summary``, the loss's :func:`landscape_summary` over the sweep."""
    fig = new_figure(6.4, 3.0)
    ax_circle, ax_curve = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.25]})
    draw_circle(ax_circle, loss_name, scene, result, max_force)
    draw_curve(ax_curve, loss_name, scene, result, sweep_degrees, sweep_losses)
    caption = (
        f"<b>{html.escape(loss_name)}</b> ({html.escape(describe_hparams(hparams))}) · n₁ at "
        f"{scene.negative:g}° · <b>L = {result.loss:.4g}</b> · active terms {result.num_active}/"
        f"{result.num_terms} · {html.escape(frame_facts(result, ARROW_FLOOR * max_force))}"
    )
    if summary:
        caption += f"<br><i>{html.escape(summary)}</i>"
    alt = (
        f"{loss_name} loss with the negative n1 at {scene.negative:g} degrees: loss {result.loss:.3g}, "
        "gradient norms " + ", ".join(f"{norm:.2g}" for norm in result.norms)
    )
    return frame_html(fig, caption, alt)


# ------------------------------------------------------------------ what the frames show, in words
def fmt(value: float) -> str:
    """A force for the captions: two significant digits (0.056, 0.41, 3.9)."""
    return f"{value:.2g}"


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


def frame_facts(result: Forces, floor: float) -> str:
    """What one frame shows, in words: the force on every point, the points without an arrow (force at
    most ``floor``) and the pairs that act, pulling or pushing."""
    norms = result.norms
    forces_text = "‖−∂L/∂e‖: " + ", ".join(f"{name} {fmt(norm)}" for name, norm in zip(POINT_NAMES, norms))
    silent = [name for name, norm in zip(POINT_NAMES, norms) if norm == 0]
    faint = [name for name, norm in zip(POINT_NAMES, norms) if 0 < norm <= floor]
    arrows = " · ".join(
        [f"no force on {', '.join(silent)}"] * bool(silent) + [f"too small to draw: {', '.join(faint)}"] * bool(faint)
    )
    arrows = arrows or "every point has an arrow"
    acting = acting_pairs(result, floor)
    pairs = ", ".join(f"{name} {share.kind} {fmt(share.norm)}" for name, share in acting.items()) or "none"
    return f"{forces_text} · {arrows} · pairs acting: {pairs}"


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


@dataclass(frozen=True)
class Statement:
    """One behaviour of a loss's frames over the sweep of n₁, in words and in the numbers that decide it.

    ``subject`` is a point (``"n₁"``) or a pair (``"a–n₁"``); ``on[k]`` says whether, with n₁ at the k-th
    angle, the point has an arrow / the pair's share of the force is above the sweep's floor; ``low`` and
    ``high`` are the smallest and largest of those forces where ``on`` (NaN where never on); ``kinds`` are
    a pair's "pull"/"push" where on; ``exact_zero``: where not on, the force is exactly 0 (a hinge switched
    off) rather than too small to draw. ``text`` is the sentence the captions and the chapters show.
    """

    subject: str
    on: tuple
    low: float
    high: float
    text: str
    kinds: tuple = ()
    exact_zero: bool = True  # where not ``on``, the force is exactly 0 (not merely below the floor)


def _degrees(angles) -> str:
    return ", ".join(f"{angle:g}°" for angle in angles)


def presence(on: Sequence[bool], degrees: Sequence[float], low: float, high: float, verbs: tuple) -> str:
    """Where a force is there, in words: ``verbs`` = (present, absent after present, never), e.g.
    ("has an arrow", "none", "has no force")."""
    present, absent, never = verbs
    span = f"({fmt(low)})" if fmt(low) == fmt(high) else f"({fmt(low)}–{fmt(high)})"
    on = list(on)
    if all(on):
        return f"{present} at every angle {span}"
    if not any(on):
        return f"{never} at any angle"
    first_off, first_on = on.index(False), on.index(True)
    if first_on == 0 and not any(on[first_off:]):
        return f"{present} up to {degrees[first_off - 1]:g}° {span}, {absent} from {degrees[first_off]:g}° on"
    if all(on[first_on:]):
        return f"{never} up to {degrees[first_on - 1]:g}°, {present} from {degrees[first_on]:g}° on {span}"
    angles_on = [angle for angle, flag in zip(degrees, on) if flag]
    angles_off = [angle for angle, flag in zip(degrees, on) if not flag]
    return f"{present} at {_degrees(angles_on)} {span}, {absent} at {_degrees(angles_off)}"


#: The words of :func:`presence` for a point and for a pair of n₁, when the force where there is no arrow is
#: exactly 0 (a hinge that has switched off) and when it is only too small to draw (a softmax that fades).
POINT_VERBS = {True: ("has an arrow", "no force", "has no force"), False: ("has an arrow", "no arrow", "has no arrow")}
PAIR_VERBS = {True: ("stops", "never acts"), False: ("fades below drawing size", "is always below drawing size")}


def sweep_statements(result: Sweep) -> list:
    """What the frames of ``result`` show over the sweep: one :class:`Statement` per point (where it has an
    arrow), then one per pair of n₁ that acts somewhere (where it pulls or pushes)."""
    floor, degrees = result.floor, result.degrees
    statements = []
    for index, name in enumerate(POINT_NAMES):
        norms = np.array([frame.norms[index] for frame in result.results])
        on = tuple(bool(norm > floor) for norm in norms)
        low, high = (float(norms[list(on)].min()), float(norms[list(on)].max())) if any(on) else (math.nan,) * 2
        exact = bool((norms[~np.array(on)] == 0).all())
        text = f"{name} " + presence(on, degrees, low, high, POINT_VERBS[exact])
        statements.append(Statement(name, on, low, high, text, exact_zero=exact))
    swept = POINT_NAMES[SWEPT]
    shares = {}  # pair of n₁ -> its share at each angle
    for k, frame in enumerate(result.results):
        for share in frame.pairs:
            if share.point == swept:
                shares.setdefault(pair_name(share.point, share.partner), [None] * len(degrees))[k] = share
    for name, per_angle in shares.items():
        norms = np.array([0.0 if share is None else share.norm for share in per_angle])
        on = tuple(bool(norm > floor) for norm in norms)
        if not any(on):
            continue
        acting = [share for share, flag in zip(per_angle, on) if flag]
        kinds = tuple(share.kind for share in acting)
        verb = {"pull": "pulls", "push": "pushes"}.get(kinds[0]) if len(set(kinds)) == 1 else "pulls or pushes"
        exact = bool((norms[~np.array(on)] == 0).all())
        low, high = float(norms[list(on)].min()), float(norms[list(on)].max())
        text = f"{name} " + presence(on, degrees, low, high, (verb, *PAIR_VERBS[exact]))
        statements.append(Statement(name, on, low, high, text, kinds, exact))
    return statements


def landscape_summary(
    loss_name: str,
    scene: CircleScene = CircleScene(),
    negative_degrees: Sequence[float] = DEFAULT_NEGATIVE_DEGREES,
    hparams: Optional[Mapping[str, float]] = None,
    result: Optional[Sweep] = None,
) -> str:
    """What the frames of ``loss_name`` show over the sweep of n₁, in plain words written from the forces
    (:func:`sweep_statements`): the sentence a chapter glues under :func:`loss_landscape`, and the second
    line of every caption of that loss."""
    result = result if result is not None else sweep(loss_name, scene, negative_degrees, hparams)
    statements = sweep_statements(result)
    points = [statement.text for statement in statements if statement.subject in POINT_NAMES]
    pairs = [statement.text for statement in statements if statement.subject not in POINT_NAMES]
    largest = [float(frame.norms.max()) for frame in result.results]
    text = (
        f"With n₁ swept from {result.degrees[0]:g}° to {result.degrees[-1]:g}° ({describe_hparams(result.hparams)}; "
        f"an arrow is drawn for forces above {ARROW_FLOOR:g} × the largest): "
        + "; ".join(points)
        + ". Pairs of n₁: "
        + ("; ".join(pairs) if pairs else "none acts")
        + f". Active terms: {', '.join(str(frame.num_active) for frame in result.results)} of {result.results[0].num_terms}"
        + f"; the largest force is {fmt(largest[0])} at {result.degrees[0]:g}° and {fmt(largest[-1])} at "
        f"{result.degrees[-1]:g}°."
    )
    return text


class LossLandscape:
    """Builds and (with a kernel) redraws the explorer's frames; :func:`loss_landscape` is the entry point."""

    def __init__(
        self,
        loss_names: Sequence[str],
        negative_degrees: Sequence[float],
        scene: CircleScene,
        hparams: Optional[Mapping[str, Mapping[str, float]]],
    ):
        self.loss_names = validate_loss_names(loss_names)
        self.negative_degrees = validate_degrees(negative_degrees)
        self.scene = scene
        self.hparams = {name: default_hparams(name) for name in self.loss_names}
        for name, overrides in (hparams or {}).items():
            if name not in self.hparams:
                raise ValueError(f"hparams given for {name!r}, which is not among loss_names {self.loss_names}")
            unknown = set(overrides) - set(self.hparams[name])
            if unknown:
                raise ValueError(f"{name} has no tunable {sorted(unknown)}; it takes {sorted(self.hparams[name])}")
            self.hparams[name].update({key: float(value) for key, value in overrides.items()})
        self.frames = {name: [widgets.HTML() for _ in self.negative_degrees] for name in self.loss_names}
        self.sweeps = {}  # loss name -> the Sweep its frames show
        self.stale = set()
        for name in self.loss_names:
            self.render_loss(name)

    def render_loss(self, loss_name: str) -> None:
        """Redraw every frame of ``loss_name`` for the current scene and hyper-parameters."""
        hparams = self.hparams[loss_name]
        loss_fn = make_loss(loss_name, hparams, self.scene)
        low, high = min(0.0, *self.negative_degrees), max(180.0, *self.negative_degrees)
        curve = np.linspace(low, high, int((high - low) / 2.5) + 1)
        curve_losses = np.array([forces(loss_fn, self._scene_at(angle)).loss for angle in curve])
        result = sweep(loss_name, self.scene, self.negative_degrees, hparams)
        self.sweeps[loss_name] = result
        summary = landscape_summary(loss_name, result=result)
        for frame, angle, frame_forces in zip(self.frames[loss_name], self.negative_degrees, result.results):
            frame.value = draw_frame(
                loss_name, hparams, self._scene_at(angle), frame_forces, curve, curve_losses, result.max_force, summary
            )
        self.stale.discard(loss_name)

    def ensure_rendered(self, loss_name: str) -> None:
        """Redraw ``loss_name`` if a live control changed since it was last drawn."""
        if loss_name in self.stale:
            self.render_loss(loss_name)

    def _scene_at(self, negative: float) -> CircleScene:
        return dataclasses.replace(self.scene, negative=float(negative))


def validate_loss_names(loss_names) -> tuple:
    if isinstance(loss_names, str):
        loss_names = (loss_names,)
    loss_names = tuple(loss_names)
    if not loss_names:
        raise ValueError("loss_names is empty; give at least one of " + ", ".join(LOSS_NAMES))
    unknown = [name for name in loss_names if name not in LOSSES]
    if unknown:
        raise ValueError(f"unknown loss names {unknown}; valid names: {', '.join(LOSS_NAMES)}")
    if len(set(loss_names)) != len(loss_names):
        raise ValueError(f"loss_names has duplicates: {loss_names}")
    return loss_names


def validate_degrees(degrees) -> tuple:
    degrees = tuple(float(angle) for angle in degrees)
    if not degrees:
        raise ValueError("negative_degrees is empty; give at least one angle")
    if not all(math.isfinite(angle) for angle in degrees):
        raise ValueError(f"negative_degrees must be finite numbers, got {degrees}")
    return degrees


def loss_landscape(
    loss_names: Sequence[str] = LOSS_NAMES,
    negative_degrees: Sequence[float] = DEFAULT_NEGATIVE_DEGREES,
    positive_degrees: float = 40.0,
    second_positive_degrees: float = 300.0,
    second_negative_degrees: float = 220.0,
    proxy_degrees: tuple = (20.0, 200.0),
    hparams: Optional[Mapping[str, Mapping[str, float]]] = None,
) -> FrameExplorer:
    """Explore what each loss does to an anchor, two positives and two negatives on the unit circle.

    For every loss and every angle of the negative ``n₁`` a frame is precomputed: the five points with
    the descent directions −∂L/∂e_i (autograd through :mod:`vgteach.losses`), the loss value, the active
    terms, and the curve L(angle of n₁). A loss toggle and a play/slider switch frames in the browser
    (``jsdlink``), so the static book still shows the whole sweep. With a kernel, the "live controls"
    (margin, temperature, scale, angle of the positive) redraw the frames of the selected loss.

    Parameters
    ----------
    loss_names : sequence of str, default all seven
    negative_degrees : sequence of float
        The angles of ``n₁`` (from the anchor at 0°) that get a precomputed frame; keep it short, every
        frame is an image in the book's HTML (``len(loss_names) × len(negative_degrees)`` frames).
    positive_degrees, second_positive_degrees, second_negative_degrees : float
        Angles of ``p``, ``p₂`` and ``n₂`` (the anchor ``a`` is at 0°).
    proxy_degrees : (float, float)
        Angles of the class-0 and class-1 proxies used by ArcFace and CCL.
    hparams : dict, optional
        Per-loss overrides of the tunable hyper-parameters, e.g. ``{"triplet": {"margin": 0.5}}``;
        defaults are the losses' own (DESIGN.md §2).

    Returns
    -------
    FrameExplorer
        An ``ipywidgets.VBox``; ``.frames`` (all frames, loss-major), ``.links``, ``.controls``
        (``"loss"``, ``"negative"``, ``"play"``, ``"margin"``, ``"temperature"``, ``"scale"``,
        ``"positive"``) and ``.model`` (the :class:`LossLandscape` that draws the frames).
    """
    if len(tuple(proxy_degrees)) != 2:
        raise ValueError(f"proxy_degrees needs two angles (class 0, class 1), got {tuple(proxy_degrees)}")
    scene = CircleScene(
        positive=float(positive_degrees),
        second_positive=float(second_positive_degrees),
        second_negative=float(second_negative_degrees),
        proxies=tuple(float(angle) for angle in proxy_degrees),
    )
    model = LossLandscape(loss_names, negative_degrees, scene, hparams)

    loss_toggle = widgets.ToggleButtons(
        options=list(model.loss_names), index=0, description="loss", style={"button_width": "auto"}
    )
    angle_box, angle_slider, play_link = player([f"{angle:g}°" for angle in model.negative_degrees], "angle of n₁")
    inner = [frame_stack(model.frames[name]) for name in model.loss_names]
    outer = frame_stack(inner)
    links = [play_link, link_index(loss_toggle, "index", outer)]
    links += [link_index(angle_slider, "index", stack) for stack in inner]

    live = live_controls(model, loss_toggle)
    accordion = widgets.Accordion(children=[widgets.VBox(list(live.values()))], selected_index=None)
    accordion.set_title(0, "Live controls (need a running kernel: Jupyter or Colab)")
    text = intro(
        "The anchor <b>a</b> and the positives <b>p</b>, <b>p₂</b> share a class; <b>n₁</b>, <b>n₂</b> "
        "are negatives (squares: the class proxies of ArcFace and CCL). Arrows show −∂L/∂e, where "
        "gradient descent moves each point (length ∝ √force). Move n₁ with the slider or press play, "
        "and switch losses. Under each frame: the force on every point, the points without an arrow and "
        "the pairs that act (a pull draws a pair together, a push drives it apart); in italics, what the "
        "whole sweep of n₁ shows for that loss."
    )
    frames = [frame for name in model.loss_names for frame in model.frames[name]]
    controls = {"loss": loss_toggle, "negative": angle_slider, "play": angle_box.children[0], **live}
    explorer = FrameExplorer([text, loss_toggle, angle_box, outer, accordion], frames, links, controls)
    explorer.model = model
    return explorer


def live_controls(model: LossLandscape, loss_toggle) -> dict:
    """Sliders that redraw frames through Python callbacks (a kernel is needed; in the static book they
    sit, documented as such, in a collapsed accordion)."""
    sliders = {
        "margin": widgets.FloatSlider(min=0.0, max=1.5, step=0.05, description="margin"),
        "temperature": widgets.FloatLogSlider(base=10, min=-2, max=0, step=0.05, description="temperature τ"),
        "scale": widgets.FloatLogSlider(base=10, min=0, max=2, step=0.05, description="scale s"),
        "positive": widgets.FloatSlider(
            value=model.scene.positive, min=0, max=180, step=5, description="angle of p (°)"
        ),
    }
    for slider in sliders.values():
        slider.continuous_update = False
        slider.style = {"description_width": "initial"}
    syncing = [False]  # True while the sliders are being set to the selected loss's values: no redraw

    def selected() -> str:
        return model.loss_names[loss_toggle.index]

    def on_loss(_change=None) -> None:
        model.ensure_rendered(selected())
        syncing[0] = True
        for name in TUNABLE:
            value = model.hparams[selected()].get(name)
            sliders[name].disabled = value is None
            if value is not None:
                sliders[name].value = value
        syncing[0] = False

    def on_hparam(name: str, change) -> None:
        if not syncing[0]:
            model.hparams[selected()][name] = float(change["new"])
            model.render_loss(selected())

    def on_positive(change) -> None:
        # Every loss sees the new scene; only the visible one is redrawn now, the others when selected.
        model.scene = dataclasses.replace(model.scene, positive=float(change["new"]))
        model.stale.update(model.loss_names)
        model.render_loss(selected())

    for name in TUNABLE:
        sliders[name].observe(functools.partial(on_hparam, name), names="value")
    sliders["positive"].observe(on_positive, names="value")
    loss_toggle.observe(on_loss, names="index")
    on_loss()
    return sliders
