"""Widgets: frames and browser-side links exist, live callbacks redraw, the state embeds, forces are right."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

widgets = pytest.importorskip("ipywidgets")

from ipywidgets.widgets.widget_link import DirectionalLink, Link  # noqa: E402

from vgteach.landscape import CircleScene, default_hparams, forces, make_loss  # noqa: E402
from vgteach.losses import build_loss  # noqa: E402
from vgteach.widgets import (  # noqa: E402
    _frames,  # noqa: E402
    greediness_dashboard,
    loss_landscape,
    training_scrubber,
)
from vgteach.widgets.scrubber import pick_epochs  # noqa: E402

LINK_TYPES = (Link, DirectionalLink)


def caption(frame) -> str:
    return re.search(r"<figcaption[^>]*>(.*)</figcaption>", frame.value).group(1)


def png_uri(frame) -> str:
    return re.search(r'src="(data:image/png;base64,[^"]+)"', frame.value).group(1)


def linked(links, source, source_attr, target, target_attr) -> bool:
    return any(link.source == (source, source_attr) and link.target == (target, target_attr) for link in links)


# --------------------------------------------------------------------------------------------- landscape
@pytest.fixture(scope="module")
def landscape():
    return loss_landscape(("triplet", "infonce"), negative_degrees=(30, 120))


def test_landscape_has_one_frame_per_loss_and_angle(landscape):
    assert len(landscape.frames) == 4
    assert all(png_uri(frame) for frame in landscape.frames)
    assert len({png_uri(frame) for frame in landscape.frames}) == 4  # four different pictures
    assert "<b>triplet</b>" in caption(landscape.frames[0]) and "n₁ at 30°" in caption(landscape.frames[0])
    assert "<b>infonce</b>" in caption(landscape.frames[3]) and "n₁ at 120°" in caption(landscape.frames[3])


def test_landscape_switches_frames_through_browser_links(landscape):
    assert all(isinstance(link, LINK_TYPES) for link in landscape.links)
    controls = landscape.controls
    outer = landscape.children[3]
    assert [len(inner.children) for inner in outer.children] == [2, 2]
    assert linked(landscape.links, controls["loss"], "index", outer, "selected_index")
    for inner in outer.children:
        assert linked(landscape.links, controls["negative"], "index", inner, "selected_index")
    assert linked(landscape.links, controls["play"], "value", controls["negative"], "index")
    assert controls["play"].max == len(controls["negative"].options) - 1


def finite_difference_forces(loss_fn, scene, step=1e-3):
    points = scene.points().double()
    labels = scene.labels()
    loss_fn = loss_fn.double()
    reference = np.zeros(points.shape)
    for i in range(points.shape[0]):
        for j in range(points.shape[1]):
            plus, minus = points.clone(), points.clone()
            plus[i, j] += step
            minus[i, j] -= step
            with torch.no_grad():
                reference[i, j] = -(float(loss_fn(plus, labels)) - float(loss_fn(minus, labels))) / (2 * step)
    return reference


@pytest.mark.parametrize("name", ["contrastive", "triplet", "npair", "infonce", "arcface", "supcon", "ccl"])
def test_forces_are_minus_the_gradient(name):
    scene = CircleScene(positive=40.0, negative=75.0)
    loss_fn = make_loss(name, default_hparams(name), scene)
    result = forces(loss_fn, scene)
    reference = finite_difference_forces(loss_fn, scene)
    np.testing.assert_allclose(result.forces, reference, rtol=1e-3, atol=1e-4 * max(1.0, np.abs(reference).max()))
    assert result.loss == pytest.approx(float(loss_fn(scene.points(), scene.labels()).detach()), rel=1e-6)
    # the losses normalise inside: on the circle the force has no radial part
    radial = (result.forces * scene.points().numpy()).sum(axis=1)
    np.testing.assert_allclose(radial, 0.0, atol=1e-5 * max(1.0, np.abs(result.forces).max()))


def test_proxy_losses_use_the_scene_proxies():
    scene = CircleScene(proxies=(10.0, 190.0))
    loss_fn = make_loss("arcface", default_hparams("arcface"), scene)
    np.testing.assert_allclose(loss_fn.weight.detach().numpy(), scene.proxy_points().numpy())


def test_default_hparams_follow_the_losses():
    assert default_hparams("triplet") == {"margin": 0.2}
    assert default_hparams("arcface") == {"margin": 0.5, "scale": 64.0}
    assert default_hparams("infonce") == {"temperature": 0.1}


def test_live_margin_slider_redraws_the_selected_loss():
    explorer = loss_landscape(("triplet", "infonce"), negative_degrees=(40, 60))
    controls = explorer.controls
    triplet_frames, infonce_frames = explorer.frames[:2], explorer.frames[2:]
    before_triplet = [frame.value for frame in triplet_frames]
    before_infonce = [frame.value for frame in infonce_frames]
    assert controls["margin"].value == pytest.approx(0.2) and not controls["margin"].disabled
    assert controls["temperature"].disabled

    controls["margin"].value = 0.8
    assert "margin = 0.8" in caption(triplet_frames[0])
    assert [frame.value for frame in triplet_frames] != before_triplet
    assert [frame.value for frame in infonce_frames] == before_infonce
    # the frame's loss (its image's alt text, the "All the numbers" note) is the loss at the new margin
    scene = CircleScene(positive=40.0, negative=40.0)  # the first frame
    expected = float(build_loss("triplet", margin=0.8)(scene.points(), scene.labels()))
    alt = float(re.search(r'alt="[^"]*: loss ([-0-9.e]+)\.', triplet_frames[0].value).group(1))
    assert alt == pytest.approx(expected, rel=5e-3)  # three significant digits
    note = explorer.model.numbers.value
    assert "(margin = 0.8)" in note and "(temperature = 0.1)" in note
    assert float(re.search(r"<td>40°</td><td>([^<]+)</td>", note).group(1)) == pytest.approx(expected, rel=5e-3)

    controls["loss"].index = 1  # switch to InfoNCE
    assert controls["margin"].disabled and not controls["temperature"].disabled
    assert controls["temperature"].value == pytest.approx(0.1)
    controls["temperature"].value = 0.5
    assert "temperature = 0.5" in caption(infonce_frames[0])
    assert "margin = 0.8" in caption(triplet_frames[0])  # the other loss keeps its value


def test_live_positive_slider_redraws_lazily():
    explorer = loss_landscape(("contrastive", "supcon"), negative_degrees=(90,))
    controls = explorer.controls
    contrastive_before, supcon_before = explorer.frames[0].value, explorer.frames[1].value
    controls["positive"].value = 120
    assert explorer.frames[0].value != contrastive_before and "n₁ at 90°" in caption(explorer.frames[0])
    assert explorer.frames[1].value == supcon_before  # not redrawn until shown
    controls["loss"].index = 1
    assert explorer.frames[1].value != supcon_before


def test_landscape_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown loss"):
        loss_landscape(("tripplet",))
    with pytest.raises(ValueError, match="empty"):
        loss_landscape(())
    with pytest.raises(ValueError, match="negative_degrees"):
        loss_landscape(("triplet",), negative_degrees=())
    with pytest.raises(ValueError, match="no tunable"):
        loss_landscape(("triplet",), negative_degrees=(90,), hparams={"triplet": {"temperature": 0.1}})
    with pytest.raises(ValueError, match="two angles"):
        loss_landscape(("arcface",), negative_degrees=(90,), proxy_degrees=(0.0,))
    with pytest.raises(ValueError, match="not among loss_names"):
        loss_landscape(("triplet",), negative_degrees=(90,), hparams={"infonce": {"temperature": 0.1}})


# ---------------------------------------------------------------------------------------------- scrubber
def blob_embeddings(epochs=4, n_per_class=10, classes=3, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), n_per_class)
    centers = rng.normal(size=(classes, dim))
    return {
        epoch: (epoch * centers[labels] + rng.normal(size=(len(labels), dim))).astype(np.float32)
        for epoch in range(1, epochs + 1)
    }, labels


def test_scrubber_one_frame_per_epoch_with_play_and_slider():
    embeddings, labels = blob_embeddings()
    scrubber = training_scrubber(embeddings, labels, title="toy")
    assert scrubber.epochs == [1, 2, 3, 4]
    assert len(scrubber.frames) == 4 and len({png_uri(frame) for frame in scrubber.frames}) == 4
    stack = scrubber.children[2]
    assert linked(scrubber.links, scrubber.controls["epoch"], "index", stack, "selected_index")
    assert linked(scrubber.links, scrubber.controls["play"], "value", scrubber.controls["epoch"], "index")
    assert "PCA of the final epoch" in caption(scrubber.frames[0])


def test_scrubber_reads_a_train_result_and_quotes_its_history():
    embeddings, labels = blob_embeddings(epochs=3, dim=2)
    history = pd.DataFrame({"epoch": [1, 2, 3], "recall@1": [0.25, 0.5, 0.75], "intra": [0.3, 0.2, 0.1]})
    result = SimpleNamespace(
        embeddings={e: torch.as_tensor(v) for e, v in embeddings.items()},
        eval_labels=torch.as_tensor(labels),
        history=history,
    )
    scrubber = training_scrubber(result)
    assert "R@1 0.5" in caption(scrubber.frames[1]) and "intra 0.2" in caption(scrubber.frames[1])
    assert "unit circle" in caption(scrubber.frames[0])


def test_scrubber_subsamples_epochs_keeping_first_and_last():
    assert pick_epochs(list(range(1, 101)), 5) == [1, 26, 51, 75, 100]
    assert pick_epochs([3, 7], 20) == [3, 7]
    embeddings, labels = blob_embeddings(epochs=12, dim=2)
    scrubber = training_scrubber(embeddings, labels, max_frames=4)
    assert scrubber.epochs[0] == 1 and scrubber.epochs[-1] == 12 and len(scrubber.frames) == 4


def test_scrubber_rejects_bad_input():
    embeddings, labels = blob_embeddings(epochs=2)
    with pytest.raises(ValueError, match="keep_embeddings"):
        training_scrubber(SimpleNamespace(embeddings=None, eval_labels=labels))
    with pytest.raises(ValueError, match="empty"):
        training_scrubber({}, labels)
    with pytest.raises(ValueError, match="labels are required"):
        training_scrubber(embeddings)
    with pytest.raises(ValueError, match="length"):
        training_scrubber(embeddings, labels[:-1])
    with pytest.raises(TypeError, match="TrainResult"):
        training_scrubber([1, 2, 3], labels)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        training_scrubber({1: np.ones((len(labels), 1), np.float32)}, labels)


# --------------------------------------------------------------------------------------------- dashboard
def toy_history(loss_scale: float, epochs: int = 4, seed: int = 0) -> pd.DataFrame:
    epoch = np.arange(1, epochs + 1)
    return pd.DataFrame(
        {
            "epoch": epoch,
            "seed": seed,
            "active_ratio": 1 / (loss_scale * epoch),
            "grad_norm_mean": 0.1 * epoch,
            "grad_gini": 0.5 / epoch,
            "recall@1": 0.2 * epoch,
        }
    )


def test_dashboard_frames_all_then_one_per_loss():
    dashboard = greediness_dashboard({"contrastive": toy_history(1.0), "triplet": toy_history(2.0)})
    toggle = dashboard.controls["highlight"]
    assert [value for _, value in toggle.options] == ["all", "contrastive", "triplet"]
    assert [label for label, _ in toggle.options] == ["all", "Contrastive", "Triplet"]  # the book's names
    assert len(dashboard.frames) == 3
    assert linked(dashboard.links, toggle, "index", dashboard.children[2], "selected_index")
    all_caption = caption(dashboard.frames[0])
    assert "<b>Contrastive</b>" in all_caption and "<b>Triplet</b>" in all_caption  # the book's names
    assert "Contrastive" not in caption(dashboard.frames[2])


def test_dashboard_accepts_a_loss_name_column_next_to_loss_values():
    history = pd.concat(
        [toy_history(1.0).assign(loss_name="triplet", loss=0.3), toy_history(2.0).assign(loss_name="ccl", loss=0.2)]
    )
    options = greediness_dashboard(history).controls["highlight"].options
    assert [value for _, value in options] == ["all", "triplet", "ccl"]


def test_dashboard_long_format_averages_seeds():
    history = pd.concat(
        [
            toy_history(1.0, seed=0).assign(loss="supcon", grad_gini=0.2),
            toy_history(1.0, seed=1).assign(loss="supcon", grad_gini=0.4),
            toy_history(3.0).assign(loss="npair"),
        ]
    )
    dashboard = greediness_dashboard(history)
    assert [value for _, value in dashboard.controls["highlight"].options] == ["all", "supcon", "npair"]
    row = re.search(r"<b>SupCon</b></td>(.*?)</tr>", caption(dashboard.frames[1])).group(1)
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[0] == "4" and float(cells[3]) == pytest.approx(0.3)  # epoch, then the mean Gini


def test_dashboard_rejects_bad_input():
    with pytest.raises(ValueError, match="column naming the loss"):
        greediness_dashboard(toy_history(1.0))
    with pytest.raises(ValueError, match="column naming the loss"):  # loss values, not names
        greediness_dashboard(toy_history(1.0).assign(loss=0.5))
    with pytest.raises(ValueError, match="grad_gini"):
        greediness_dashboard({"triplet": toy_history(1.0).drop(columns="grad_gini")})
    with pytest.raises(ValueError, match="empty"):
        greediness_dashboard({})
    with pytest.raises(TypeError, match="DataFrame"):
        greediness_dashboard({"triplet": [1, 2]})


# ---------------------------------------------------------------------------------- static HTML & fallback
def test_embedded_state_holds_every_view_and_frame(tmp_path, landscape):
    from ipywidgets.embed import embed_minimal_html

    dashboard = greediness_dashboard({"triplet": toy_history(1.0)})
    path = tmp_path / "widgets.html"
    embed_minimal_html(str(path), views=[landscape, dashboard], title="vgteach widgets")
    page = path.read_text(encoding="utf-8")
    state_json = re.search(
        r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', page, re.S
    ).group(1)
    state = json.loads(state_json)["state"]
    for view in (landscape, dashboard):
        assert view.model_id in state
        assert f'"model_id": "{view.model_id}"' in page  # a view tag for each widget
    for frame in [*landscape.frames, *dashboard.frames]:
        assert state[frame.model_id]["state"]["value"].startswith('<figure class="vgteach-frame"')
    link_models = [model for model in state.values() if model["model_name"] in ("LinkModel", "DirectionalLinkModel")]
    assert len(link_models) >= len(landscape.links) + len(dashboard.links)


def test_ipywidgets7_fallback_switches_frames_in_python(monkeypatch):
    monkeypatch.setattr(_frames, "HAS_STACK", False)
    frames = [widgets.HTML(str(i)) for i in range(3)]
    stack = _frames.frame_stack(frames)
    slider = widgets.IntSlider(min=0, max=2)
    assert _frames.link_index(slider, "value", stack) is None
    assert [frame.layout.display for frame in frames] == [None, "none", "none"]
    slider.value = 2
    assert [frame.layout.display for frame in frames] == ["none", "none", None]


def test_dashboard_highlight_shows_that_loss_first():
    dashboard = greediness_dashboard(
        {"contrastive": toy_history(1.0), "triplet": toy_history(2.0)}, highlight="triplet"
    )
    toggle, stack = dashboard.controls["highlight"], dashboard.children[2]
    assert toggle.value == "triplet" and toggle.index == 2
    assert stack.selected_index == 2  # the static page opens on the same frame
    assert "<b>Triplet</b>" in caption(dashboard.frames[2])
    with pytest.raises(ValueError, match="highlight 'npair'"):
        greediness_dashboard({"triplet": toy_history(1.0)}, highlight="npair")


def test_dashboard_joins_evaluated_epochs_and_marks_them():
    from vgteach.widgets.dashboard import DASHBOARD_METRICS, draw_dashboard, histories_by_loss

    history = toy_history(1.0, epochs=30)
    history.loc[~history["epoch"].isin([1, 5, 10, 20, 30]), "recall@1"] = np.nan  # evaluated epochs only
    fig = draw_dashboard(histories_by_loss({"triplet": history}, DASHBOARD_METRICS), DASHBOARD_METRICS, "all")
    panels = {ax.get_title(): ax for ax in fig.axes}
    (recall,) = panels["R@1"].lines
    assert list(recall.get_xdata()) == [1, 5, 10, 20, 30] and not np.isnan(recall.get_ydata()).any()
    assert recall.get_marker() == "o"
    (active,) = panels["active ratio"].lines
    assert len(active.get_xdata()) == 30


def test_widgets_share_the_figures_loss_palette_and_projection():
    """The dashboard colours each loss as every figure does; the scrubber draws vgteach.figures' projection,
    fitted once on the final epoch."""
    from matplotlib.colors import to_hex

    from vgteach.figures import LOSS_COLORS, fit_pca_2d, loss_color, pca_2d
    from vgteach.widgets.dashboard import DASHBOARD_METRICS, draw_dashboard, histories_by_loss
    from vgteach.widgets.scrubber import project

    tidy = histories_by_loss({"contrastive": toy_history(1.0), "triplet": toy_history(2.0)}, DASHBOARD_METRICS)
    drawn = {
        line.get_label(): to_hex(line.get_color())
        for line in draw_dashboard(tidy, DASHBOARD_METRICS, "all").axes[0].lines
    }
    assert drawn == {"contrastive": LOSS_COLORS["contrastive"], "triplet": LOSS_COLORS["triplet"]}
    assert _frames.loss_color is loss_color  # the name the landscape widget imports
    embeddings, _ = blob_embeddings()
    coordinates, axes = project({epoch: torch.as_tensor(value) for epoch, value in embeddings.items()})
    fit = fit_pca_2d(embeddings[4])
    for epoch, value in embeddings.items():
        np.testing.assert_allclose(coordinates[epoch], pca_2d(value, fit)[0], rtol=1e-6, atol=1e-6)
    assert axes == f"PCA of the final epoch ({100 * pca_2d(embeddings[4])[1]:.0f}% of its variance)"


# ------------------------------------------------------------------------------------ chapter helpers
from vgteach import results  # noqa: E402
from vgteach.figures import HISTORY_PANELS, MARKER_POINTS, plot_history  # noqa: E402
from vgteach.losses import LOSS_NAMES  # noqa: E402
from vgteach.widgets import SUMMARY_COLUMNS, eval_batch, reference_view, summary_table  # noqa: E402
from vgteach.widgets.chapter import styled  # noqa: E402


def run_history(epochs=60, evaluated=(0, 10, 20, 40, 60)) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    epoch = np.arange(epochs + 1)
    frame = pd.DataFrame({"epoch": epoch, **{column: rng.random(len(epoch)) for column, _ in HISTORY_PANELS}})
    for column in ("recall@1", "intra", "inter"):  # evaluation columns: NaN in between
        frame.loc[~frame["epoch"].isin(evaluated), column] = np.nan
    return frame


def test_plot_history_draws_each_panel_on_the_given_axes():
    from matplotlib.figure import Figure

    history = run_history()
    axes = Figure().subplots(2, 3).ravel()
    fig = plot_history(history, axes=axes)
    assert fig is axes[0].figure
    for ax, (column, title) in zip(axes, HISTORY_PANELS):
        (line,) = ax.lines
        assert ax.get_title() == title
        kept = history.dropna(subset=[column])
        np.testing.assert_array_equal(line.get_xdata(), kept["epoch"])
        np.testing.assert_allclose(line.get_ydata(), kept[column])
        # evaluation columns: measured epochs marked; per-epoch columns of 61 points: a plain line
        assert line.get_marker() == ("o" if column in ("recall@1", "intra", "inter") else "None")
    assert len(history) > MARKER_POINTS


def test_plot_history_averages_seeds_and_makes_its_own_figure():
    history = pd.concat([run_history().assign(seed=0), run_history().assign(seed=1, grad_gini=0.25)])
    history.loc[history["seed"] == 0, "grad_gini"] = 0.75
    fig = plot_history(history, panels=[("grad_gini", "Gini")], title="two seeds")
    (ax,) = fig.axes
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 0.5)
    assert fig._suptitle.get_text() == "two seeds"


def test_plot_history_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\['intra'\]"):
        plot_history(run_history().drop(columns="intra"))
    with pytest.raises(TypeError, match="DataFrame"):
        plot_history({"epoch": [0]})
    with pytest.raises(ValueError, match="empty"):
        plot_history(run_history(), panels=[])
    from matplotlib.figure import Figure

    with pytest.raises(ValueError, match="6 panels need as many axes"):
        plot_history(run_history(), axes=Figure().subplots(1, 2))


def per_seed_summary() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = [
        {
            "loss": loss,
            "seed": seed,
            "recall@1": rng.random(),
            "intra": rng.random(),
            "map_convergence_epoch": float(rng.integers(1, 30)),
        }
        for loss in ("triplet", "contrastive")
        for seed in range(3)
    ]
    return pd.DataFrame(rows)


def test_summary_table_means_and_spread_over_seeds():
    summary = per_seed_summary()
    table = summary_table(summary, significant=None)
    assert list(table.index) == ["contrastive", "triplet"]  # LOSS_NAMES order
    assert list(table.columns) == ["R@1", "intra", "MAP@R conv. epoch"]  # only the columns present
    for loss in ("contrastive", "triplet"):
        values = [row["recall@1"] for _, row in summary.iterrows() if row["loss"] == loss]
        mean = sum(values) / len(values)
        std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
        assert table.loc[loss, "R@1"] == pytest.approx(round(mean, 3))
        assert summary_table(summary, spread=True, significant=None).loc[loss, "R@1"] == f"{mean:.3f} ± {std:.3f}"
        assert summary_table(summary, spread=True).loc[loss, "R@1"] == results.mean_sd(mean, std)


def test_summary_table_of_one_run_and_of_a_study_by_loss():
    run = {"recall@1": 0.71234, "map@r": 0.7, "intra": 0.25, "compaction_epoch": 3}
    table = summary_table(run, name="triplet")
    assert table.loc["triplet", "R@1"] == "0.712" and "MAP@R" in table and len(table.columns) == 3
    assert table.loc["triplet", "MAP@R"] == "0.700"  # three significant digits, as the book writes them
    # one header row: the index has no name of its own (it would sit on a row of its own)
    assert table.index.name is None and table.to_html().count("<tr") == 2
    reference = results.load("cifar10")
    by_loss = summary_table(reference.summary_by_loss, spread=True)
    assert list(by_loss.index) == list(LOSS_NAMES)
    assert len(by_loss.columns) <= len(SUMMARY_COLUMNS)
    # summary_by_loss's <column>_std is what the per-seed rows give
    assert by_loss.loc["triplet", "R@1"] == summary_table(reference.summary, spread=True).loc["triplet", "R@1"]


def test_summary_table_at_significant_digits_is_one_compact_cell():
    reference = results.load("cifar10")
    table = summary_table(reference.summary_by_loss, columns=[("intra", "intra")], spread=True, significant=3)
    row = reference.summary_by_loss.set_index("loss").loc["contrastive"]
    assert table.loc["contrastive", "intra"] == results.mean_sd(row["intra"], row["intra_std"])
    means = summary_table(reference.summary_by_loss, columns=[("intra", "intra")], significant=3)
    assert means.loc["contrastive", "intra"] == results.mean_sd(row["intra"])
    view = reference_view(highlight="triplet", columns=[("recall@1", "R@1"), ("intra", "intra")])
    assert list(view.table.columns) == ["R@1", "intra"] and " ± " in view.table.loc["triplet", "intra"]
    assert view.caption.startswith("**Reference runs (full CIFAR-10, paper settings, 3 seeds).**")


def test_summary_table_takes_bare_column_names():
    reference = results.load("cifar10")
    named = summary_table(reference.summary_by_loss, columns=["recall@1", "intra", "nmi"], significant=3)
    paired = summary_table(
        reference.summary_by_loss, columns=[("recall@1", "R@1"), ("intra", "intra"), ("nmi", "nmi")], significant=3
    )
    pd.testing.assert_frame_equal(named, paired)


def test_recipe_and_title_name_the_live_run():
    from vgteach.training import chapter_config
    from vgteach.widgets import live_run_title, recipe

    book = chapter_config("book", "triplet")
    assert live_run_title(book) == "Live run (shipped features)"
    assert live_run_title(chapter_config("smoke", "triplet")) == "Live run (digits)"
    text = recipe(book)
    assert text.startswith("shipped features") and len(text) <= 77  # one line of the code column
    for shown in (f"lr {book.lr:g}", f"batch {book.batch_size}", f"{book.epochs} epochs", f"seed {book.seed}"):
        assert shown in text


def test_summary_table_rejects_bad_input():
    with pytest.raises(ValueError, match="name is required"):
        summary_table({"recall@1": 0.5})
    with pytest.raises(ValueError, match="'loss' column"):
        summary_table(pd.DataFrame({"recall@1": [0.5]}))
    with pytest.raises(ValueError, match="none of the columns"):
        summary_table({"speed": 1.0}, name="x")
    with pytest.raises(TypeError, match="dict or a pandas DataFrame"):
        summary_table([0.5], name="x")


def test_reference_view_highlights_the_loss_in_table_and_dashboard():
    view = reference_view(highlight="supcon")
    reference = results.load("cifar10")
    assert list(view.table.index) == list(LOSS_NAMES) and view.highlight == "supcon"
    assert view.dashboard.controls["highlight"].value == "supcon"
    assert reference.name in view.caption and "seeds 0, 1, 2" in view.caption
    expected = reference.summary_by_loss.set_index("loss").loc["supcon", "recall@1"]
    assert float(view.table.loc["supcon", "R@1"].split(" ± ")[0]) == pytest.approx(expected, abs=5e-4)
    assert "font-weight: bold" in styled(view.table, "supcon").to_html()
    assert "font-weight: bold" not in styled(view.table, None).to_html()
    css = re.sub(r"\s+", " ", styled(view.table, None).to_html())
    assert re.search(r"th.col_heading \{ padding: 0.1em 0.45em", css), "headings need room, or neighbours read as one"
    with pytest.raises(ValueError, match="not a loss of the reference study"):
        reference_view(highlight="tripplet")


def test_eval_batch_takes_the_same_class_balanced_samples_at_every_epoch():
    labels = np.array([2, 0, 1, 0, 2, 2, 1, 0, 0, 1, 2])
    embeddings = {epoch: np.arange(len(labels) * 3, dtype=np.float64).reshape(-1, 3) + epoch for epoch in (0, 5)}
    result = SimpleNamespace(embeddings=embeddings, eval_labels=labels)
    z, y = eval_batch(result, per_class=2)
    expected = [1, 3, 2, 6, 0, 4]  # the first two of classes 0, 1, 2
    assert y.tolist() == labels[expected].tolist() and z.dtype == torch.float32
    np.testing.assert_array_equal(z.numpy(), embeddings[5][expected])  # default: the last epoch
    np.testing.assert_array_equal(eval_batch(result, 0, per_class=2)[0].numpy(), embeddings[0][expected])
    with pytest.raises(ValueError, match="epoch 3 was not evaluated"):
        eval_batch(result, 3)
    with pytest.raises(ValueError, match="positive integer"):
        eval_batch(result, per_class=0)
    with pytest.raises(ValueError, match="keep_embeddings"):
        eval_batch(SimpleNamespace(embeddings={}, eval_labels=labels))


def test_dashboard_caption_quotes_the_last_measured_value_not_nan():
    history = toy_history(1.0, epochs=12)
    history.loc[~history["epoch"].isin([1, 5, 10]), "recall@1"] = np.nan  # not evaluated at the last epoch
    dashboard = greediness_dashboard({"triplet": history, "ccl": toy_history(2.0, epochs=12)}, highlight="triplet")
    text = caption(dashboard.frames[1])
    assert "nan" not in text.lower()
    assert f"{0.2 * 10:.3g} (epoch 10)" in text  # R@1 of epoch 10, the last one measured
    assert f"<td>{0.1 * 12:.3g}</td>" in text  # measured every epoch: the last epoch's value, no note
    never = toy_history(1.0).assign(**{"recall@1": np.nan})
    assert "<td>–</td>" in caption(greediness_dashboard({"triplet": never}).frames[0])
