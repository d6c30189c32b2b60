"""The loss landscape without a screen: the forces each loss puts on five points of the unit circle
(:mod:`.physics`) and what they show, in words (:mod:`.statements`). :mod:`vgteach.widgets.landscape`
draws both as the explorer of the book; this package needs no ipywidgets.

>>> from vgteach.landscape import sweep, frame_story, landscape_summary
>>> result = sweep("triplet")                 # the forces with n₁ at each default angle
>>> frame_story(result, 7)                    # one frame (n₁ at 150°) in a sentence or two: its caption
>>> landscape_summary("triplet", result=result)  # the whole sweep, point by point and pair by pair
"""

from .physics import (
    ARROW_FLOOR,
    DEFAULT_NEGATIVE_DEGREES,
    POINT_LABELS,
    POINT_NAMES,
    SWEPT,
    TUNABLE,
    CircleScene,
    Forces,
    PairForce,
    Sweep,
    acting_pairs,
    default_hparams,
    forces,
    make_loss,
    pair_name,
    split_forces,
    sweep,
    tangent,
    validate_degrees,
)
from .statements import (
    Statement,
    describe_hparams,
    frame_facts,
    frame_story,
    landscape_summary,
    presence,
    sweep_statements,
)

__all__ = [
    "ARROW_FLOOR",
    "DEFAULT_NEGATIVE_DEGREES",
    "POINT_LABELS",
    "POINT_NAMES",
    "SWEPT",
    "TUNABLE",
    "CircleScene",
    "Forces",
    "PairForce",
    "Statement",
    "Sweep",
    "acting_pairs",
    "default_hparams",
    "describe_hparams",
    "forces",
    "frame_facts",
    "frame_story",
    "landscape_summary",
    "make_loss",
    "pair_name",
    "presence",
    "split_forces",
    "sweep",
    "sweep_statements",
    "tangent",
    "validate_degrees",
]
