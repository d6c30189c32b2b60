"""The loss landscape in words: what its frames show, written from the forces of :mod:`.physics`.

The captions of :func:`vgteach.widgets.loss_landscape` and :func:`landscape_summary` (the sentence a
chapter glues under the widget) are written from these numbers by :func:`sweep_statements`, so what they
say about an arrow (where it vanishes, which pairs still act) is what the frames show; a hinge pair
(contrastive, triplet) stops acting beyond its margin, but the point may keep an arrow from its other pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

from .physics import (
    ARROW_FLOOR,
    DEFAULT_NEGATIVE_DEGREES,
    POINT_NAMES,
    SWEPT,
    CircleScene,
    Forces,
    Sweep,
    acting_pairs,
    pair_name,
    sweep,
)


def describe_hparams(hparams: Mapping[str, float]) -> str:
    """``"margin = 0.5, scale = 64"``: hyper-parameters as the captions and summaries write them."""
    return ", ".join(f"{name} = {value:g}" for name, value in hparams.items())


def fmt(value: float) -> str:
    """A force for the captions: two significant digits (0.056, 0.41, 3.9)."""
    return f"{value:.2g}"


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
