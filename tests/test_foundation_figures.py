"""vgteach.figures.foundations: the foundations chapters' figures draw their data and read at >= 9 pt in the book."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from vgteach.diagnostics import active_share_curve
from vgteach.figures.foundations import active_share_figure, circle_figure, grad_norm_figure, reduction_figure
from vgteach.figures.style import BOOK_DPI, MIN_DISPLAYED_PT, displayed_points, loss_color
from vgteach.losses import build_loss

CLASSES = ("airplane", "automobile", "bird")


def texts(fig):
    fig.canvas.draw()
    return [t for t in fig.findobj(lambda artist: hasattr(artist, "get_fontsize")) if t.get_text().strip()]


def assert_readable(fig):
    natural = fig.get_figwidth() * BOOK_DPI
    small = [
        (t.get_text(), t.get_fontsize())
        for t in texts(fig)
        if displayed_points(t.get_fontsize(), natural) < MIN_DISPLAYED_PT - 1e-9
    ]
    assert not small, f"text under {MIN_DISPLAYED_PT} pt as the book shows it: {small}"


@pytest.fixture()
def circle():
    rng = np.random.default_rng(0)
    angles = rng.uniform(0, 2 * np.pi, 30)
    labels = np.repeat([0, 1, 2], 10)
    return np.c_[np.cos(angles), np.sin(angles)] * 3.0, labels, angles  # not unit length: only the angle counts


def test_circle_keeps_each_angle_and_puts_each_class_on_its_ring(circle):
    points, labels, angles = circle
    fig = circle_figure(points, labels, CLASSES, title="Live run (shipped features)", ring_step=0.05)
    drawn = fig.axes[0].collections[0].get_offsets()
    np.testing.assert_allclose(np.arctan2(drawn[:, 1], drawn[:, 0]) % (2 * np.pi), angles % (2 * np.pi))
    radius = np.linalg.norm(drawn, axis=1)
    np.testing.assert_allclose(radius, np.array([0.9, 0.95, 1.0])[labels])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == list(CLASSES)
    assert_readable(fig)


def test_circle_rejects_bad_input(circle):
    points, labels, _ = circle
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        circle_figure(np.zeros((5, 3)), np.zeros(5, int), CLASSES)
    with pytest.raises(ValueError, match="labels"):
        circle_figure(points, labels[:-1], CLASSES)
    with pytest.raises(ValueError, match="index class_names"):
        circle_figure(points, labels, CLASSES[:2])
    with pytest.raises(ValueError, match="ring_step"):
        circle_figure(points, labels, CLASSES, ring_step=0.5)


def test_active_share_lines_are_the_curves_in_the_loss_colours():
    torch.manual_seed(0)
    e, y = torch.randn(12, 8), torch.arange(3).repeat_interleave(4)
    curves = pd.concat(
        [active_share_curve(build_loss(name), e, y).assign(loss=name) for name in ("triplet", "infonce")]
    )
    fig = active_share_figure(curves, title="one batch")
    lines = [line for line in fig.axes[0].lines if len(line.get_xdata()) > 2]
    assert [line.get_color() for line in lines] == [loss_color("triplet"), loss_color("infonce")]
    for line, name in zip(lines, ("triplet", "infonce")):
        np.testing.assert_allclose(line.get_ydata(), curves[curves["loss"] == name]["active_ratio"])
    assert fig.axes[0].get_xscale() == "log"
    assert_readable(fig)
    with pytest.raises(ValueError, match="active_ratio"):
        active_share_figure(curves.drop(columns="active_ratio"))
    with pytest.raises(TypeError):
        active_share_figure(curves.to_dict())


def test_grad_norms_are_relative_to_the_batch_mean_and_zeros_sit_at_the_floor():
    norms = pd.DataFrame({"loss": ["npair"] * 4 + ["infonce"] * 3, "norm": [0.0, 0.0, 2.0, 6.0, 1.0, 1.0, 4.0]})
    fig = grad_norm_figure(norms, floor=1e-3)
    ax = fig.axes[0]
    npair, infonce = (collection.get_offsets()[:, 0] for collection in ax.collections[:2])
    np.testing.assert_allclose(sorted(npair), [1e-3, 1e-3, 1.0, 3.0])  # mean 2: 0, 0, 1, 3
    np.testing.assert_allclose(sorted(infonce), [0.5, 0.5, 2.0])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["N-pair", "InfoNCE"]
    assert_readable(fig)
    with pytest.raises(ValueError, match="floor"):
        grad_norm_figure(norms, floor=0)


def test_reduction_figure_scales_the_trained_norm_by_the_active_ratio():
    history = pd.DataFrame(
        {
            "epoch": [0, 1, 2, 3],
            "active_ratio": [np.nan, 0.6, 0.4, 0.2],
            "effective_active_ratio": [np.nan, 0.3, 0.25, 0.2],
            "grad_norm_mean": [np.nan, 1.0, 1.5, 2.0],
        }
    )
    fig = reduction_figure(history, title="Live run (shipped features): Triplet")
    trained, over_all = fig.axes[1].lines[:2]
    np.testing.assert_allclose(trained.get_ydata(), [1.0, 1.5, 2.0])
    np.testing.assert_allclose(over_all.get_ydata(), [0.6, 0.6, 0.4])
    np.testing.assert_allclose(fig.axes[0].lines[0].get_xdata(), [1, 2, 3])  # the unmeasured epoch 0 is left out
    assert_readable(fig)
    with pytest.raises(ValueError, match="grad_norm_mean"):
        reduction_figure(history.drop(columns="grad_norm_mean"))
