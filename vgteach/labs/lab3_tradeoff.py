"""Lab 3 (the trade-off): when a run has converged and when its classes have compacted.

Both checks grade an epoch read off a per-epoch history against :mod:`vgteach.training`'s own rule, on
toy histories with the shapes a study produces (fast, slow, non-monotone, flat, spreading) and a noisy one
drawn with the checks' seed (:func:`vgteach.labs.batches.seeded` gives fresh ones).
"""

from __future__ import annotations

import math
from typing import Callable

from .batches import generator
from .kit import CheckResult, Failure, as_number, call_student, generic_hint, grader


def _toy_histories() -> list:
    """Per-epoch histories with the shapes a study produces: fast, slow, non-monotone, flat, spreading, noisy."""
    import pandas as pd
    import torch

    epochs = list(range(0, 11))
    curves = {
        "fast then flat": (
            [0.2, 0.7, 0.85, 0.9, 0.91, 0.92, 0.92, 0.93, 0.93, 0.93, 0.93],
            [0.9, 0.5, 0.3, 0.2, 0.15, 0.12, 0.11, 0.1, 0.1, 0.1, 0.1],
        ),
        "slow and steady": ([0.1 + 0.08 * e for e in epochs], [1.0 - 0.05 * e for e in epochs]),
        "overshoot": (
            [0.3, 0.56, 0.99, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6],
            [0.5, 0.2, 0.4, 0.35, 0.3, 0.33, 0.31, 0.3, 0.3, 0.3, 0.3],
        ),
        "already there": ([0.96] * 11, [0.32, 0.3] + [0.3] * 9),
        "classes spread": (
            [0.5, 0.6, 0.7, 0.75, 0.8, 0.8, 0.82, 0.83, 0.83, 0.84, 0.84],
            [0.3 + 0.02 * e for e in epochs],
        ),
    }
    rng = generator()  # a saturating curve with noise, different under every seed
    rate, noise = (
        torch.rand(2, generator=rng, dtype=torch.float64),
        torch.rand(2, 11, generator=rng, dtype=torch.float64),
    )
    speed = 0.3 + 0.6 * float(rate[0])
    rise = [1 - (1 - speed) ** e for e in epochs]  # 0 at epoch 0, then up towards 1
    curves["noisy"] = (
        [round(0.3 + 0.6 * r + 0.04 * float(n), 4) for r, n in zip(rise, noise[0])],
        [round(0.9 - 0.6 * r * float(0.5 + rate[1]) + 0.03 * float(n), 4) for r, n in zip(rise, noise[1])],
    )
    return [
        (name, pd.DataFrame({"epoch": epochs, "recall@1": r1, "intra": intra})) for name, (r1, intra) in curves.items()
    ]


def _grade_epochs(fn: Callable, reference: Callable, hint: str) -> str:
    """Raise :class:`Failure` unless ``fn`` gives ``reference``'s epoch on every toy history."""
    for description, history in _toy_histories():
        expected = reference(history)
        where = f"On the history '{description}'"
        got = call_student(fn, history.copy(), where=where, hint=hint)
        value = as_number(got)
        if not (value == expected or (value is not None and math.isnan(value) and math.isnan(expected))):
            raise Failure(f"{where} you return {got!r}, vgteach gives {expected}.", hint)
    return "your epochs match vgteach's on every toy history."


CONVERGENCE_HINT = generic_hint(
    "start, final = history['recall@1'].iloc[0], history['recall@1'].iloc[-1]; the first row with "
    "recall@1 - start >= 0.9 * (final - start); return its epoch."
)
COMPACTION_HINT = generic_hint(
    "start, final = history['intra'].iloc[0], history['intra'].iloc[-1]; NaN unless final < start; "
    "otherwise the first row with intra - final <= 0.1 * (start - final); its epoch."
)


@grader("check_convergence_epoch")
def check_convergence_epoch(fn: Callable) -> CheckResult:
    """Check ``fn(history DataFrame) -> int``: the first epoch that has made 90 % of the run's R@1 gain
    over epoch 0, the untrained head (:func:`vgteach.training.convergence_epoch`)."""
    from ..training import convergence_epoch

    return _grade_epochs(fn, convergence_epoch, CONVERGENCE_HINT)


@grader("check_compaction_epoch")
def check_compaction_epoch(fn: Callable) -> CheckResult:
    """Check ``fn(history DataFrame) -> int``: the first epoch whose ``intra`` has made 90 % of its fall from
    epoch 0 to the end, NaN when it does not fall (:func:`vgteach.training.compaction_epoch`)."""
    from ..training import compaction_epoch

    return _grade_epochs(fn, compaction_epoch, COMPACTION_HINT)
