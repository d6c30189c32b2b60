"""The loss landscape in words: what its frames show, written from the forces of :mod:`.physics`.

Two kinds of text, both written from the same numbers as the arrows, so what they say is what the frames
show:

- :func:`frame_story`: the caption of one frame of :func:`vgteach.widgets.loss_landscape`, one or two
  sentences a person would write about *that* frame: what pushes and pulls the swept negative n₁, what has
  just switched off or faded, which points feel no force, where the strongest force is (at most two numbers);
- :func:`sweep_statements` and :func:`landscape_summary`: the whole sweep, point by point and pair by pair
  (where each arrow is there, from which angle it is gone): the widget's collapsed "All the numbers" note.

A hinge pair (contrastive, triplet) stops acting exactly beyond its margin, but the point may keep an arrow
from its other pairs; a softmax share (InfoNCE, SupCon, ArcFace) only fades below drawing size.
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
    PairForce,
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


def names(items: Sequence[str]) -> str:
    """``"a"``, ``"a and p"``, ``"a, p and p₂"``: a list as a sentence writes it."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def partner_words(partner: str) -> str:
    """A pair's partner as a caption names it: a point (``"a"``) or ``"the class-1 proxy"``."""
    return f"the class-{partner.split()[-1]} proxy" if partner.startswith("proxy") else partner


def _pairs_of_swept(result: Forces, floor: float) -> dict:
    """``{partner: PairForce}`` of the pairs of n₁ whose share of the force is above ``floor``."""
    swept = POINT_NAMES[SWEPT]
    return {share.partner: share for share in result.pairs if share.point == swept and share.norm > floor}


def _forces_on(acting: Mapping[str, PairForce]) -> str:
    """``"pushed away from a and p and pulled toward n₂"``: what n₁'s acting pairs do to it."""
    pushed = [partner_words(p) for p, share in acting.items() if share.kind == "push"]
    pulled = [partner_words(p) for p, share in acting.items() if share.kind == "pull"]
    parts = ([f"pushed away from {names(pushed)}"] if pushed else []) + (
        [f"pulled toward {names(pulled)}"] if pulled else []
    )
    return " and ".join(parts)


def _changes(before: Mapping[str, PairForce], now: Forces, acting: Mapping[str, PairForce]) -> list:
    """Clauses on n₁'s pairs that have just stopped (exactly: a hinge; below drawing size: a fading softmax)
    or just begun, between the previous frame (``before``) and this one."""
    share_now = {share.partner: share for share in now.pairs if share.point == POINT_NAMES[SWEPT]}
    clauses = []
    for exact, how in ((True, "switched off"), (False, "faded below drawing size")):
        gone = [
            f"the {share.kind} {'from' if share.kind == 'push' else 'toward'} {partner_words(partner)}"
            for partner, share in before.items()
            if partner not in acting and (partner not in share_now or share_now[partner].norm == 0) == exact
        ]
        if gone:
            clauses.append(f"{names(gone)} {'has' if len(gone) == 1 else 'have'} just {how}")
    for kind in ("push", "pull"):
        begun = [partner_words(p) for p, share in acting.items() if p not in before and share.kind == kind]
        if begun:
            clauses.append(f"{names(begun)} {'has' if len(begun) == 1 else 'have'} just begun to {kind} it")
    return clauses


def frame_story(result: Sweep, index: int) -> str:
    """What frame ``index`` of ``result`` shows, in one or two sentences: the caption of that frame.

    The first sentence is about the swept negative n₁: which points (or proxies) push it away and pull it
    in, and which of those pairs have just switched off, faded or begun since the previous angle. The second
    is about the other points: those that feel no force (or too little to draw) and where the strongest force
    is. Only that force's size is written as a number.

    >>> frame_story(sweep("triplet"), 7)   # n₁ at 150°
    'n₁ feels no force: the push from p and the pull toward n₂ have just switched off. a feels no force too;
    the strongest force, 3.9, is on p₂.'
    """
    if not 0 <= index < len(result.results):
        raise ValueError(f"index {index} is not a frame of the sweep (0..{len(result.results) - 1})")
    second = _about_the_others(result, index)
    if not second.startswith(POINT_NAMES):  # a sentence may start with a point's name ("a feels no force")
        second = second[0].upper() + second[1:]
    return f"{_about_the_swept(result, index)}. {second}."


def _about_the_swept(result: Sweep, index: int) -> str:
    """The first sentence of :func:`frame_story`: what acts on n₁, and what has just changed."""
    floor, frame, swept = result.floor, result.results[index], POINT_NAMES[SWEPT]
    force = frame.norms[SWEPT]
    acting = _pairs_of_swept(frame, floor)
    changes = _changes(_pairs_of_swept(result.results[index - 1], floor), frame, acting) if index else []
    if acting:
        sentence = f"{swept} is {_forces_on(acting)}"
    elif force == 0:
        sentence = f"{swept} feels no force" + ("" if changes else ": none of its pairs acts")
    elif force <= floor:
        sentence = f"{swept}'s force is too small to draw"
    else:  # an arrow, but every single pair below drawing size
        sentence = f"{swept} feels only faint pushes and pulls, none large enough to draw alone"
    return sentence + ((": " if not acting else "; ") + "; ".join(changes) if changes else "")


def _about_the_others(result: Sweep, index: int) -> str:
    """The second sentence of :func:`frame_story`: the points other than n₁ without an arrow (for a longer
    sweep: those without one in any frame) and where the strongest force is."""
    floor, norms = result.floor, result.results[index].norms
    always_zero = {  # "in any frame" says something only when there are several
        name
        for k, name in enumerate(POINT_NAMES)
        if len(result.results) > 1 and all(frame.norms[k] == 0 for frame in result.results)
    }
    others = [(name, norm) for k, (name, norm) in enumerate(zip(POINT_NAMES, norms)) if k != SWEPT]
    now_zero = [name for name, norm in others if norm == 0 and name not in always_zero]
    ever_zero = [name for name, norm in others if norm == 0 and name in always_zero]
    faint = [name for name, norm in others if 0 < norm <= floor]
    parts = []
    if now_zero:
        parts.append(f"{names(now_zero)} {_feel(now_zero)} no force{' too' if norms[SWEPT] == 0 else ''}")
    if ever_zero:
        parts.append(f"{names(ever_zero)} {_feel(ever_zero)} no force in any frame")
    if faint:
        parts.append(f"{names(faint)} {'has an arrow' if len(faint) == 1 else 'have arrows'} too small to draw")
    if not parts:
        parts.append("every point has an arrow" if norms[SWEPT] > floor else "every other point has an arrow")
    largest = float(norms.max())
    if largest > 0:
        strongest = [name for name, norm in zip(POINT_NAMES, norms) if fmt(norm) == fmt(largest)]
        parts.append(f"the strongest force, {fmt(largest)}, is on {names(strongest)}")
    return "; ".join(parts)


def _feel(subjects: Sequence[str]) -> str:
    return "feels" if len(subjects) == 1 else "feel"


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
