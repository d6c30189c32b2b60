"""The reproduction chapter's prediction question: which verdict does a claim get on a small table?

A reader sees a seed × loss table of one measurement and predicts the :term:`verdict` of "the losses
``high`` have the larger value than the losses ``low``" by DESIGN.md §5's rule; the truth is
:func:`vgteach.reproduction.decide` on that table (:func:`check_verdict_prediction`).
"""

from __future__ import annotations

import pandas as pd

from ..reproduction import VERDICTS, decide
from .kit import CheckResult, Failure, grader, require_answer


@grader("check_verdict_prediction")
def check_verdict_prediction(answer, table: pd.DataFrame, high, low) -> CheckResult:
    """Grade a predicted verdict: ``answer`` (one of :data:`~vgteach.reproduction.VERDICTS`, e.g.
    ``"mixed"``; ``None`` while not answered) against :func:`~vgteach.reproduction.decide` on ``table``.

    Parameters
    ----------
    answer : str or None
        The reader's verdict.
    table : pandas.DataFrame
        One row per seed, one column per loss: the claim's measurement.
    high, low : sequence of str
        The losses said to have the larger and the smaller value (columns of ``table``).
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a DataFrame (seeds × losses), got {type(table).__name__}")
    missing = [name for name in (*high, *low) if name not in table.columns]
    if missing:
        raise ValueError(f"table has no column for {missing}; its columns: {list(table.columns)}")
    require_answer(answer)
    if not isinstance(answer, str) or answer.strip().lower() not in VERDICTS:
        raise Failure(f"expected one of {', '.join(repr(v) for v in VERDICTS)}, got {answer!r}.")
    truth = decide(table.astype(float), list(high), list(low))
    if answer.strip().lower() != truth["verdict"]:
        raise Failure(
            f"Not quite: you say {answer.strip().lower()!r}, the rule says {truth['verdict']!r}.",
            "check the group means seed by seed first, then every cross pair in every seed.",
        )
    return f"right: {truth['verdict']} — {truth['evidence']}."
