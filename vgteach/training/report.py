"""The study's figures and ``report.md`` (matplotlib, Agg backend: works headless)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_write_text, run_folder

#: the columns of the report's main table (summary_by_loss.csv holds every metric)
REPORT_COLUMNS = (
    "recall@1",
    "map@r",
    "nmi",
    "intra",
    "inter",
    "ratio",
    "centroid_dist_cv",
    "active_ratio",
    "grad_norm_mean",
    "grad_gini",
    "convergence_epoch",
    "map_convergence_epoch",
    "compaction_epoch",
    "intra_change",
)


def new_figure(rows: int, cols: int, figsize, **kwargs):
    """``(fig, axes)`` on a figure pyplot never sees. Writing a report must not touch the session's
    backend: ``matplotlib.use("Agg")`` inside a Jupyter kernel switches inline figures off for good.
    In IPython the figure still displays as an image (:func:`show_figures_as_png`)."""
    from matplotlib.figure import Figure

    show_figures_as_png()
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(rows, cols, **kwargs)


def show_figures_as_png() -> None:
    """In an IPython session, display matplotlib ``Figure`` objects as PNG images.

    pyplot's inline backend registers that formatter when pyplot is imported; a kernel that only ever
    sees vgteach's pyplot-free figures would otherwise print ``<Figure size 1200x800 with 6 Axes>``. A
    formatter already registered (by pyplot or the user) is kept. Outside IPython this does nothing.
    """
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters["image/png"]
    if Figure in formatter.type_printers:
        return
    from IPython.core.pylabtools import print_figure

    formatter.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


#: (history column, title) of the panels of :func:`plot_history`: one run's loss, retrieval, VARIANCE and
#: GREEDINESS per epoch.
HISTORY_PANELS = (
    ("train_loss", "training loss"),
    ("recall@1", "R@1"),
    ("intra", "intra-class variance"),
    ("inter", "inter-class variance"),
    ("active_ratio", "active ratio"),
    ("grad_gini", "Gini of ‖∂L/∂e‖"),
)
#: a curve with at most this many points gets a marker on every point
MARKER_POINTS = 40


def plot_curve(ax, epoch, values, **style):
    """Draw one per-epoch curve on ``ax``, skipping NaN (epochs without an evaluation), with a marker on
    every drawn point when some epochs were skipped or there are few points: the dots are the epochs
    that were really measured, the lines between them are only a guide."""
    values = pd.Series(np.asarray(values, dtype=float), index=np.asarray(epoch))
    kept = values.dropna()
    sparse = len(kept) < len(values) or len(kept) <= MARKER_POINTS
    style = {"marker": "o" if sparse else None, "ms": 3, **style}
    return ax.plot(kept.index, kept.values, **style)


def plot_history(history: pd.DataFrame, panels=HISTORY_PANELS, axes=None, title=None):
    """One panel per history column: the curves of one training run (seeds averaged per epoch).

    Evaluation columns (R@1, VARIANCE, ...) are measured on the evaluated epochs only (NaN elsewhere);
    their curves join the measured points, which are marked (:func:`plot_curve`).

    Parameters
    ----------
    history : pandas.DataFrame
        ``TrainResult.history`` (or several seeds' rows of one loss): ``epoch`` plus the ``panels`` columns.
    panels : sequence of (column, title)
        Default :data:`HISTORY_PANELS`.
    axes : sequence of matplotlib Axes, optional
        Where to draw (at least ``len(panels)``); by default a new figure with rows of three panels.
    title : str, optional
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (in a notebook, the last expression of a cell shows it).
    """
    panels = tuple(panels)
    if not isinstance(history, pd.DataFrame):
        raise TypeError(f"history must be a pandas DataFrame, got {type(history).__name__}")
    if not panels:
        raise ValueError("panels is empty: give at least one (column, title) pair")
    missing = [column for column in ["epoch", *(c for c, _ in panels)] if column not in history.columns]
    if missing:
        raise ValueError(f"history lacks the columns {missing}")
    if history.empty:
        raise ValueError("history has no rows")
    if axes is None:
        cols = min(3, len(panels))
        rows = math.ceil(len(panels) / cols)
        fig, axes = new_figure(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
        fig.set_layout_engine("constrained")
    axes = list(np.ravel(axes))
    if len(axes) < len(panels):
        raise ValueError(f"{len(panels)} panels need as many axes, got {len(axes)}")
    mean = history.groupby("epoch", as_index=False)[[c for c, _ in panels]].mean()  # seeds -> their mean
    for ax, (column, label) in zip(axes, panels):
        plot_curve(ax, mean["epoch"], mean[column])
        ax.set(title=label, xlabel="epoch")
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    fig = axes[0].figure
    if title:
        fig.suptitle(title)
    return fig


def _save(fig, path: Path) -> str:
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(path)
    return path.name


def plot_curves(history: pd.DataFrame, columns, axes=None, title=None):
    """One panel per ``(column, title)``: the per-epoch mean over seeds, one line per loss (a study's
    ``history.csv``, its ``loss`` column naming the loss). Draws on ``axes`` or a new figure; returns the
    figure."""
    if axes is None:
        cols = 3 if len(columns) > 4 else len(columns)
        rows = math.ceil(len(columns) / cols)
        fig, axes = new_figure(rows, cols, figsize=(4.2 * cols, 3.1 * rows), squeeze=False)
        fig.set_layout_engine("tight")
    axes = list(np.ravel(axes))
    for ax, (column, label) in zip(axes, columns):
        for loss, runs in history.groupby("loss", sort=False):
            mean = runs.groupby("epoch")[column].mean()
            plot_curve(ax, mean.index, mean.values, label=loss)
        ax.set(xlabel="epoch", title=label)
    for ax in axes[len(columns) :]:
        ax.axis("off")
    axes[0].legend(fontsize=8)
    if title:
        axes[0].figure.suptitle(title)
    return axes[0].figure


def curves_figure(history: pd.DataFrame, columns, path: Path, title: str) -> str:
    """:func:`plot_curves` saved to ``path``."""
    return _save(plot_curves(history, columns, title=title), path)


def per_loss_figure(out: Path, summary: pd.DataFrame, path: Path, title: str, draw) -> str:
    """One panel per loss (its first seed): ``draw(ax, row, final)`` with ``final`` its ``final.npz``."""
    firsts = summary.drop_duplicates("loss")
    fig, axes = new_figure(1, len(firsts), figsize=(2.6 * len(firsts), 2.8), squeeze=False)
    for ax, (_, row) in zip(axes.flat, firsts.iterrows()):
        draw(ax, row, np.load(run_folder(out, row["loss"], int(row["seed"])) / "final.npz"))
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def grad_norm_figure(out: Path, summary: pd.DataFrame, path: Path) -> str:
    """Histogram of the final per-sample gradient norms ||∂L/∂e_i|| of one batch, per loss."""

    def draw(ax, row, final):
        ax.hist(final["grad_norms"], bins=30, color="tab:blue")
        ax.set(title=f"{row['loss']}\nGini {row['grad_gini']:.2f}", xlabel="‖∂L/∂e_i‖")

    return per_loss_figure(out, summary, path, "per-sample gradient norms on one batch after training", draw)


def projection_figure(out: Path, summary: pd.DataFrame, path: Path) -> str:
    """PCA projections of each loss's final evaluation embeddings, coloured by class."""

    def draw(ax, row, final):
        ax.scatter(*final["projection"].T, c=final["projection_labels"], cmap="tab10", s=4)
        ax.set(title=f"{row['loss']}\nintra {row['intra']:.2f}", xticks=[], yticks=[])
        ax.set_aspect("equal")

    return per_loss_figure(out, summary, path, "evaluation embeddings, first two principal components", draw)


def plot_tradeoff(by_loss: pd.DataFrame, ax=None):
    """R@1 against intra-class variance, one point per loss (error bars: std over seeds, when
    ``summary_by_loss`` has them): the efficiency–granularity picture. Draws on ``ax`` or a new figure;
    returns the figure."""
    if ax is None:
        fig, ax = new_figure(1, 1, figsize=(5, 4))
        fig.set_layout_engine("tight")
    for _, row in by_loss.iterrows():
        ax.errorbar(
            row["intra"], row["recall@1"], xerr=row.get("intra_std"), yerr=row.get("recall@1_std"), fmt="o", capsize=3
        )
        ax.annotate(row["loss"], (row["intra"], row["recall@1"]), textcoords="offset points", xytext=(5, 4))
    ax.set(xlabel="intra-class variance (final)", ylabel="R@1 (final)", title="R@1 vs within-class variance")
    return ax.figure


def tradeoff_figure(by_loss: pd.DataFrame, path: Path) -> str:
    """:func:`plot_tradeoff` saved to ``path``."""
    return _save(plot_tradeoff(by_loss), path)


def markdown_table(by_loss: pd.DataFrame) -> str:
    """``mean ± std`` per loss for :data:`REPORT_COLUMNS` (± omitted with a single seed)."""
    columns = [c for c in REPORT_COLUMNS if c in by_loss.columns]
    lines = ["| loss | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for _, row in by_loss.iterrows():
        cells = []
        for column in columns:
            std = row.get(f"{column}_std")
            cell = f"{row[column]:.3f}" if isinstance(row[column], float) else str(row[column])
            if std is not None and not pd.isna(std) and row["num_seeds"] > 1:
                cell += f" ± {std:.3f}"
            cells.append(cell)
        lines.append(f"| {row['loss']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(out: Path, history: pd.DataFrame, summary: pd.DataFrame, by_loss: pd.DataFrame, meta: dict) -> Path:
    figures = {
        "Learning curves": curves_figure(
            history,
            [
                ("train_loss", "training loss"),
                ("recall@1", "R@1"),
                ("map@r", "MAP@R"),
                ("intra", "intra-class variance"),
                ("inter", "inter-class variance"),
                ("nmi", "NMI"),
            ],
            out / "learning_curves.png",
            "learning curves (mean over seeds)",
        ),
        "Greediness curves": curves_figure(
            history,
            [
                ("active_ratio", "active ratio"),
                ("grad_norm_mean", "mean ‖∂L/∂e_i‖"),
                ("grad_gini", "Gini of ‖∂L/∂e_i‖"),
                ("sample_active_ratio", "samples with a gradient"),
            ],
            out / "greediness_curves.png",
            "greediness per epoch",
        ),
        "Gradient-norm distributions": grad_norm_figure(out, summary, out / "grad_norms.png"),
        "Embeddings (2-D projections)": projection_figure(out, summary, out / "projections.png"),
        "R@1 vs intra-class variance": tradeoff_figure(by_loss, out / "recall_vs_intra.png"),
    }
    cfg = meta["config"]
    lines = [
        f"# vgteach study: {cfg['dataset']} ({cfg['backbone']} inputs), profile `{meta['profile']}`",
        "",
        f"{len(meta['losses'])} losses × seeds {meta['seeds']}; head {cfg['head']} → {cfg['embedding_dim']}-d "
        f"(L2-normalised), Adam lr {cfg['lr']}, batch {cfg['batch_size']} (m-per-class ≥ {cfg['m_per_class']}), "
        f"{cfg['epochs']} epochs. Wall time {meta['wall_time_s']:.1f} s on {meta['hardware']['machine']} "
        f"({meta['hardware']['cpu_threads']} threads, GPU: {meta['hardware']['cuda'] or 'none'}).",
        "",
        "## Final metrics (evaluation split, leave-one-out; mean ± std over seeds)",
        "",
        markdown_table(by_loss),
        "",
        "Speeds, relative to the untrained head (epoch 0, before the first update), on the evaluated epochs: "
        "`convergence_epoch` (`map_convergence_epoch`): first epoch with 90 % of the run's gain in R@1 (MAP@R); "
        "`compaction_epoch`: first epoch whose intra-class variance is within 10 % of its total change; "
        "`intra_change`: final minus epoch-0 intra-class variance (negative = compacted). "
        "`active_ratio` and the gradient statistics are means over the last epoch's steps. Every metric is in "
        "`summary_by_loss.csv`; per-seed rows in `summary.csv`; per-epoch rows in `history.csv`.",
        "",
    ]
    for title, name in figures.items():
        lines += [f"## {title}", "", f"![{title}]({name})", ""]
    path = out / "report.md"
    atomic_write_text(path, "\n".join(lines))
    return path
