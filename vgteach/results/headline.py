"""What the book's front page says the reference runs found, as the values it glues (``book/intro.md``).

The front page states the paper's trade-off and, once, what the closed reference runs found instead:
InfoNCE, which the paper counts among the losses that compact quickly, ends training with its classes
more spread out than at the start and with the best R@1, and few of the paper's readings are reproduced.
:func:`headline` gives the numbers that page glues; ``tests/test_reproduction_chapter.py`` holds the
sentences typed around them to the same studies. ::

    from vgteach import results
    from vgteach.reproduction import score_studies
    from vgteach.results.headline import headline

    closed = results.load("cifar10")
    headline(closed, score_studies({"cifar10": closed}))
    # {'infonce_intra_start': '0.462', 'infonce_intra_end': '0.544', ...}
"""

from __future__ import annotations

import pandas as pd

from .prose import mean_sd

#: the loss whose classes spread out, against the paper's grouping
LOSS = "infonce"


def headline(closed, scores: pd.DataFrame, study: str = "cifar10") -> dict[str, str]:
    """The front page's numbers, each as the text it shows (three significant digits, or a count).

    Parameters
    ----------
    closed : vgteach.results.ReferenceResults
        The closed reference study (``results.load("cifar10")``).
    scores : pandas.DataFrame
        :func:`vgteach.reproduction.score_studies` on at least that study.
    study : str
        The name ``closed`` has in ``scores``.

    Returns
    -------
    dict
        ``infonce_intra_start`` and ``infonce_intra_end`` (InfoNCE's mean intra-class variance at epoch 0
        and at the end), ``infonce_r1`` (its final R@1), ``reproduced`` and ``readings`` (how many of the
        readings scored on ``study`` are reproduced, out of how many).
    """
    summary = closed.summary
    runs = summary[summary["loss"] == LOSS]
    if runs.empty:
        raise ValueError(f"the study has no {LOSS!r} runs; losses: {sorted(set(summary['loss']))}")
    on_study = scores[scores["study"] == study]
    if on_study.empty:
        raise ValueError(f"scores has no rows for study {study!r}; studies: {sorted(set(scores['study']))}")
    start = runs["intra"] - runs["intra_change"]  # intra_change = intra at the end minus at epoch 0
    return {
        "infonce_intra_start": mean_sd(start.mean()),
        "infonce_intra_end": mean_sd(runs["intra"].mean()),
        "infonce_r1": mean_sd(runs["recall@1"].mean()),
        "reproduced": str(int((on_study["verdict"] == "reproduced").sum())),
        "readings": str(len(on_study)),
    }
