r"""The loss-landscape explorer: five points on the unit circle and the force each loss puts on them, drawn.

The explorer sweeps the angle of the negative ``n₁`` and draws, for each point, the arrow −∂L/∂e_i that
:mod:`vgteach.landscape.physics` computes (autograd through :mod:`vgteach.losses`); ArcFace and CCL act
through class proxies (squares) that stay fixed here. Under each frame a caption of one or two sentences
(:func:`~vgteach.landscape.statements.frame_story`), and under the frames a collapsed "All the numbers" note
(:func:`numbers_note`: the sweep point by point and pair by pair, and every force in a table), are written
from the same numbers as the arrows, so what they say about an arrow is what the frames show.

This module only draws (:func:`draw_frame`) and assembles the widget (:func:`loss_landscape`); the physics
and the sentences are re-exported here for the callers that import them from this module.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import math
import re
from typing import Mapping, Optional, Sequence

import numpy as np

from ..figures import FIGURE_WIDTH, FONT_SIZE, loss_label
from ..landscape.physics import (
    ARROW_FLOOR,
    DEFAULT_NEGATIVE_DEGREES,
    POINT_LABELS,
    POINT_NAMES,
    SWEPT,
    TUNABLE,
    CircleScene,
    Forces,
    PairForce,
    Sweep,
    acting_pairs,
    default_hparams,
    forces,
    make_loss,
    split_forces,
    sweep,
    tangent,
    validate_degrees,
)
from ..landscape.statements import (
    Statement,
    describe_hparams,
    fmt,
    frame_facts,
    frame_story,
    landscape_summary,
    sweep_statements,
)
from ..losses import LOSS_NAMES, LOSSES
from ._frames import (
    FrameExplorer,
    frame_figure,
    frame_html,
    frame_stack,
    intro,
    link_index,
    loss_color,
    player,
    widgets,
)

__all__ = [
    # this module: drawing and the widget
    "LossLandscape",
    "draw_frame",
    "explorer_view",
    "loss_landscape",
    "numbers_note",
    # re-exported from vgteach.landscape (physics, statements)
    "ARROW_FLOOR",
    "DEFAULT_NEGATIVE_DEGREES",
    "POINT_LABELS",
    "POINT_NAMES",
    "CircleScene",
    "Forces",
    "PairForce",
    "Statement",
    "Sweep",
    "acting_pairs",
    "default_hparams",
    "forces",
    "frame_facts",
    "frame_story",
    "landscape_summary",
    "make_loss",
    "split_forces",
    "sweep",
    "sweep_statements",
    "tangent",
]

POINT_MARKERS = ("o", "o", "o", "s", "s")
POINT_COLORS = ("#1f77b4", "#2ca02c", "#17becf", "#d62728", "#ff7f0e")
#: what the explorer says above its frames
INTRO = (
    "The anchor <b>a</b> and the positives <b>p</b>, <b>p₂</b> share a class; <b>n₁</b>, <b>n₂</b> "
    "are negatives (squares: the class proxies of ArcFace and CCL). Arrows show −∂L/∂e, where "
    "gradient descent moves each point (length ∝ √force). Move n₁ with the slider or press play, "
    "and switch losses. Under each frame, what that frame shows: who pushes <b>n₁</b> away and who "
    "pulls it in, what has just switched off, which points feel no force. Every force of every frame "
    "is in the folded note <i>All the numbers</i> below."
)


def draw_circle(ax, loss_name: str, scene: CircleScene, result: Forces, max_force: float) -> None:
    """The points on the circle with their force arrows (and ``result.proxies``: those of ArcFace/CCL).

    Arrow length is ``0.6 · sqrt(‖force‖ / max_force)``: one scale for all frames of a loss, so arrows
    visibly grow and vanish as n₁ moves, compressed so that a force ten times smaller still shows.
    """
    theta = np.linspace(0, 2 * np.pi, 181)
    ax.plot(np.cos(theta), np.sin(theta), color="0.8", lw=1)
    if result.proxies is not None:
        for label, proxy in enumerate(result.proxies):
            ax.scatter(
                *proxy, marker="s", s=70, facecolors="none", lw=1.5, edgecolors=POINT_COLORS[0 if label == 0 else SWEPT]
            )
            ax.annotate(f"class {label}", proxy * 1.33, ha="center", va="center", fontsize=FONT_SIZE)
    for point, force, name, marker, color in zip(
        scene.points().numpy(), result.forces, POINT_NAMES, POINT_MARKERS, POINT_COLORS
    ):
        ax.scatter(*point, marker=marker, s=45, color=color, zorder=3)
        ax.annotate(name, point * 0.78, ha="center", va="center", fontsize=FONT_SIZE + 1, color=color)
        norm = float(np.linalg.norm(force))
        if max_force > 0 and norm > ARROW_FLOOR * max_force:
            arrow = force / norm * 0.6 * math.sqrt(norm / max_force)
            ax.arrow(*point, *arrow, width=0.012, head_width=0.07, length_includes_head=True, color=color, zorder=4)
    ax.set(xlim=(-1.65, 1.65), ylim=(-1.65, 1.65), aspect="equal", xticks=[], yticks=[])
    ax.set_title(f"{loss_label(loss_name)}: arrows = −∂L/∂e", fontsize=FONT_SIZE)


def draw_curve(
    ax, loss_name: str, scene: CircleScene, result: Forces, sweep_degrees: np.ndarray, sweep_losses: np.ndarray
) -> None:
    """L as a function of n₁'s angle, with the current angle marked."""
    ax.plot(sweep_degrees, sweep_losses, color=loss_color(loss_name), lw=2)
    ax.axvline(scene.positive, color=POINT_COLORS[1], lw=1, ls="--")
    ax.annotate(
        "p",
        (scene.positive, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(2, -10),
        textcoords="offset points",
        color=POINT_COLORS[1],
        fontsize=FONT_SIZE,
    )
    ax.scatter([scene.negative], [result.loss], color=POINT_COLORS[SWEPT], zorder=3, s=40)
    ax.set_xlabel("angle of n₁ from a (degrees)", fontsize=FONT_SIZE)
    ax.set_ylabel("loss L", fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE)
    ax.set_title(f"L = {result.loss:.3g}, active terms {result.num_active}/{result.num_terms}", fontsize=FONT_SIZE)


def draw_frame(
    loss_name: str,
    hparams: Mapping[str, float],
    scene: CircleScene,
    result: Forces,
    sweep_degrees: np.ndarray,
    sweep_losses: np.ndarray,
    max_force: float,
    story: str = "",
) -> str:
    """One frame (HTML): the circle with the forces, the curve L(angle of n₁), and a caption: the loss, its
    hyper-parameters and n₁'s angle, then ``story``, what the frame shows in a sentence or two
    (:func:`~vgteach.landscape.statements.frame_story`; plain text, the point names set in bold)."""
    fig = frame_figure(FIGURE_WIDTH, 3.3)
    ax_circle, ax_curve = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1.15]})
    draw_circle(ax_circle, loss_name, scene, result, max_force)
    draw_curve(ax_curve, loss_name, scene, result, sweep_degrees, sweep_losses)
    header = f"{loss_name} ({describe_hparams(hparams)}), n₁ at {scene.negative:g}°"
    caption = f"<b>{html.escape(loss_name)}</b>{html.escape(header[len(loss_name) :])}"
    if story:
        caption += ": " + bold_points(html.escape(story, quote=False))
    alt = f"{header}: loss {result.loss:.3g}. {story}".strip()
    return frame_html(fig, caption, alt)


#: a point's name in running text (not inside a word: "a" but not "an", "p₂" before "p")
POINT_WORD = re.compile(r"(?<![\w-])(" + "|".join(sorted(POINT_NAMES, key=len, reverse=True)) + r")(?![\w-])")


def bold_points(text: str) -> str:
    """``text`` with the point names in bold, as the explorer's introduction writes them (a caption's
    sentence may start with one: "<b>a</b> feels no force")."""
    return POINT_WORD.sub(r"<b>\1</b>", text)


def numbers_note(sweeps: Mapping[str, Sweep]) -> str:
    """The collapsed "All the numbers" note under the frames (HTML): for each loss, what the sweep of n₁
    shows point by point and pair by pair (:func:`sweep_statements`) and a table of every frame's loss,
    active terms and force on each point."""
    sections = []
    for loss_name, result in sweeps.items():
        statements = sweep_statements(result)
        points = [s.text for s in statements if s.subject in POINT_NAMES]
        pairs = [s.text for s in statements if s.subject not in POINT_NAMES]
        items = "".join(f"<li>{html.escape(text)}</li>" for text in points + pairs)
        head = "".join(f"<th>{html.escape(text)}</th>" for text in ("n₁ at", "L", "active terms", *POINT_NAMES))
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(text)}</td>"
                for text in (
                    f"{angle:g}°",
                    f"{frame.loss:.3g}",
                    f"{frame.num_active} of {frame.num_terms}",
                    *(fmt(norm) for norm in frame.norms),
                )
            )
            + "</tr>"
            for angle, frame in zip(result.degrees, result.results)
        )
        sections.append(
            f"<p style='margin:0.8em 0 0.3em'><b>{html.escape(loss_name)}</b> "
            f"({html.escape(describe_hparams(result.hparams))}). Where each point has an arrow over the sweep "
            f"of n₁ (the range of its force where it has one), and where each pair of n₁ acts:</p>"
            f"<ul style='margin:0;padding-left:1.4em'>{items}</ul>"
            "<p style='margin:0.5em 0 0.2em'>Every frame: the loss L, the active terms and the force "
            "‖−∂L/∂e‖ on each point.</p>"
            f"<table><tr>{head}</tr>{rows}</table>"
        )
    return (
        '<details class="vgteach-numbers" style="max-width:48em;line-height:1.5;margin-top:0.4em">'
        f"<style>{NOTE_STYLE}</style><summary>All the numbers</summary>"
        f"<p style='margin:0.3em 0'>An arrow is drawn, and a point or a pair counts as acting, when its force "
        f"is above {ARROW_FLOOR:g} × the largest force of the loss's sweep.</p>" + "".join(sections) + "</details>"
    )


#: the tables of :func:`numbers_note`
NOTE_STYLE = (
    ".vgteach-numbers table{border-collapse:collapse;font-size:0.9em}"
    ".vgteach-numbers th,.vgteach-numbers td"
    "{padding:0.1em 0.6em;text-align:right;border-bottom:1px solid #ddd;white-space:nowrap}"
)


class LossLandscape:
    """Builds and (with a kernel) redraws the explorer's frames; :func:`loss_landscape` is the entry point."""

    def __init__(
        self,
        loss_names: Sequence[str],
        negative_degrees: Sequence[float],
        scene: CircleScene,
        hparams: Optional[Mapping[str, Mapping[str, float]]],
    ):
        self.loss_names = validate_loss_names(loss_names)
        self.negative_degrees = validate_degrees(negative_degrees)
        self.scene = scene
        self.hparams = {name: default_hparams(name) for name in self.loss_names}
        for name, overrides in (hparams or {}).items():
            if name not in self.hparams:
                raise ValueError(f"hparams given for {name!r}, which is not among loss_names {self.loss_names}")
            unknown = set(overrides) - set(self.hparams[name])
            if unknown:
                raise ValueError(f"{name} has no tunable {sorted(unknown)}; it takes {sorted(self.hparams[name])}")
            self.hparams[name].update({key: float(value) for key, value in overrides.items()})
        self.frames = {name: [widgets.HTML() for _ in self.negative_degrees] for name in self.loss_names}
        self.numbers = widgets.HTML()  # the collapsed "All the numbers" note (numbers_note)
        self.sweeps = {}  # loss name -> the Sweep its frames show
        self.stale = set()
        for name in self.loss_names:
            self.render_loss(name)

    def render_loss(self, loss_name: str) -> None:
        """Redraw every frame of ``loss_name`` for the current scene and hyper-parameters."""
        hparams = self.hparams[loss_name]
        loss_fn = make_loss(loss_name, hparams, self.scene)
        low, high = min(0.0, *self.negative_degrees), max(180.0, *self.negative_degrees)
        curve = np.linspace(low, high, int((high - low) / 2.5) + 1)
        curve_losses = np.array([forces(loss_fn, self._scene_at(angle)).loss for angle in curve])
        result = sweep(loss_name, self.scene, self.negative_degrees, hparams)
        self.sweeps[loss_name] = result
        for index, (frame, angle) in enumerate(zip(self.frames[loss_name], self.negative_degrees)):
            frame.value = draw_frame(
                loss_name,
                hparams,
                self._scene_at(angle),
                result.results[index],
                curve,
                curve_losses,
                result.max_force,
                frame_story(result, index),
            )
        self.numbers.value = numbers_note(self.sweeps)
        self.stale.discard(loss_name)

    def ensure_rendered(self, loss_name: str) -> None:
        """Redraw ``loss_name`` if a live control changed since it was last drawn."""
        if loss_name in self.stale:
            self.render_loss(loss_name)

    def _scene_at(self, negative: float) -> CircleScene:
        return dataclasses.replace(self.scene, negative=float(negative))


def validate_loss_names(loss_names) -> tuple:
    if isinstance(loss_names, str):
        loss_names = (loss_names,)
    loss_names = tuple(loss_names)
    if not loss_names:
        raise ValueError("loss_names is empty; give at least one of " + ", ".join(LOSS_NAMES))
    unknown = [name for name in loss_names if name not in LOSSES]
    if unknown:
        raise ValueError(f"unknown loss names {unknown}; valid names: {', '.join(LOSS_NAMES)}")
    if len(set(loss_names)) != len(loss_names):
        raise ValueError(f"loss_names has duplicates: {loss_names}")
    return loss_names


def loss_landscape(
    loss_names: Sequence[str] = LOSS_NAMES,
    negative_degrees: Sequence[float] = DEFAULT_NEGATIVE_DEGREES,
    positive_degrees: float = 40.0,
    second_positive_degrees: float = 300.0,
    second_negative_degrees: float = 220.0,
    proxy_degrees: tuple = (20.0, 200.0),
    hparams: Optional[Mapping[str, Mapping[str, float]]] = None,
) -> FrameExplorer:
    """Explore what each loss does to an anchor, two positives and two negatives on the unit circle.

    For every loss and every angle of the negative ``n₁`` a frame is precomputed: the five points with
    the descent directions −∂L/∂e_i (autograd through :mod:`vgteach.losses`), the loss value, the active
    terms, and the curve L(angle of n₁). A loss toggle and a play/slider switch frames in the browser
    (``jsdlink``), so the static book still shows the whole sweep. With a kernel, the "live controls"
    (margin, temperature, scale, angle of the positive) redraw the frames of the selected loss.

    Parameters
    ----------
    loss_names : sequence of str, default all seven
    negative_degrees : sequence of float
        The angles of ``n₁`` (from the anchor at 0°) that get a precomputed frame; keep it short, every
        frame is an image in the book's HTML (``len(loss_names) × len(negative_degrees)`` frames).
    positive_degrees, second_positive_degrees, second_negative_degrees : float
        Angles of ``p``, ``p₂`` and ``n₂`` (the anchor ``a`` is at 0°).
    proxy_degrees : (float, float)
        Angles of the class-0 and class-1 proxies used by ArcFace and CCL.
    hparams : dict, optional
        Per-loss overrides of the tunable hyper-parameters, e.g. ``{"triplet": {"margin": 0.5}}``;
        defaults are the losses' own (DESIGN.md §2).

    Returns
    -------
    FrameExplorer
        An ``ipywidgets.VBox``; ``.frames`` (all frames, loss-major), ``.links``, ``.controls``
        (``"loss"``, ``"negative"``, ``"play"``, ``"margin"``, ``"temperature"``, ``"scale"``,
        ``"positive"``) and ``.model`` (the :class:`LossLandscape` that draws the frames).
    """
    if len(tuple(proxy_degrees)) != 2:
        raise ValueError(f"proxy_degrees needs two angles (class 0, class 1), got {tuple(proxy_degrees)}")
    scene = CircleScene(
        positive=float(positive_degrees),
        second_positive=float(second_positive_degrees),
        second_negative=float(second_negative_degrees),
        proxies=tuple(float(angle) for angle in proxy_degrees),
    )
    return explorer_view(LossLandscape(loss_names, negative_degrees, scene, hparams))


def explorer_view(model: LossLandscape) -> FrameExplorer:
    """The widget around ``model``'s frames: a loss toggle and an n₁ player switching frames in the browser,
    and the live controls in a collapsed accordion (see :func:`loss_landscape`)."""
    loss_toggle = widgets.ToggleButtons(
        options=list(model.loss_names), index=0, description="loss", style={"button_width": "auto"}
    )
    angle_box, angle_slider, play_link = player([f"{angle:g}°" for angle in model.negative_degrees], "angle of n₁")
    inner = [frame_stack(model.frames[name]) for name in model.loss_names]
    outer = frame_stack(inner)
    links = [play_link, link_index(loss_toggle, "index", outer)]
    links += [link_index(angle_slider, "index", stack) for stack in inner]

    live = live_controls(model, loss_toggle)
    accordion = widgets.Accordion(children=[widgets.VBox(list(live.values()))], selected_index=None)
    accordion.set_title(0, "Live controls (need a running kernel: Jupyter or Colab)")
    frames = [frame for name in model.loss_names for frame in model.frames[name]]
    controls = {"loss": loss_toggle, "negative": angle_slider, "play": angle_box.children[0], **live}
    children = [intro(INTRO), loss_toggle, angle_box, outer, model.numbers, accordion]
    explorer = FrameExplorer(children, frames, links, controls)
    explorer.model = model
    return explorer


def live_controls(model: LossLandscape, loss_toggle) -> dict:
    """Sliders that redraw frames through Python callbacks (a kernel is needed; in the static book they
    sit, documented as such, in a collapsed accordion)."""
    sliders = {
        "margin": widgets.FloatSlider(min=0.0, max=1.5, step=0.05, description="margin"),
        "temperature": widgets.FloatLogSlider(base=10, min=-2, max=0, step=0.05, description="temperature τ"),
        "scale": widgets.FloatLogSlider(base=10, min=0, max=2, step=0.05, description="scale s"),
        "positive": widgets.FloatSlider(
            value=model.scene.positive, min=0, max=180, step=5, description="angle of p (°)"
        ),
    }
    for slider in sliders.values():
        slider.continuous_update = False
        slider.style = {"description_width": "initial"}
    syncing = [False]  # True while the sliders are being set to the selected loss's values: no redraw

    def selected() -> str:
        return model.loss_names[loss_toggle.index]

    def on_loss(_change=None) -> None:
        model.ensure_rendered(selected())
        syncing[0] = True
        for name in TUNABLE:
            value = model.hparams[selected()].get(name)
            sliders[name].disabled = value is None
            if value is not None:
                sliders[name].value = value
        syncing[0] = False

    def on_hparam(name: str, change) -> None:
        if not syncing[0]:
            model.hparams[selected()][name] = float(change["new"])
            model.render_loss(selected())

    def on_positive(change) -> None:
        # Every loss sees the new scene; only the visible one is redrawn now, the others when selected.
        model.scene = dataclasses.replace(model.scene, positive=float(change["new"]))
        model.stale.update(model.loss_names)
        model.render_loss(selected())

    for name in TUNABLE:
        sliders[name].observe(functools.partial(on_hparam, name), names="value")
    sliders["positive"].observe(on_positive, names="value")
    loss_toggle.observe(on_loss, names="index")
    on_loss()
    return sliders
