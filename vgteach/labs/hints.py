"""Hints on request: ``hint(2)`` shows the hint of a lab's Exercise 2, and a failing check says so.

Each lab notebook starts with::

    from vgteach.labs import hints
    hint = hints("lab1_losses")     # hint(2): a hint for Exercise 2

From then on, a failing check of that lab no longer prints the hint that gives the formula away; it says
"Stuck? Run ``hint(2)``." and keeps only what diagnoses the mistake (a missing normalisation, a NaN from
an empty mean, a cut gradient).
"""

from __future__ import annotations

from .exercises import get_lab
from .kit import hints_on_request


class Hints:
    """``hint(n)``: print the hint of Exercise ``n`` of one lab (see the module docstring)."""

    def __init__(self, lab_name: str):
        self.lab = get_lab(lab_name)
        pointers = {}
        for number, exercise in enumerate(self.lab.exercises, start=1):
            for test in exercise.tests:
                pointers[test.check] = f"Stuck? Run hint({number}) for a hint."
        hints_on_request(pointers)

    def __call__(self, number: int) -> None:
        exercises = self.lab.exercises
        if isinstance(number, bool) or not isinstance(number, int):
            raise TypeError(f"hint takes an exercise number, e.g. hint(2), got {number!r}")
        if not 1 <= number <= len(exercises):
            raise ValueError(f"{self.lab.title} has exercises 1 to {len(exercises)}, not {number}")
        exercise = exercises[number - 1]
        print(f"Hint for Exercise {number} ({exercise.title}): {exercise.hint}")

    def __repr__(self) -> str:
        return f"hint(n) for the {len(self.lab.exercises)} exercises of {self.lab.title}"


def hints(lab_name: str) -> Hints:
    """The ``hint`` function of a lab (``"lab1_losses"``, ``"lab2_diagnostics"``, ``"lab3_tradeoff"``)."""
    return Hints(lab_name)
