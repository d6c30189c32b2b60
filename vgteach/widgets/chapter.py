"""What the book's chapters call: a short summary table, the packaged reference runs, an evaluation batch.

The seven loss chapters tell seven stories with the same instruments; the instruments live here, so that a
chapter is narrative plus a few calls::

    result = train(chapter_config(PROFILE, NAME, keep_embeddings=True))
    plot_history(result.history)                  # vgteach.figures: loss, R@1, VARIANCE, GREEDINESS
    summary_table(result.summary, name=NAME)      # a few readable columns, not the whole summary row
    reference_view(highlight=NAME)                # the packaged reference runs, this loss highlighted
    embeddings, labels = eval_batch(result, epoch)  # a class-balanced batch of evaluation embeddings
    print(recipe(config)); live_run_title(config)  # the live run's recipe and name ("Live run (shipped features)")
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import torch

from .. import results
from .._validation import validate_positive_int
from ..losses import LOSS_NAMES
from .dashboard import greediness_dashboard

#: (summary column, table heading) of :func:`summary_table`: retrieval, VARIANCE, GREEDINESS and speed.
#: Columns a summary lacks (e.g. older reference results) are left out.
SUMMARY_COLUMNS = (
    ("recall@1", "R@1"),
    ("map@r", "MAP@R"),
    ("intra", "intra"),
    ("intra_change", "Δ intra"),
    ("within_class_rank", "within-class rank"),
    ("active_ratio", "active ratio"),
    ("effective_active_ratio", "effective active ratio"),
    ("grad_gini", "Gini"),
    ("map_convergence_epoch", "MAP@R conv. epoch"),
)


def summary_table(
    summary,
    name: Optional[str] = None,
    columns: Sequence[tuple] = SUMMARY_COLUMNS,
    spread: bool = False,
    digits: int = 3,
    significant: Optional[int] = 3,
) -> pd.DataFrame:
    """A few readable columns of one run's or a study's final metrics, one row per loss.

    Parameters
    ----------
    summary : dict or pandas.DataFrame
        ``TrainResult.summary`` (one run: give ``name``), or a study's ``summary.csv`` (one row per loss and
        seed: seeds are averaged) or ``summary_by_loss.csv`` (with ``<column>_std``), with a ``loss`` column.
    name : str, optional
        The row label of a single run's summary (e.g. the loss name).
    columns : sequence of (column, heading) or of column names
        Default :data:`SUMMARY_COLUMNS`; a bare column name (``"intra"``) takes its heading from there (or
        is its own heading). Columns the summary lacks are skipped.
    spread : bool
        Write ``mean ± std`` over seeds in one cell instead of the mean alone.
    digits : int
        Decimals when ``significant`` is None (epochs: one).
    significant : int or None, default 3
        Write each cell as a string at this many significant digits (:func:`vgteach.results.mean_sd`:
        ``"0.700"``, not ``0.7``; ``"0.0778 ± 0.0017"`` with ``spread``). None: numbers rounded to
        ``digits`` decimals (``"mean ± std"`` strings with ``spread``).

    Returns
    -------
    pandas.DataFrame
        Index: the losses (in :data:`~vgteach.losses.LOSS_NAMES` order), unnamed, so that a displayed table
        has one header row; columns: the headings.
    """
    frame, std = summary_frame(summary, name)
    columns = [column_heading(column) for column in columns]
    present = [(column, heading) for column, heading in columns if column in frame.columns]
    if not present:
        raise ValueError(f"the summary has none of the columns {[column for column, _ in columns]}")
    table = pd.DataFrame(index=frame.index)
    for column, heading in present:
        mean, places = frame[column].astype(float), 1 if column.endswith("_epoch") else digits
        if significant is not None:
            spreads = std[column].astype(float) if spread and column in std else [None] * len(mean)
            table[heading] = [results.mean_sd(m, s, significant) for m, s in zip(mean, spreads)]
        elif spread and column in std:
            table[heading] = [
                f"{m:.{places}f} ± {s:.{places}f}" if pd.notna(s) else f"{m:.{places}f}"
                for m, s in zip(mean, std[column].astype(float))
            ]
        else:
            table[heading] = mean.round(places)
    table.index.name = None  # the row labels are the losses; a named index would take a header row of its own
    return table


def column_heading(column) -> tuple:
    """``(column, heading)`` from a pair as given, or from a bare column name (its heading in
    :data:`SUMMARY_COLUMNS`, else the name itself)."""
    if isinstance(column, str):
        return column, dict(SUMMARY_COLUMNS).get(column, column)
    column, heading = column
    return column, heading


def summary_frame(summary, name: Optional[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(means, stds)`` indexed by loss from any of the inputs of :func:`summary_table`."""
    if isinstance(summary, Mapping):
        if name is None:
            raise ValueError("name is required with a single run's summary dict (the row label, e.g. the loss)")
        return pd.DataFrame([dict(summary)], index=[str(name)]), pd.DataFrame(index=[str(name)])
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"summary must be a dict or a pandas DataFrame, got {type(summary).__name__}")
    if "loss" not in summary.columns:
        raise ValueError("a summary DataFrame needs a 'loss' column (a study's summary.csv or summary_by_loss.csv)")
    if summary.empty:
        raise ValueError("the summary has no rows")
    order = [loss for loss in LOSS_NAMES if loss in set(summary["loss"])]
    order += [loss for loss in summary["loss"].unique() if loss not in order]
    numeric = summary.drop(columns="loss").select_dtypes("number")
    groups = numeric.groupby(summary["loss"])
    if groups.size().max() > 1:  # one row per seed: mean and std over seeds
        return groups.mean().reindex(order), groups.std().reindex(order)
    means = groups.first().reindex(order)
    stds = means[[c for c in means.columns if c.endswith("_std")]]
    return means, stds.rename(columns=lambda c: c[: -len("_std")])


def styled(table: pd.DataFrame, highlight: Optional[str]):
    """The table with the ``highlight`` row in bold on a light background (a pandas Styler); a cell never
    breaks inside (``0.744 ± 0.001`` on one line) and keeps some room to its neighbours, the losses are
    named as the book names them (:data:`vgteach.results.LOSS_LABELS`) and the index's name takes no
    header row of its own."""

    def emphasise(row):
        return ["font-weight: bold; background-color: #fff3c4" if row.name == highlight else ""] * len(row)

    return (
        table.style.apply(emphasise, axis=1)
        .format(precision=3)
        .format_index(lambda name: results.LOSS_LABELS.get(name, name), axis=0)
        .set_table_styles(
            [
                {"selector": "td", "props": [("white-space", "nowrap"), ("padding", "0.1em 0.45em")]},
                # headings wrap, so they need the same room: 'MAP@R' and 'intra' read as one heading without it
                {"selector": "th.col_heading", "props": [("padding", "0.1em 0.45em")]},
            ]
        )
        .hide(axis="index", names=True)
    )


@dataclass
class ReferenceView:
    """The packaged reference runs as a chapter shows them: a caption, :func:`summary_table` (mean ± std over
    seeds) and the :func:`~vgteach.widgets.greediness_dashboard`, one loss highlighted in both."""

    caption: str
    table: pd.DataFrame
    dashboard: object
    highlight: Optional[str]

    def _ipython_display_(self):
        from IPython.display import Markdown, display

        display(Markdown(self.caption))
        display(styled(self.table, self.highlight))
        display(self.dashboard)


#: how a reference study's data is named in titles and captions (the study's dataset name otherwise)
STUDY_DATA = {"cifar10": "full CIFAR-10", "digits": "digits"}


def reference_title(reference: results.ReferenceResults) -> str:
    """``"Reference runs (full CIFAR-10, paper settings, 3 seeds)"``: the name the book gives a reference
    study in titles and captions (the chapters' own trainings are the *live run*)."""
    meta, config = reference.meta, reference.meta["config"]
    seeds = len(meta["seeds"])
    data = STUDY_DATA.get(config["dataset"], config["dataset"])
    return f"Reference runs ({data}, {meta.get('profile', 'study')} settings, {seeds} seed{'s' * (seeds != 1)})"


def reference_caption(reference: results.ReferenceResults) -> str:
    """One Markdown sentence saying what the reference study is: its title (:func:`reference_title`), data,
    backbone, recipe, seeds and how to load it."""
    meta, config = reference.meta, reference.meta["config"]
    return (
        f"**{reference_title(reference)}.** Study `{html.escape(reference.name)}`: frozen "
        f"`{config['backbone']}` features, a {config['embedding_dim']}-d {config.get('head', 'linear')} head, "
        f"Adam lr {config['lr']:g}, batch {config['batch_size']}, {config['epochs']} epochs, seeds "
        f"{', '.join(map(str, meta['seeds']))}; each cell is the mean ± sd over seeds. Shipped with the "
        f"package: `vgteach.results.load({reference.name!r})`."
    )


def reference_view(
    highlight: Optional[str] = None,
    name: str = "cifar10",
    columns: Sequence[tuple] = SUMMARY_COLUMNS,
    significant: int = 3,
) -> ReferenceView:
    """The packaged reference study ``name`` (:func:`vgteach.results.load`) with loss ``highlight`` marked.

    Shows wherever the chapter runs (checkout, ``pip install``, Colab): the tables ship inside the package.
    The table is :func:`summary_table` of ``columns``, mean ± sd over seeds in one cell at ``significant``
    significant digits; a chapter passes the three to six columns its question needs (the full grid of
    measures is the comparison chapter's).

    >>> reference_view(highlight="triplet")        # last expression of a cell: caption, table, dashboard
    """
    reference = results.load(name)
    losses = set(reference.summary_by_loss["loss"])
    if highlight is not None and highlight not in losses:
        raise ValueError(
            f"highlight {highlight!r} is not a loss of the reference study {reference.name!r}; valid: {sorted(losses)}"
        )
    table = summary_table(reference.summary_by_loss, columns=columns, spread=True, significant=significant)
    dashboard = greediness_dashboard(reference.history, highlight=highlight)
    return ReferenceView(reference_caption(reference), table, dashboard, highlight)


#: how a chapter's live data is named in titles and captions (the dataset name otherwise)
LIVE_DATA = {"cifar10-features": "shipped features"}


def live_run_title(config) -> str:
    """``"Live run (shipped features)"``: the name the book gives a chapter's own training (``config``: its
    :class:`~vgteach.training.TrainConfig`) in titles and captions; other data say their dataset's name
    (``"Live run (digits)"`` in the smoke profile)."""
    return f"Live run ({LIVE_DATA.get(config.dataset, config.dataset)})"


def recipe(config) -> str:
    """The recipe of a chapter's live run in one line: data, optimiser, learning rate, batch, epochs, seed.

    >>> print(recipe(chapter_config("book", "triplet")))     # doctest: +SKIP
    shipped features · Adam lr 0.001 · batch 256 · 30 epochs · seed 0
    """
    data = LIVE_DATA.get(config.dataset, config.dataset)
    return f"{data} · Adam lr {config.lr:g} · batch {config.batch_size} · {config.epochs} epochs · seed {config.seed}"


def eval_batch(result, epoch: Optional[int] = None, per_class: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """A class-balanced batch of a run's evaluation embeddings: the first ``per_class`` samples of each class.

    Parameters
    ----------
    result : TrainResult
        Trained with ``keep_embeddings=True`` (``result.embeddings``: epoch -> [N, D]; ``result.eval_labels``).
    epoch : int, optional
        An evaluated epoch (default: the last); the same samples are taken at every epoch.
    per_class : int
        Samples per class (fewer for a class that has fewer).

    Returns
    -------
    (embeddings [n, D] float32 tensor, labels [n] int64 tensor)
    """
    if not getattr(result, "embeddings", None):
        raise ValueError("this run stored no per-epoch embeddings: train it with keep_embeddings=True")
    validate_positive_int(per_class, "per_class")
    epoch = max(result.embeddings) if epoch is None else epoch
    if epoch not in result.embeddings:
        raise ValueError(f"epoch {epoch} was not evaluated; evaluated epochs: {sorted(result.embeddings)}")
    labels = torch.as_tensor(np.asarray(result.eval_labels)).long()
    batch = torch.cat([torch.nonzero(labels == c).flatten()[:per_class] for c in labels.unique()])
    embeddings = torch.as_tensor(np.asarray(result.embeddings[epoch], dtype=np.float32))
    return embeddings[batch], labels[batch]
