"""vgteach.figures: the drawn curves, bands and heatmap cells are the data's values, not just pictures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vgteach import figures, results
from vgteach.data.cifar10 import CLASSES


@pytest.fixture(scope="module")
def history():
    """Two losses, three seeds, epochs 0-4 with R@1 evaluated on 0, 1, 2 and 4 only (epoch 3: NaN)."""
    rng = np.random.default_rng(0)
    rows = []
    for loss, base in (("triplet", 0.5), ("contrastive", 0.3)):
        for seed in range(3):
            for epoch in range(5):
                value = np.nan if epoch == 3 else base + 0.05 * epoch + rng.normal(0, 0.02)
                rows.append(
                    {"loss": loss, "seed": seed, "epoch": epoch, "recall@1": value, "train_loss": 1.0 / (1 + epoch)}
                )
    return pd.DataFrame(rows)


def mean_line(fig, loss):
    """The drawn mean line of ``loss`` (the line with data, gid = loss; seaborn's legend handles are empty)."""
    lines = [line for line in fig.axes[0].lines if line.get_gid() == loss and len(line.get_xdata())]
    assert len(lines) == 1
    return lines[0]


def test_band_data_drops_unevaluated_epochs(history):
    data = figures.band_data(history, "recall@1")
    assert 3 not in set(data["epoch"])
    assert len(data) == len(history) - 6 and not data["recall@1"].isna().any()
    assert list(data.columns) == ["loss", "seed", "epoch", "recall@1"]


def test_the_drawn_line_is_the_seed_mean_and_the_band_its_standard_deviation(history):
    fig = figures.curves_with_bands(history, "recall@1", highlight="triplet")
    line = mean_line(fig, "triplet")
    runs = history[history["loss"] == "triplet"].dropna(subset=["recall@1"]).groupby("epoch")["recall@1"]
    assert list(line.get_xdata()) == [0, 1, 2, 4]  # epoch 3 was not evaluated: no point, no zero
    np.testing.assert_allclose(line.get_ydata(), runs.mean().to_numpy())
    assert line.get_marker() == "o"
    # the band at epoch 2 spans mean ± std over the three seeds
    ax = fig.axes[0]
    spans = []
    for collection in ax.collections:
        for path in collection.get_paths():
            at = path.vertices[np.isclose(path.vertices[:, 0], 2.0)]
            if len(at):
                spans.append((at[:, 1].min(), at[:, 1].max()))
    mean, std = runs.mean()[2], runs.std(ddof=1)[2]
    assert any(np.allclose(span, (mean - std, mean + std)) for span in spans), spans
    # the highlighted loss is opaque and thick, the other faded
    other = mean_line(fig, "contrastive")
    assert line.get_alpha() in (None, 1.0) and other.get_alpha() < 1.0
    assert line.get_linewidth() > other.get_linewidth()


def end_texts(fig, gid="end-label") -> list:
    return [text for text in fig.findobj(lambda artist: artist.get_gid() == gid) if text.get_text()]


def test_losses_come_in_the_books_order_named_at_their_ends(history):
    fig = figures.curves_with_bands(history, "recall@1")
    labels = end_texts(fig)
    assert [label.get_text() for label in labels] == ["Contrastive", "Triplet"]  # display names, book order
    assert fig.axes[0].get_legend() is None
    for label, loss in zip(labels, ("contrastive", "triplet")):
        line = mean_line(fig, loss)
        assert label.xy == (line.get_xdata()[-1], line.get_ydata()[-1])  # at the end of its own line


def test_unknown_measure_or_highlight_is_named(history):
    with pytest.raises(ValueError, match="'recal@1'"):
        figures.curves_with_bands(history, "recal@1")
    with pytest.raises(ValueError, match="'supcon'"):
        figures.curves_with_bands(history, "recall@1", highlight="supcon")
    with pytest.raises(ValueError, match="every row is NaN"):
        figures.curves_with_bands(history.assign(nmi=np.nan), "nmi")
    with pytest.raises(ValueError, match="'loss'"):
        figures.curves_with_bands(history.drop(columns="loss"), "recall@1")


def test_heatmap_cells_are_the_per_loss_means_of_the_summary():
    summary = results.load("cifar10").summary
    measures = [("recall@1", "R@1"), ("intra", "intra"), ("within_class_rank", "within-class rank")]
    fig = figures.measure_heatmap(summary, measures)
    ax = fig.axes[0]
    expected = summary.groupby("loss")[["recall@1", "intra", "within_class_rank"]].mean()
    order = [name for name in figures.LOSS_NAMES if name in set(summary["loss"])]
    assert [label.get_text() for label in ax.get_yticklabels()] == [figures.loss_label(n) for n in order]
    assert [label.get_text() for label in ax.get_xticklabels()] == ["R@1", "intra", "within-class rank"]
    texts = np.array([text.get_text() for text in ax.texts]).reshape(len(order), len(measures))
    np.testing.assert_array_equal(texts, expected.loc[order].map(figures.cell_text).to_numpy())
    # the colour of a cell is its column's standardised value: the same z for every measure's scale
    means, colours = figures.heatmap_table(summary, measures)
    np.testing.assert_allclose(means.to_numpy(), expected.loc[order].to_numpy())
    z = (expected - expected.mean()) / expected.std(ddof=1)
    np.testing.assert_allclose(colours.to_numpy(), z.loc[order].to_numpy())
    drawn = ax.collections[0].get_array().reshape(len(order), len(measures))
    np.testing.assert_allclose(np.asarray(drawn), z.loc[order].to_numpy())


def test_heatmap_ranks_and_constant_columns():
    summary = pd.DataFrame(
        {"loss": ["infonce", "triplet", "infonce", "triplet"], "seed": [0, 0, 1, 1], "a": [1.0, 3.0, 2.0, 5.0]}
    ).assign(flat=0.5)
    means, ranks = figures.heatmap_table(summary, ["a", "flat"], scale="rank")
    assert list(means.index) == ["triplet", "infonce"]  # LOSS_NAMES order
    assert means.loc["triplet", "a"] == 4.0 and means.loc["infonce", "a"] == 1.5
    assert ranks["a"].tolist() == [1.0, 2.0] and ranks["flat"].tolist() == [1.0, 1.0]
    _, z = figures.heatmap_table(summary, ["a", "flat"])
    assert z["flat"].tolist() == [0.0, 0.0]  # all equal: neutral colour, not NaN


def test_heatmap_rejects_unknown_measures_by_name():
    summary = results.load("digits").summary
    with pytest.raises(ValueError, match="'speed'"):
        figures.measure_heatmap(summary, ["recall@1", "speed"])
    with pytest.raises(ValueError, match="scale"):
        figures.heatmap_table(summary, ["recall@1"], scale="log")
    with pytest.raises(ValueError, match="empty"):
        figures.heatmap_table(summary, [])


def test_cell_text():
    assert [figures.cell_text(v) for v in (0.74444, -0.384, 36.667, 1234.5, np.nan)] == [
        "0.744",
        "-0.384",
        "36.7",
        "1234",
        "",
    ]


def test_drawing_on_a_given_axes_returns_its_figure(history):
    from matplotlib.figure import Figure

    fig = Figure()
    axes = fig.subplots(1, 2)
    assert figures.curves_with_bands(history, "recall@1", ax=axes[0]) is fig
    assert figures.measure_heatmap(history, ["recall@1", "train_loss"], ax=axes[1]) is fig
    assert axes[0].get_ylabel() == "R@1"  # the measure by its name (figures.MEASURE_LABELS)


def test_defaults_cover_the_study_measures_and_the_legend_can_go(history):
    fig = figures.measure_heatmap(results.load("cifar10").summary)  # 13 measures, 7 losses: measures as rows
    headings = [label.get_text() for label in fig.axes[0].get_yticklabels()]
    assert headings == [heading for _, heading in figures.STUDY_MEASURES]
    assert [label.get_text() for label in fig.axes[0].get_xticklabels()] == list(figures.LOSS_LABELS.values())
    fig = figures.measure_heatmap(results.load("cifar10").summary, rows="losses")
    assert [label.get_text() for label in fig.axes[0].get_xticklabels()][0] == "R@1"
    with pytest.raises(ValueError, match="rows"):
        figures.measure_heatmap(results.load("cifar10").summary, rows="columns")
    assert end_texts(figures.curves_with_bands(history, "recall@1", legend=False)) == []


def test_one_loss_palette_in_every_figure(history):
    """Each loss has one colour (figures.LOSS_COLORS) in the band curves, the study's curves and the trade-off."""
    from matplotlib.colors import to_hex

    fig = figures.curves_with_bands(history, "recall@1")
    assert to_hex(mean_line(fig, "triplet").get_color()) == figures.loss_color("triplet")
    fig = figures.plot_curves(history, [("recall@1", "R@1")])
    drawn = {line.get_label(): to_hex(line.get_color()) for line in fig.axes[0].lines}
    assert drawn == {name: figures.LOSS_COLORS[name] for name in ("triplet", "contrastive")}
    by_loss = pd.DataFrame({"loss": ["triplet", "contrastive"], "intra": [0.2, 0.1], "recall@1": [0.7, 0.6]})
    fig = figures.plot_tradeoff(by_loss)
    points = {line.get_gid(): to_hex(line.get_color()) for line in fig.axes[0].lines if line.get_gid()}
    assert points == {name: figures.loss_color(name) for name in by_loss["loss"]}
    names = {text.get_text(): to_hex(text.get_color()) for text in end_texts(fig, "point-label")}
    assert names == {"Triplet": figures.loss_color("triplet"), "Contrastive": figures.loss_color("contrastive")}
    assert len(set(figures.LOSS_COLORS.values())) == len(figures.LOSS_NAMES)
    other = figures.loss_color("my-own-loss")
    assert other == figures.loss_color("my-own-loss") and other not in figures.LOSS_COLORS.values()


def test_pca_2d_is_the_principal_plane_of_the_normalised_embeddings():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(300, 5)) * np.array([4.0, 2.0, 0.3, 0.2, 0.1]) + np.array([1.0, 0, 0, 0, 0])
    points, explained = figures.pca_2d(z * rng.uniform(0.5, 3.0, size=(300, 1)))  # the norms do not count
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    centred = unit - unit.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(np.abs(points), np.abs(centred @ vt[:2].T), atol=1e-8)  # up to each axis's sign
    assert explained == pytest.approx((s[:2] ** 2).sum() / (s**2).sum())
    fit = figures.fit_pca_2d(z)
    np.testing.assert_allclose(figures.pca_2d(z[:10], fit)[0], figures.pca_2d(z)[0][:10])
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        figures.pca_2d(z[:, :1])


def test_class_colours_and_the_projection_panel():
    labels = np.array(["b", "a", "c", "a"])
    colours = figures.class_colors(labels)
    assert colours.shape == (4, 4)
    np.testing.assert_array_equal(colours[1], colours[3])
    assert len({tuple(c) for c in figures.class_colors(np.arange(30))}) == 30  # more than tab20: still distinct
    points = np.array([[0.0, 1.0], [1.0, 0.0], [-1.0, 0.0], [0.0, -1.0]])
    fig = figures.projection_figure(points, labels, "four points")
    (scatter,) = fig.axes[0].collections
    np.testing.assert_array_equal(scatter.get_offsets(), points)
    np.testing.assert_allclose(scatter.get_facecolors(), colours)
    assert fig.axes[0].get_title() == "four points"


# ------------------------------------------------------------------------- text you can read (issue 21)
def test_the_font_rule_follows_from_the_column_and_the_dpi():
    """figures.style's rule: 8.64 pt fonts read at 9 pt on a figure that fits the column at 100 dpi; a
    figure twice the column's width needs twice the size; the widget frames' 90 dpi needs 9.6 pt."""
    from vgteach.figures import style

    assert style.min_font_size(6.0) == pytest.approx(8.64)
    assert style.min_font_size(6.0, dpi=90) == pytest.approx(9.6)
    wide = 2 * style.BOOK_COLUMN_PX / style.BOOK_DPI
    assert style.min_font_size(wide) == pytest.approx(2 * 8.64)
    for width, dpi in ((5.0, 100), (13.0, 100), (4.2, 90), (13.0, 110)):
        size = style.min_font_size(width, dpi)
        assert style.displayed_points(size, width * dpi, dpi) == pytest.approx(style.MIN_DISPLAYED_PT)
    with pytest.raises(ValueError, match="positive"):
        style.displayed_points(8, 0)


def smallest_text(fig, dpi: float, tight: bool) -> tuple:
    """``(natural width in px, [(size in points, text), …] smallest first)`` of ``fig`` rendered as the book
    shows it: a PNG at ``dpi``, cropped to its content when ``tight`` (IPython's inline display)."""
    import io

    from matplotlib.image import imread
    from matplotlib.text import Text

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, **({"bbox_inches": "tight"} if tight else {}))
    buffer.seek(0)
    width = imread(buffer).shape[1]
    texts = sorted(
        (text.get_fontsize(), text.get_text())
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text().strip() and (text.axes is None or text.axes.get_visible())
    )
    return width, texts


def _reference():
    return results.load("cifar10")


def _runs(seed: int = 0):
    rng = np.random.default_rng(seed)
    by_loss = _reference().summary_by_loss
    return [
        (
            row,
            {
                "grad_norms": rng.gamma(2.0, 0.1, 96),
                "projection": rng.normal(size=(60, 2)),
                "projection_labels": np.repeat(np.arange(10), 6),
            },
        )
        for _, row in by_loss.iterrows()
    ]


def _frames(monkeypatch, module, build) -> list:
    """The figures a widget module hands to ``frame_html`` while ``build()`` makes its widget."""
    pytest.importorskip("ipywidgets")
    import importlib

    widget = importlib.import_module(f"vgteach.widgets.{module}")
    drawn, original = [], widget.frame_html
    monkeypatch.setattr(widget, "frame_html", lambda fig, *args: drawn.append(fig) or original(fig, *args))
    build()
    return drawn


def _landscape_frames(monkeypatch):
    from vgteach.widgets import loss_landscape

    return _frames(monkeypatch, "landscape", lambda: loss_landscape(("triplet",), negative_degrees=(30, 150)))


def _dashboard_frames(monkeypatch):
    from vgteach.widgets import greediness_dashboard

    history = _reference().history
    runs = {name: history[(history["loss"] == name) & (history["seed"] == 0)] for name in ("triplet", "supcon")}
    return _frames(monkeypatch, "dashboard", lambda: greediness_dashboard(runs))


def _scrubber_frames(monkeypatch):
    from vgteach.widgets.scrubber import draw_epoch

    return [draw_epoch(*_points(), 3, 2.5, True, "triplet: ", CLASSES)]


def _points():
    return np.random.default_rng(1).normal(size=(60, 2)), np.repeat(np.arange(10), 6)


def _one_run():
    history = _reference().history
    return history[(history["loss"] == "triplet") & (history["seed"] == 0)]


def fabricated_summary(seed: int = 0, shift: float = 0.0, losses=figures.LOSS_NAMES, seeds: int = 3) -> pd.DataFrame:
    """A study summary with the documented columns (one row per loss and seed), made up: the studies of
    issue 20 do not exist yet."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, loss in enumerate(losses):
        for s in range(seeds):
            rows.append(
                {
                    "loss": loss,
                    "seed": s,
                    "recall@1": 0.6 + 0.02 * k - shift + rng.normal(0, 0.01),
                    "map@r": 0.3 + 0.02 * k + rng.normal(0, 0.01),
                    "ratio": 0.3 + 0.03 * k + rng.normal(0, 0.01),
                    "intra": 0.2 + 0.04 * k + rng.normal(0, 0.01),
                    "intra_change": -0.1 + rng.normal(0, 0.01),
                    "compaction_epoch": 10 + 5 * k + s,
                    "convergence_epoch": 3 + k,
                    "effective_active_ratio": 0.5 - 0.05 * k + rng.normal(0, 0.01),
                    "train_spectral_decay": 0.2 + 0.05 * k + rng.normal(0, 0.02),
                }
            )
    return pd.DataFrame(rows)


def tau_summary() -> pd.DataFrame:
    rows = []
    for k, loss in enumerate(("infonce", "supcon")):
        for tau in (0.05, 0.1, 0.2, 0.5):
            for s in range(3):
                rows.append(
                    {
                        "loss": loss,
                        "seed": s,
                        "setting": f"tau={tau}",
                        "ratio": 0.3 + 0.1 * np.log10(tau) + 0.02 * k + 0.01 * s,
                        "recall@1": 0.7 - 0.05 * tau + 0.01 * k + 0.005 * s,
                    }
                )
    return pd.DataFrame(rows)


def _foundations(name: str):
    """A figure of the foundations chapters (embeddings, GREEDINESS) on data shaped as the chapters pass it."""
    import torch

    from vgteach.diagnostics import active_share_curve
    from vgteach.figures import foundations
    from vgteach.losses import LOSS_NAMES, build_loss

    if name == "circle":
        angles = np.random.default_rng(2).uniform(0, 2 * np.pi, 100)
        return foundations.circle_figure(
            np.c_[np.cos(angles), np.sin(angles)], np.repeat(np.arange(10), 10), CLASSES, title="Live run, D = 2"
        )
    if name == "reduction":
        return foundations.reduction_figure(_one_run(), title="Live run (shipped features): Triplet")
    torch.manual_seed(0)
    e, y = torch.randn(40, 16), torch.arange(10).repeat_interleave(4)
    losses = [build_loss(loss, 10, 16) for loss in LOSS_NAMES]
    if name == "active share":
        curves = [active_share_curve(loss, e, y).assign(loss=n) for loss, n in zip(losses, LOSS_NAMES)]
        return foundations.active_share_figure(pd.concat(curves), title="Shipped features, untrained")
    norms = []
    for loss, loss_name in zip(losses, LOSS_NAMES):
        leaf = e.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(loss(leaf, y), leaf)
        norms.append(pd.DataFrame({"loss": loss_name, "norm": grad.norm(dim=1).numpy()}))
    return foundations.grad_norm_figure(pd.concat(norms), title="Shipped features, untrained")


#: (name, how to draw it, the dpi the book shows it at, cropped like IPython's inline display)
BOOK_FIGURES = {
    "plot_history": (lambda mp: [figures.plot_history(_one_run(), title="one run")], 100, True),
    "plot_curves": (
        lambda mp: [
            figures.plot_curves(_reference().history, [("intra", "intra"), ("active_ratio", "a")], title="t"),
            figures.plot_curves(_reference().history, [("intra", "intra")]),
        ],
        100,
        True,
    ),
    "curves_with_bands": (
        lambda mp: [figures.curves_with_bands(_reference().history, "recall@1", highlight="triplet")],
        100,
        True,
    ),
    "band_panels": (
        lambda mp: [
            figures.band_panels(
                [(_reference().history, m, h) for m, h in (("recall@1", "R@1"), ("map@r", "MAP@R"), ("intra", "x"))],
                title="three panels",
            )
        ],
        100,
        True,
    ),
    "measure_heatmap": (lambda mp: [figures.measure_heatmap(_reference().summary)], 100, True),
    "plot_tradeoff": (lambda mp: [figures.plot_tradeoff(_reference().summary_by_loss)], 100, True),
    "tradeoff_scatter": (
        lambda mp: [figures.tradeoff_scatter(_reference().summary, "compaction_epoch", "intra", seeds=True)],
        100,
        True,
    ),
    "tradeoff_panels": (lambda mp: [figures.tradeoff_panels(results.load("digits").summary)], 100, True),
    "transfer_scatter": (lambda mp: [figures.transfer_scatter(fabricated_summary(), -0.5, (-0.9, 0.1))], 100, True),
    "protocol_slopes": (
        lambda mp: [
            figures.protocol_slopes(
                {name: fabricated_summary(k, 0.05 * k) for k, name in enumerate(figures.PROTOCOL_ORDER)}
            )
        ],
        100,
        True,
    ),
    "temperature_sweep": (lambda mp: [figures.temperature_sweep(tau_summary())], 100, True),
    "projection_figure": (lambda mp: [figures.projection_figure(*_points(), class_names=CLASSES)], 100, True),
    "projection_panels": (lambda mp: [figures.projection_panels(_runs(), class_names=CLASSES)], 100, True),
    "grad_norm_panels": (lambda mp: [figures.grad_norm_panels(_runs())], 100, True),
    "variance_figure (diagnose report)": (
        lambda mp: [
            figures.variance_figure(
                np.linspace(0.2, 0.5, 10), np.linspace(0.5, 1, 10), np.linspace(0.5, 1.4, 45), 0.3, 0.2
            )
        ],
        110,
        True,
    ),
    "retrieval_figure (diagnose report)": (
        lambda mp: [
            figures.retrieval_figure(
                {"recall@1": 0.7, "recall@2": 0.8, "recall@4": 0.86, "recall@8": 0.9, "map@r": 0.4}
            )
        ],
        110,
        True,
    ),
    "greediness_figure (diagnose report)": (
        lambda mp: [
            figures.greediness_figure(
                {
                    name: {"active_ratio": 0.5, "effective_active_ratio": 0.2, "grad_gini": 0.4}
                    for name in figures.LOSS_NAMES
                }
            )
        ],
        110,
        True,
    ),
    "loss landscape frames": (_landscape_frames, 90, False),
    "GREEDINESS dashboard frames": (_dashboard_frames, 90, False),
    "training scrubber frames": (_scrubber_frames, 90, False),
    "circle_figure (embeddings)": (lambda mp: [_foundations("circle")], 100, True),
    "active_share_figure (greediness)": (lambda mp: [_foundations("active share")], 100, True),
    "grad_norm_figure (greediness)": (lambda mp: [_foundations("grad norms")], 100, True),
    "reduction_figure (greediness)": (lambda mp: [_foundations("reduction")], 100, True),
}

#: figures whose text is too small today (issue 21 fixed the nine it listed): each xfails, strictly, so a
#: fixed figure fails until its name leaves this set
SMALL_TEXT_TODAY: set = set()
#: the widest PNG the book shows at >= 80 % of its natural width (tests/check_browser.py's rule)
WIDEST_PX = figures.style.BOOK_COLUMN_PX / 0.8


def rendered(fig, dpi: float, tight: bool) -> int:
    """Render ``fig`` as the book does and return the PNG's width in pixels."""
    width, _ = smallest_text(fig, dpi, tight)
    return width


@pytest.mark.parametrize("name", list(BOOK_FIGURES))
def test_every_figure_vgteach_draws_has_text_of_nine_points_as_the_book_shows_it(name, monkeypatch, request):
    """Every text of every figure vgteach draws (tick labels, legends, titles, annotations) reads at 9 pt or
    more in the book: its size × the figure's dpi × the scale the column shows it at (figures.style); and
    the PNG is narrow enough to be shown at 80 % of its width or more."""
    from vgteach.figures import style

    if name in SMALL_TEXT_TODAY:
        request.applymarker(pytest.mark.xfail(strict=True, reason="text too small today (issue 21)"))
    draw, dpi, tight = BOOK_FIGURES[name]
    small = []
    for fig in draw(monkeypatch)[:3]:
        width, texts = smallest_text(fig, dpi, tight)
        assert width <= WIDEST_PX, f"{name}: {width} px wide, shown at {style.BOOK_COLUMN_PX / width:.0%}"
        need = style.min_font_size(width / dpi, dpi)
        small += [
            f"{size:g} pt ({style.displayed_points(size, width, dpi):.1f} pt shown, needs {need:.1f}): {text!r}"
            for size, text in texts
            if style.displayed_points(size, width, dpi) < style.MIN_DISPLAYED_PT
        ]
    assert not small, f"{name}: text under {style.MIN_DISPLAYED_PT:g} pt as displayed:\n  " + "\n  ".join(
        dict.fromkeys(small)
    )


def panel_rows(fig) -> list:
    """How many visible panels (colour bars left out) each row of ``fig`` holds, after layout."""
    fig.draw_without_rendering()
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    tops = [round(ax.get_position().y1, 2) for ax in panels]
    return [tops.count(top) for top in sorted(set(tops))]


@pytest.mark.parametrize("name", list(BOOK_FIGURES))
def test_every_figure_has_at_most_three_panels_in_a_row(name, monkeypatch):
    draw, _, _ = BOOK_FIGURES[name]
    for fig in draw(monkeypatch)[:3]:
        assert max(panel_rows(fig)) <= figures.MAX_COLUMNS, f"{name}: rows of {panel_rows(fig)} panels"


def test_many_panels_wrap_into_rows_of_three():
    assert [figures.panel_grid(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [
        (1, 1),
        (1, 2),
        (1, 3),
        (2, 2),
        (2, 3),
        (2, 3),
        (3, 3),
    ]
    assert figures.panel_grid(3, max_columns=2) == (2, 2)
    assert panel_rows(figures.grad_norm_panels(_runs())) == [1, 3, 3]  # seven losses: 3 + 3 + 1
    assert panel_rows(figures.plot_history(_one_run())) == [3, 3]
    with pytest.raises(ValueError, match="at most 3"):
        figures.new_figure(1, 4)
    with pytest.raises(ValueError, match="at least one panel"):
        figures.panel_grid(0)


def test_readable_raises_small_text_and_leaves_large_text():
    fig, ax = figures.new_figure(1, 1)
    ax.plot([0, 1], [0, 1])
    ax.set_title("big", fontsize=14)
    ax.set_xlabel("small", fontsize=6)
    ax.tick_params(labelsize=5)
    figures.readable(fig)
    fig.draw_without_rendering()
    assert ax.title.get_fontsize() == 14 and ax.xaxis.label.get_fontsize() == figures.FONT_SIZE
    assert all(tick.get_fontsize() == figures.FONT_SIZE for tick in ax.get_xticklabels())


# ----------------------------------------------------------------------------- names that do not overlap
def boxes(fig, gid: str) -> list:
    """The display boxes of the texts with ``gid`` after ``fig`` is drawn as the book draws it."""
    import io

    from matplotlib.text import Text

    fig.savefig(io.BytesIO(), format="png", dpi=100, bbox_inches="tight")
    renderer = fig._get_renderer()
    texts = [text for text in fig.findobj(Text) if text.get_gid() == gid and text.get_text()]
    return [(text.get_text(), Text.get_window_extent(text, renderer)) for text in texts]


def overlapping(named) -> list:
    return [(a, b) for i, (a, box) in enumerate(named) for b, other in named[i + 1 :] if box.overlaps(other)]


def test_spread_keeps_names_apart_in_their_order():
    placed = figures.spread([5.0, 5.0, 5.1, 20.0, 0.0], 3.0)
    ordered = np.sort(placed)
    assert np.all(np.diff(ordered) >= 3.0 - 1e-9)
    assert list(np.argsort(placed, kind="stable")) == [4, 0, 1, 2, 3]  # the order of the wanted positions
    assert placed[3] == 20.0 and placed[4] == 0.0  # names with room stay where they were wanted
    top = figures.spread([9.0, 9.5, 10.0], 2.0, low=0.0, high=10.0)
    assert top.max() <= 10.0 and np.all(np.diff(np.sort(top)) >= 2.0 - 1e-9)
    with pytest.raises(ValueError, match="height"):
        figures.spread([1.0], -1.0)


def test_end_labels_of_seven_close_lines_do_not_overlap():
    """Seven losses ending within 1 % of each other: every name is legible, none overlaps another."""
    rows = [
        {"loss": name, "seed": 0, "epoch": epoch, "recall@1": 0.7 + 0.001 * k + 0.01 * epoch}
        for k, name in enumerate(figures.LOSS_NAMES)
        for epoch in range(5)
    ]
    fig = figures.curves_with_bands(pd.DataFrame(rows), "recall@1")
    named = boxes(fig, "end-label")
    assert sorted(name for name, _ in named) == sorted(figures.LOSS_LABELS.values())
    assert overlapping(named) == []
    fig = figures.plot_curves(pd.DataFrame(rows), [("recall@1", "R@1")])
    assert overlapping(boxes(fig, "end-label")) == []


@pytest.mark.parametrize(
    "draw",
    [
        lambda: figures.plot_tradeoff(_reference().summary_by_loss),
        lambda: figures.tradeoff_scatter(_reference().summary, seeds=True),
        lambda: figures.tradeoff_panels(results.load("digits").summary),
        lambda: figures.tradeoff_scatter(  # every loss at the same point: the names must still fan out
            fabricated_summary().assign(intra=0.3, **{"compaction_epoch": 12}), "compaction_epoch", "intra"
        ),
    ],
    ids=["R@1-intra", "compaction-intra", "panels (digits)", "all at one point"],
)
def test_trade_off_names_do_not_overlap_each_other_or_the_region_names(draw):
    fig = draw()
    named = boxes(fig, "point-label")
    assert len(named) == 7 * len([ax for ax in fig.axes if ax.get_visible()])
    regions = boxes(fig, "paper-granular-text") + boxes(fig, "paper-compacting-text")
    assert overlapping(named + regions) == []
    for ax in fig.axes:
        frame = ax.get_window_extent()
        for _, box in boxes(fig, "point-label"):
            if box.overlaps(frame):
                assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1  # inside the panel


# -------------------------------------------------------------------------- the paper's prediction drawn
def region(fig, group: str, ax=None):
    ax = ax or fig.axes[0]
    (patch,) = [patch for patch in ax.patches if patch.get_gid() == f"paper-{group}"]
    return patch


def test_the_predicted_region_is_drawn_where_the_paper_puts_each_group():
    """intra and the compaction epoch: the paper's granular losses (Triplet, SupCon) are slower and keep more
    variance (top right of the medians), its compacting ones (Contrastive, InfoNCE) bottom left."""
    summary = fabricated_summary()
    fig = figures.tradeoff_scatter(summary, "compaction_epoch", "intra")
    ax = fig.axes[0]
    points = figures.tradeoff_points(summary, "compaction_epoch", "intra")
    mx, my = points["x"].median(), points["y"].median()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    granular, compacting = region(fig, "granular"), region(fig, "compacting")
    np.testing.assert_allclose(granular.get_bbox().extents, [mx, my, x1, y1])
    np.testing.assert_allclose(compacting.get_bbox().extents, [x0, y0, mx, my])
    from matplotlib.text import Text

    texts = [text.get_text() for text in fig.findobj(Text) if str(text.get_gid()).startswith("paper-")]
    legend = [text.get_text() for legend in fig.legends for text in legend.get_texts()]
    assert "paper: Triplet, SupCon" in [t.replace("\n", " ") for t in texts + legend]
    assert "paper: Contrastive, InfoNCE" in [t.replace("\n", " ") for t in texts + legend]
    # the drawn points are the seeds' means, the error bars their standard deviation
    for _, row in points.iterrows():
        (line,) = [line for line in ax.lines if line.get_gid() == row["loss"]]
        runs = summary[summary["loss"] == row["loss"]]
        assert line.get_xdata()[0] == pytest.approx(runs["compaction_epoch"].mean())
        assert line.get_ydata()[0] == pytest.approx(runs["intra"].mean())
        assert row["y_sd"] == pytest.approx(runs["intra"].std(ddof=1))


def test_the_region_follows_the_claims_direction_and_needs_a_claim():
    assert figures.predicted_sides("intra") == 1 and figures.predicted_sides("recall@1") == 1
    assert figures.predicted_sides("effective_active_ratio") == -1  # "many small updates": Contrastive, InfoNCE
    assert figures.predicted_sides("train_spectral_decay") is None
    summary = fabricated_summary()
    # the compacting losses use more of their pairs: the granular region is left of the median, and up
    fig = figures.tradeoff_scatter(summary, "effective_active_ratio", "intra")
    (x0, _), (_, y1) = fig.axes[0].get_xlim(), fig.axes[0].get_ylim()
    median = figures.tradeoff_points(summary, "effective_active_ratio", "intra")["x"].median()
    np.testing.assert_allclose(region(fig, "granular").get_bbox().extents[[0, 2, 3]], [x0, median, y1])
    # one axis without a claim: the region is a band of the other axis
    fig = figures.tradeoff_scatter(summary, "train_spectral_decay", "intra")
    band = region(fig, "granular").get_bbox()
    np.testing.assert_allclose([band.x0, band.x1], fig.axes[0].get_xlim())
    # neither, or region=False: nothing is shaded
    for fig in (
        figures.tradeoff_scatter(summary.assign(other=summary["ratio"]), "train_spectral_decay", "other"),
        figures.tradeoff_scatter(summary, region=False),
    ):
        assert [patch for patch in fig.axes[0].patches if str(patch.get_gid()).startswith("paper-")] == []


def test_a_loss_that_does_not_compact_goes_to_the_never_strip():
    """A run whose intra does not fall has no compaction epoch (the claims' rule, DESIGN §3): a loss with no
    compacting run is drawn past the dashed line, at the tick "never"; its epochs count nowhere."""
    summary = fabricated_summary()
    summary.loc[summary["loss"] == "infonce", "intra_change"] = 0.05
    summary.loc[(summary["loss"] == "triplet") & (summary["seed"] == 0), "intra_change"] = 0.02
    points = figures.tradeoff_points(summary, "compaction_epoch", "intra").set_index("loss")
    assert np.isnan(points.loc["infonce", "x"]) and points.loc["infonce", "x_never"] == 3
    triplet = summary[(summary["loss"] == "triplet") & (summary["seed"] > 0)]["compaction_epoch"]
    assert points.loc["triplet", "x"] == pytest.approx(triplet.mean()) and points.loc["triplet", "x_never"] == 1
    fig = figures.tradeoff_scatter(summary)
    ax = fig.axes[0]
    (line,) = [line for line in ax.lines if line.get_gid() == "infonce"]
    labels = {tick.get_text(): x for tick, x in zip(ax.get_xticklabels(), ax.get_xticks())}
    assert line.get_xdata()[0] == pytest.approx(labels["never"]) and line.get_marker() == ">"


def test_the_trade_off_rejects_unknown_columns_by_name():
    with pytest.raises(ValueError, match="'speed'"):
        figures.tradeoff_scatter(fabricated_summary(), "speed", "intra")
    with pytest.raises(ValueError, match="pairs"):
        figures.tradeoff_panels(fabricated_summary(), pairs=[("intra",)])


# ------------------------------------------------------------------------------- issue 20's new studies
def test_transfer_scatter_draws_every_run_in_its_loss_colour_with_rho_in_the_title():
    from matplotlib.colors import to_hex

    summary = fabricated_summary()
    fig = figures.transfer_scatter(summary, -0.52, (-0.86, 0.1))
    ax = fig.axes[0]
    for loss in figures.LOSS_NAMES:
        (dots,) = [c for c in ax.collections if c.get_gid() == loss]
        runs = summary[summary["loss"] == loss]
        np.testing.assert_allclose(dots.get_offsets(), runs[["train_spectral_decay", "recall@1"]].to_numpy())
        assert {to_hex(c) for c in dots.get_facecolors()} == {figures.loss_color(loss)}
    title = ax.get_title()
    assert "ρ = −0.52" in title and "−0.86 to 0.10" in title and "Roth et al.: negative" in title
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert legend == list(figures.LOSS_LABELS.values())
    assert "not measured" in figures.transfer_scatter(summary, np.nan, None).axes[0].get_title()
    with pytest.raises(ValueError, match="'train_pi'"):
        figures.transfer_scatter(summary, 0.1, (0, 0.2), measure="train_pi")


def test_protocol_slopes_join_each_loss_across_the_protocols():
    summaries = {name: fabricated_summary(k, 0.1 * k) for k, name in enumerate(figures.PROTOCOL_ORDER)}
    summaries["coarse-to-fine"] = summaries["coarse-to-fine"][summaries["coarse-to-fine"]["loss"] != "ccl"]
    fig = figures.protocol_slopes(summaries)
    ax = fig.axes[0]
    assert [tick.get_text() for tick in ax.get_xticklabels()] == list(figures.PROTOCOL_ORDER)
    for loss in ("triplet", "ccl"):
        (line,) = [line for line in ax.lines if line.get_gid() == loss]
        expected = [
            s[s["loss"] == loss]["recall@1"].mean() if loss in set(s["loss"]) else np.nan for s in summaries.values()
        ]
        np.testing.assert_allclose(line.get_ydata(), expected)
    named = boxes(fig, "end-label")
    assert len(named) == 7 and overlapping(named) == []
    # every name starts right of every line's last point (the dodge must not put a point under a name)
    loss_lines = [line for line in ax.lines if line.get_gid() in figures.LOSS_LABELS]
    rightmost = max(
        np.asarray(line.get_xdata(), float)[np.isfinite(np.asarray(line.get_ydata(), float))].max()
        for line in loss_lines
    )
    labels = [text for text in ax.texts if text.get_gid() == "end-label"]
    assert labels and all(text.xy[0] >= rightmost - 1e-12 for text in labels)
    with pytest.raises(ValueError, match="non-empty"):
        figures.protocol_slopes({})


def test_temperature_sweep_draws_the_mean_over_seeds_at_each_tau():
    summary = tau_summary()
    fig = figures.temperature_sweep(summary)
    ratio, recall = fig.axes[:2]
    assert ratio.get_title() == "intra / inter" and ratio.get_xscale() == "log"
    for loss in ("infonce", "supcon"):
        (line,) = [line for line in ratio.lines if line.get_gid() == loss]
        runs = summary[summary["loss"] == loss].assign(tau=lambda f: f["setting"].str[4:].astype(float))
        means = runs.groupby("tau")["ratio"].mean()
        np.testing.assert_allclose(line.get_xdata(), means.index)
        np.testing.assert_allclose(line.get_ydata(), means.to_numpy())
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["InfoNCE", "SupCon"]
    assert figures.tau_of("τ=0.07") == 0.07 and figures.tau_of(" temperature = 1e-1 ") == 0.1
    with pytest.raises(ValueError, match="'default'"):
        figures.temperature_sweep(summary.assign(setting="default"))
    with pytest.raises(ValueError, match="'npair'"):
        figures.temperature_sweep(summary, losses=("npair",))


# ------------------------------------------------------------------------------------ names and colours
def test_class_names_appear_where_classes_are_shown(monkeypatch):
    points, labels = _points()
    legend = figures.projection_figure(points, labels, class_names=CLASSES).axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == list(CLASSES)
    fig = figures.projection_panels(_runs(), class_names=CLASSES)
    assert [text.get_text() for text in fig.legends[0].get_texts()] == list(CLASSES)
    (frame,) = _scrubber_frames(monkeypatch)
    assert [text.get_text() for text in frame.axes[0].get_legend().get_texts()] == list(CLASSES)
    # no names: the labels themselves; labels a name list cannot index: an error that says so
    legend = figures.projection_figure(points, labels).axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == [str(k) for k in range(10)]
    with pytest.raises(ValueError, match="class_names has 3 names"):
        figures.projection_figure(points, labels, class_names=CLASSES[:3])


def test_the_scrubber_names_a_runs_classes_by_its_protocol():
    from types import SimpleNamespace

    from vgteach.training import chapter_config
    from vgteach.widgets.scrubber import run_class_names

    config = chapter_config("smoke", "triplet", dataset="cifar10-features", protocol="zero-shot")
    assert run_class_names(SimpleNamespace(config=config)) == tuple(config.protocol_split().eval_classes)
    assert run_class_names(SimpleNamespace(config=config))[0] == "dog"  # zero-shot scores dog … truck
    assert run_class_names({0: np.zeros((2, 2))}) is None


def test_the_new_figures_keep_the_loss_palette():
    from matplotlib.colors import to_hex

    slopes = figures.protocol_slopes({name: fabricated_summary() for name in figures.PROTOCOL_ORDER})
    sweep = figures.temperature_sweep(tau_summary())
    for fig in (slopes, sweep):
        lines = [line for ax in fig.axes for line in ax.lines if line.get_gid() in figures.LOSS_COLORS]
        assert lines and all(to_hex(line.get_color()) == figures.loss_color(line.get_gid()) for line in lines)
    named = {text.get_text(): to_hex(text.get_color()) for text in end_texts(slopes)}
    assert named == {figures.loss_label(name): colour for name, colour in figures.LOSS_COLORS.items()}
    # the diagnose report's bars are statistics, not losses: none takes a loss's colour
    fig = figures.greediness_figure({name: {"active_ratio": 0.5, "grad_gini": 0.4} for name in ("triplet", "ccl")})
    bars = {to_hex(patch.get_facecolor()) for patch in fig.axes[0].patches}
    assert bars and not bars & set(figures.LOSS_COLORS.values())


def test_one_name_and_one_colour_per_loss_for_the_whole_package():
    from vgteach.results import LOSS_LABELS

    assert LOSS_LABELS is figures.LOSS_LABELS  # results re-exports the figures' mapping
    assert tuple(figures.LOSS_LABELS) == tuple(figures.LOSS_NAMES) == tuple(figures.LOSS_COLORS)
    assert figures.loss_label("my-own-loss") == "my-own-loss"


def test_the_dashboards_final_values_table_is_not_smaller_than_nine_points():
    """The table under each dashboard frame is HTML, at the caption's size but never under 12 CSS px (9 pt)."""
    pytest.importorskip("ipywidgets")
    import re

    from vgteach.widgets.dashboard import DASHBOARD_METRICS, final_values_table, histories_by_loss

    history = _one_run().assign(loss="triplet")
    table = final_values_table(histories_by_loss(history, DASHBOARD_METRICS), DASHBOARD_METRICS, "all")
    sizes = re.findall(r"font-size:\s*([^;\"]+)", table)
    assert sizes, "the table sets no font size: it inherits the caption's 0.9 em"
    for size in sizes:
        floors = [float(px) for px in re.findall(r"(\d+(?:\.\d+)?)px", size)]
        assert size.startswith("max(") and floors and max(floors) * 72 / 96 >= figures.style.MIN_DISPLAYED_PT, size
