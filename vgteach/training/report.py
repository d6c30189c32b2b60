"""A study's ``report.md``: its main table in Markdown and its figures saved beside it (a grid study: one
report per setting, and one ``report.md`` with a table per setting, :func:`write_grid_report`).

The drawing is :mod:`vgteach.figures`'s; ``new_figure``, ``plot_history``, ``HISTORY_PANELS``,
``plot_curves`` and ``plot_tradeoff`` are importable from here too, where chapters import them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..figures import (  # noqa: F401 - HISTORY_PANELS, new_figure, plot_history: the chapters' import path
    HISTORY_PANELS,
    grad_norm_panels,
    new_figure,
    plot_curves,
    plot_history,
    plot_tradeoff,
    projection_panels,
    save_figure,
)
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
#: (history column, title) of the report's two curve figures
LEARNING_CURVES = (
    ("train_loss", "training loss"),
    ("recall@1", "R@1"),
    ("map@r", "MAP@R"),
    ("intra", "intra-class variance"),
    ("inter", "inter-class variance"),
    ("nmi", "NMI"),
)
GREEDINESS_CURVES = (
    ("active_ratio", "active ratio"),
    ("grad_norm_mean", "mean ‖∂L/∂e_i‖"),
    ("grad_gini", "Gini of ‖∂L/∂e_i‖"),
    ("sample_active_ratio", "samples with a gradient"),
)


def first_runs(out: Path, summary: pd.DataFrame) -> list:
    """``[(row, final)]``: each loss's first seed in ``summary`` and the arrays of its ``final.npz``."""
    runs = []
    for _, row in summary.drop_duplicates("loss").iterrows():
        with np.load(run_folder(out, row["loss"], int(row["seed"])) / "final.npz") as final:
            runs.append((row, dict(final)))
    return runs


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


def save_figures(out: Path, history: pd.DataFrame, summary: pd.DataFrame, by_loss: pd.DataFrame) -> dict:
    """The report's figures as PNG files in ``out``: ``{section title: file name}``."""
    runs = first_runs(out, summary)
    figures = {
        "Learning curves": plot_curves(history, LEARNING_CURVES, title="learning curves (mean over seeds)"),
        "Greediness curves": plot_curves(history, GREEDINESS_CURVES, title="greediness per epoch"),
        "Gradient-norm distributions": grad_norm_panels(runs),
        "Embeddings (2-D projections)": projection_panels(runs),
        "R@1 vs intra-class variance": plot_tradeoff(by_loss),
    }
    names = ("learning_curves", "greediness_curves", "grad_norms", "projections", "recall_vs_intra")
    return {title: save_figure(fig, out / f"{name}.png") for (title, fig), name in zip(figures.items(), names)}


def write_report(out: Path, history: pd.DataFrame, summary: pd.DataFrame, by_loss: pd.DataFrame, meta: dict) -> Path:
    """The figures (:func:`save_figures`) and ``report.md`` in the study folder ``out``; returns its path."""
    figures = save_figures(out, history, summary, by_loss)
    cfg = meta["config"]
    lines = [
        f"# vgteach study: {cfg['dataset']} ({cfg['backbone']} inputs), profile `{meta['profile']}`",
        "",
        f"{len(meta['losses'])} losses × seeds {meta['seeds']}; head {cfg['head']} → {cfg['embedding_dim']}-d "
        f"(L2-normalised), Adam lr {cfg['lr']}, batch {cfg['batch_size']} (m-per-class ≥ {cfg['m_per_class']}), "
        f"{cfg['epochs']} epochs. Wall time {meta['wall_time_s']:.1f} s on {meta['hardware']['machine']} "
        f"({meta['hardware']['cpu_threads']} threads, GPU: {meta['hardware']['cuda'] or 'none'}).",
        "",
        *([meta["protocol"]["description"], ""] if "protocol" in meta else []),  # which classes trained, scored
        "## Final metrics (evaluation split, leave-one-out; mean ± std over seeds)",
        "",
        markdown_table(by_loss),
        "",
        "Speeds, relative to the untrained head (epoch 0, before the first update), on the evaluated epochs: "
        "`convergence_epoch` (`map_convergence_epoch`): first epoch with 90 % of the run's gain in R@1 (MAP@R); "
        "`compaction_epoch`: first epoch whose intra-class variance is within 10 % of its fall (nan: it does not fall); "
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


def describe_setting(per_loss: dict) -> str:
    """``"contrastive margin=0.5, triplet margin=0.1"``: one setting of a grid in words."""
    return ", ".join(
        f"{loss} " + " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in kwargs.items())
        for loss, kwargs in per_loss.items()
    )


def write_grid_report(out: Path, history: pd.DataFrame, summary: pd.DataFrame, by_loss: pd.DataFrame, meta: dict):
    """A grid study's reports: each setting's own (figures included) in ``runs/<setting>/``, and
    ``report.md`` with one table per setting linking to them. Returns the path of ``report.md``."""
    cfg, grid = meta["config"], meta["grid"]
    lines = [
        f"# vgteach grid study `{grid['name'] or 'custom'}`: {cfg['dataset']} ({cfg['backbone']} inputs), "
        f"profile `{meta['profile']}`",
        "",
        f"{len(grid['settings'])} settings × {len(meta['losses'])} losses × seeds {meta['seeds']}; "
        f"{cfg['epochs']} epochs. Wall time {meta['wall_time_s']:.1f} s. {meta['protocol']['description']}",
        "",
        "Every table: final metrics on the evaluation split (leave-one-out; mean ± std over seeds); every metric "
        "is in `summary_by_loss.csv` (one row per setting and loss).",
        "",
    ]
    for setting, per_loss in grid["settings"].items():
        folder = out / "runs" / setting
        rows = summary["setting"] == setting
        words = describe_setting(per_loss)
        setting_meta = {
            **meta,
            "losses": list(per_loss),
            "protocol": {
                **meta["protocol"],
                "description": f"Setting `{setting}`: {words}. {meta['protocol']['description']}",
            },
        }
        table = by_loss[by_loss["setting"] == setting].drop(columns="setting")
        write_report(folder, history[history["setting"] == setting], summary[rows], table, setting_meta)
        lines += [
            f"## Setting `{setting}`",
            "",
            words,
            "",
            markdown_table(table),
            "",
            f"[curves, projections and gradient norms](runs/{setting}/report.md)",
            "",
        ]
    path = out / "report.md"
    atomic_write_text(path, "\n".join(lines))
    return path
