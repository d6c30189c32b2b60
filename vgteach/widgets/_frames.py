"""Precomputed frames: how a widget keeps telling its story in the static HTML of the book.

A published Jupyter Book page has no kernel, so no Python callback can run there. What does survive is the
*widget state* that the notebook stored when it was executed, and the links between widget attributes that
the browser evaluates by itself (``jslink``/``jsdlink``). Every vgteach widget is therefore built as

    control (ToggleButtons / SelectionSlider / Play)  --jsdlink-->  Stack of frames

where each frame is an :class:`ipywidgets.HTML` holding a small PNG (a data URI) and a caption. Moving the
control switches frames in the browser, with or without a kernel. With a kernel (Jupyter, Colab) Python
callbacks may additionally redraw frames for hyper-parameters that were not precomputed.

``ipywidgets.Stack`` is new in ipywidgets 8. Colab has long shipped ipywidgets 7, so :func:`frame_stack`
falls back to a box whose children are shown one at a time by a Python observer there (live only, which is
all Colab needs).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Optional, Sequence

try:
    import ipywidgets as widgets
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "vgteach.widgets needs ipywidgets>=8.1: pip install 'vgteach[widgets]' (or pip install ipywidgets)"
    ) from error
from matplotlib.figure import Figure
from PIL import Image

from ..figures import frame_figure, loss_color  # noqa: F401 - loss_color: the widgets' import path

#: Frames are small on purpose: every frame of every widget ends up base64-encoded in the book's HTML.
FRAME_DPI = 90
#: Line art survives a 64-colour palette; it makes the PNGs about three times smaller.
FRAME_COLORS = 64

HAS_STACK = hasattr(widgets, "Stack")


def figure_to_data_uri(fig: Figure, dpi: int = FRAME_DPI, colors: int = FRAME_COLORS) -> str:
    """Render ``fig`` to a palette PNG and return it as a ``data:image/png;base64,…`` URI."""
    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=dpi, facecolor="white")
    image = Image.open(raw).convert("RGB").quantize(colors=colors)
    small = io.BytesIO()
    image.save(small, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(small.getvalue()).decode("ascii")


def frame_html(fig: Figure, caption: str, alt: str) -> str:
    """The HTML of one frame: the rendered figure and a caption (``caption`` is trusted HTML written by
    vgteach; ``alt`` is plain text and escaped)."""
    uri = figure_to_data_uri(fig)
    return (
        '<figure class="vgteach-frame" style="margin:0">'
        f'<img src="{uri}" alt="{html.escape(alt)}" style="max-width:100%;height:auto">'
        f'<figcaption style="font-size:0.9em;line-height:1.4">{caption}</figcaption></figure>'
    )


def frame_stack(frames: Sequence[widgets.Widget], selected_index: int = 0) -> widgets.Box:
    """Show one of ``frames`` at a time: an ``ipywidgets.Stack`` (switchable from the browser), or on
    ipywidgets 7 a ``Box`` driven by :func:`link_index`'s Python observer."""
    if not frames:
        raise ValueError("a frame stack needs at least one frame")
    if HAS_STACK:
        return widgets.Stack(children=list(frames), selected_index=selected_index)
    box = widgets.Box(children=list(frames))
    _show_only(box, selected_index)
    return box


def _show_only(box: widgets.Box, index: int) -> None:
    for position, child in enumerate(box.children):
        child.layout.display = None if position == index else "none"


def link_index(source: widgets.Widget, attribute: str, stack: widgets.Box) -> Optional[widgets.Widget]:
    """Make ``stack`` show the frame whose position is ``source.<attribute>``.

    Returns the ``jsdlink`` (it lives in the browser, so it also works in the static book) or ``None`` for
    the ipywidgets-7 fallback, where a Python observer does the switching.
    """
    if HAS_STACK:
        return widgets.jsdlink((source, attribute), (stack, "selected_index"))
    source.observe(lambda change: _show_only(stack, change["new"]), names=attribute)
    return None


def player(labels: Sequence[str], description: str, interval_ms: int = 800):
    """A ``Play`` button and a ``SelectionSlider`` over ``labels``, linked in the browser.

    Returns ``(box, slider, link)``; the slider's ``index`` is what frames are switched by.
    """
    slider = widgets.SelectionSlider(
        options=list(labels),
        index=0,
        description=description,
        continuous_update=True,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="min(100%, 32em)"),
    )
    play = widgets.Play(value=0, min=0, max=max(len(labels) - 1, 0), step=1, interval=interval_ms, description="play")
    link = widgets.jslink((play, "value"), (slider, "index"))
    return widgets.HBox([play, slider]), slider, link


def intro(text: str) -> widgets.HTML:
    """A one-paragraph explanation shown above a widget (trusted HTML)."""
    # ipywidgets sets the line height of HTML widgets to one control height (28 px): reset it for prose
    return widgets.HTML(f'<div style="max-width:48em;line-height:1.5">{text}</div>')


class FrameExplorer(widgets.VBox):
    """The box returned by every vgteach widget: a ``VBox`` plus handles that tests and notebooks use.

    Attributes
    ----------
    frames : list of ipywidgets.HTML
        Every precomputed frame, in stack order (for nested stacks: outer-major).
    links : list of ipywidgets.Widget
        The browser-side links (``jslink``/``jsdlink``) that switch frames without a kernel; kept
        referenced here so that they stay alive and end up in the saved widget state.
    controls : dict
        The named control widgets (sliders, toggles, play buttons).
    """

    def __init__(self, children, frames, links, controls, **kwargs):
        super().__init__(children=children, **kwargs)
        self.frames = list(frames)
        self.links = [link for link in links if link is not None]
        self.controls = dict(controls)
