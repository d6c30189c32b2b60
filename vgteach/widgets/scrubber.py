"""The training scrubber: an epoch slider over the evaluation embeddings of a run.

Watching the same points move from epoch to epoch is the most direct way to see VARIANCE shrink: with
Contrastive or InfoNCE the classes collapse to tight clusters early, with Triplet or SupCon they keep a
visible spread (Zeng et al., ICASSP 2026). Embeddings are L2-normalised; 2-D runs are drawn on the unit
circle as they are, higher-dimensional runs through a PCA fitted on the *final* epoch, so that the axes
are those of the geometry the run converged to and earlier epochs are shown in the same frame.
"""

from __future__ import annotations

import html
from typing import Mapping, Optional

import numpy as np
import torch

from .._validation import validate_batch
from ..figures import FONT_SIZE, fit_pca_2d, frame_figure, pca_2d, projection_scatter
from ..figures.projection import unit_rows
from ._frames import FrameExplorer, frame_html, frame_stack, intro, link_index, player, widgets

#: History columns quoted in a frame's caption when the run's history is available.
CAPTION_COLUMNS = (
    ("recall@1", "R@1"),
    ("intra", "intra"),
    ("inter", "inter"),
    ("ratio", "intra/inter"),
    ("active_ratio", "active ratio"),
)


def embeddings_and_labels(result_or_embeddings_by_epoch, labels, history):
    """Accept a ``TrainResult`` (``.embeddings``, ``.eval_labels``, ``.history``) or a dict epoch ->
    embeddings [N, D] plus ``labels`` [N]; return ``(dict epoch -> float32 tensor, labels, history)``."""
    source = result_or_embeddings_by_epoch
    if hasattr(source, "embeddings") and not isinstance(source, Mapping):
        if not source.embeddings:
            raise ValueError("this run stored no per-epoch embeddings: train it with keep_embeddings=True")
        labels = source.eval_labels if labels is None else labels
        history = getattr(source, "history", None) if history is None else history
        source = source.embeddings
    if not isinstance(source, Mapping):
        raise TypeError(f"expected a TrainResult or a dict epoch -> embeddings [N, D], got {type(source).__name__}")
    if not source:
        raise ValueError("no epochs given: the dict of embeddings is empty")
    if labels is None:
        raise ValueError("labels are required with a dict of embeddings")
    labels = torch.as_tensor(np.asarray(labels))
    by_epoch = {}
    for epoch in sorted(source):
        embeddings = torch.as_tensor(np.asarray(source[epoch], dtype=np.float32))
        embeddings, _ = validate_batch(embeddings, labels)
        if embeddings.shape[1] < 2:
            raise ValueError(f"embeddings must have at least 2 dimensions to draw, got {embeddings.shape[1]}")
        by_epoch[int(epoch)] = embeddings
    if len({tuple(value.shape) for value in by_epoch.values()}) != 1:
        raise ValueError("every epoch must hold embeddings of the same shape [N, D]")
    return by_epoch, labels, history


def run_class_names(source) -> Optional[tuple]:
    """The evaluation classes' names of a ``TrainResult`` (its protocol's ``eval_classes``, indexed by the
    evaluation labels), or None when ``source`` is not one or its dataset has no names."""
    config = getattr(source, "config", None)
    if config is None or not hasattr(config, "protocol_split"):
        return None
    try:
        names = tuple(config.protocol_split().eval_classes)
    except (ValueError, KeyError, TypeError):
        return None
    return names or None


def pick_epochs(epochs, max_frames: int) -> list:
    """At most ``max_frames`` epochs, evenly spread, always keeping the first and the last."""
    if max_frames < 2:
        raise ValueError(f"max_frames must be at least 2, got {max_frames}")
    if len(epochs) <= max_frames:
        return list(epochs)
    positions = np.unique(np.round(np.linspace(0, len(epochs) - 1, max_frames)).astype(int))
    return [epochs[position] for position in positions]


def project(by_epoch: Mapping[int, torch.Tensor]) -> tuple[dict, str]:
    """2-D coordinates of the normalised embeddings of every epoch, and a description of the axes: 2-D
    embeddings as they are, others on the first two principal components of the final epoch
    (:func:`vgteach.figures.pca_2d`, one projection for every epoch)."""
    final = by_epoch[max(by_epoch)].numpy()
    if final.shape[1] == 2:
        return {epoch: unit_rows(value.numpy()) for epoch, value in by_epoch.items()}, (
            "the unit circle (2-D embeddings, no projection)"
        )
    fit = fit_pca_2d(final)
    projected = {epoch: pca_2d(value.numpy(), fit) for epoch, value in by_epoch.items()}
    explained = 100 * projected[max(projected)][1]  # the share of the final epoch's variance the axes keep
    return {epoch: points for epoch, (points, _) in projected.items()}, (
        f"PCA of the final epoch ({explained:.0f}% of its variance)"
    )


def history_caption(history, epoch: int) -> str:
    if history is None or "epoch" not in getattr(history, "columns", ()):
        return ""
    rows = history[history["epoch"] == epoch]
    if rows.empty:
        return ""
    row = rows.iloc[-1]
    parts = [f"{label} {float(row[column]):.3g}" for column, label in CAPTION_COLUMNS if column in history.columns]
    return " · " + " · ".join(parts) if parts else ""


def draw_epoch(
    points: np.ndarray,
    labels: np.ndarray,
    epoch: int,
    limits: float,
    circle: bool,
    title: str,
    class_names=None,
) -> object:
    """One frame: the points of an epoch coloured by class, with a legend of the classes beside them (named
    by ``class_names`` when given, by their labels otherwise)."""
    fig = frame_figure(5.8, 4.0)
    ax = fig.subplots()
    projection_scatter(
        ax, points, labels, size=6, class_names=class_names, legend=True, circle=circle, alpha=0.7, linewidths=0
    )
    ax.set(xlim=(-limits, limits), ylim=(-limits, limits))
    ax.set_title(f"{title}epoch {epoch}", fontsize=FONT_SIZE + 1)
    return fig


def training_scrubber(
    result_or_embeddings_by_epoch,
    labels=None,
    history=None,
    max_frames: int = 20,
    max_points: int = 1500,
    title: Optional[str] = None,
    seed: int = 0,
    class_names=None,
) -> FrameExplorer:
    """Scrub through a run's evaluation embeddings, epoch by epoch.

    Parameters
    ----------
    result_or_embeddings_by_epoch : TrainResult or dict
        A ``TrainResult`` trained with ``keep_embeddings=True`` (its ``eval_labels`` and ``history`` are
        used), or a dict ``epoch -> embeddings [N, D]`` (tensor or array) with ``labels``.
    labels : array-like [N], optional
        Class ids; required with a dict.
    history : pandas.DataFrame, optional
        Training history (CONTRACTS.md columns); R@1, intra/inter variance and active ratio of the shown
        epoch go into the caption.
    max_frames : int, default 20
        Epochs are subsampled evenly to at most this many frames (first and last kept): page weight.
    max_points : int, default 1500
        Points drawn per frame (the same random subset in every frame).
    title : str, optional
        Prefix of each frame's title, e.g. the loss name.
    seed : int
        Seed of the subset of ``max_points`` points.
    class_names : sequence of str, optional
        The name of each class id, for the legend beside the points; by default a ``TrainResult``'s
        evaluation classes (``config.protocol_split().eval_classes``: CIFAR-10's "airplane", …), or the
        labels themselves.

    Returns
    -------
    FrameExplorer
        ``.frames`` (one per shown epoch), ``.links``, ``.controls`` (``"epoch"``, ``"play"``),
        ``.epochs`` (the epochs shown).
    """
    if class_names is None:
        class_names = run_class_names(result_or_embeddings_by_epoch)
    by_epoch, labels, history = embeddings_and_labels(result_or_embeddings_by_epoch, labels, history)
    epochs = pick_epochs(sorted(by_epoch), max_frames)
    coordinates, axes = project({epoch: by_epoch[epoch] for epoch in epochs})
    label_array = labels.cpu().numpy()
    keep = point_subset(len(label_array), max_points, seed)
    circle = by_epoch[epochs[-1]].shape[1] == 2
    limits = 1.15 if circle else 1.08 * max(float(np.abs(points[keep]).max()) for points in coordinates.values())
    prefix = f"{title}: " if title else ""
    frame_widgets = []
    for epoch in epochs:
        fig = draw_epoch(coordinates[epoch][keep], label_array[keep], epoch, limits, circle, prefix, class_names)
        caption = f"<b>epoch {epoch}</b>{history_caption(history, epoch)} · axes: {html.escape(axes)}"
        frame_widgets.append(widgets.HTML(frame_html(fig, caption, f"{prefix}embeddings at epoch {epoch}, {axes}")))
    return epoch_player(frame_widgets, epochs, axes)


def point_subset(n: int, max_points: int, seed: int) -> np.ndarray:
    """The indices of the points drawn: all ``n``, or ``max_points`` of them drawn with ``seed``, in order."""
    keep = np.arange(n)
    if n > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(keep, size=max_points, replace=False))
    return keep


def epoch_player(frame_widgets: list, epochs: list, axes: str) -> FrameExplorer:
    """The frames of ``epochs`` behind an epoch slider and a play button, under a sentence on what they show
    (``axes``: :func:`project`'s description of the plane)."""
    stack = frame_stack(frame_widgets)
    box, slider, play_link = player([f"epoch {epoch}" for epoch in epochs], "", interval_ms=600)
    links = [play_link, link_index(slider, "index", stack)]
    text = intro(
        "Each point is one evaluation sample, coloured by class. Press play or drag the slider: "
        f"the frames are the same points at successive epochs, drawn on {html.escape(axes)}."
    )
    explorer = FrameExplorer([text, box, stack], frame_widgets, links, {"epoch": slider, "play": box.children[0]})
    explorer.epochs = epochs
    return explorer
