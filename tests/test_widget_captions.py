"""The loss landscape says only what its frames show.

Every caption of :func:`vgteach.widgets.loss_landscape` (:func:`~vgteach.landscape.frame_story`: one or two
sentences about that frame) and its collapsed "All the numbers" note (:func:`sweep_statements` and a table of
every force) are written from the forces of :mod:`vgteach.landscape.physics`. Here each statement and each
frame's story is checked, for every loss on the default scene, against forces recomputed independently
(autograd through the loss's ``forward``, and for the hinge losses the pairs their formula makes active);
each caption reads as written (at most five numbers, :func:`~vgteach.results.proofread.text_problems`);
the note holds every statement and every frame's numbers. Then the claims the loss chapters write by hand
around the widget. The physics and the statements need no ipywidgets; only the widget tests do.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import math
import re
import subprocess
import sys

import numpy as np
import pytest

from vgteach.landscape import (
    ARROW_FLOOR,
    DEFAULT_NEGATIVE_DEGREES,
    POINT_LABELS,
    POINT_NAMES,
    CircleScene,
    default_hparams,
    describe_hparams,
    frame_story,
    landscape_summary,
    make_loss,
    sweep,
    sweep_statements,
)
from vgteach.losses import LOSS_NAMES
from vgteach.results.proofread import numbers_in, text_problems

SCENE = CircleScene()


def test_the_physics_and_its_words_need_no_widgets():
    code = (
        "import sys; sys.modules['ipywidgets'] = None\n"  # an import of ipywidgets now fails
        "from vgteach.landscape import landscape_summary\n"
        "assert landscape_summary('triplet').startswith('With n')\n"
        "assert not any(name.startswith('vgteach.widgets') for name in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_widget_module_reexports_the_physics_it_draws():
    pytest.importorskip("ipywidgets")
    import vgteach.landscape as landscape
    import vgteach.widgets.landscape as widget

    for name in ("CircleScene", "forces", "sweep", "landscape_summary", "DEFAULT_NEGATIVE_DEGREES", "POINT_NAMES"):
        assert getattr(widget, name) is getattr(landscape, name)


def independent_norms(loss_name: str, angle: float) -> np.ndarray:
    """‖∂L/∂e_i‖ of the five points with n₁ at ``angle``: autograd through ``forward`` (not ``forces``)."""
    scene = dataclasses.replace(SCENE, negative=float(angle))
    loss_fn = make_loss(loss_name, default_hparams(loss_name), scene)
    points = scene.points().requires_grad_(True)
    loss_fn(points, scene.labels()).backward()
    return points.grad.norm(dim=1).numpy()


@pytest.fixture(scope="module", params=LOSS_NAMES)
def checked(request):
    name = request.param
    norms = np.array([independent_norms(name, angle) for angle in DEFAULT_NEGATIVE_DEGREES])  # [angles, points]
    return name, sweep(name), norms


def test_pair_shares_add_up_to_each_force(checked):
    _, result, norms = checked
    for frame, expected in zip(result.results, norms):
        total = np.zeros_like(frame.forces)
        for share in frame.pairs:
            total[POINT_NAMES.index(share.point)] += share.force
        np.testing.assert_allclose(total, frame.forces, atol=1e-5 * max(1.0, norms.max()))
        np.testing.assert_allclose(frame.norms, expected, rtol=1e-4, atol=1e-6)


def test_point_statements_hold_on_the_frames(checked):
    name, result, norms = checked
    floor = ARROW_FLOOR * norms.max()
    statements = {statement.subject: statement for statement in sweep_statements(result)}
    for index, point in enumerate(POINT_NAMES):
        statement, column = statements[point], norms[:, index]
        on = column > floor
        assert statement.on == tuple(on), f"{name}: where {point} has an arrow"
        if on.any():
            assert statement.low == pytest.approx(column[on].min(), rel=1e-3, abs=1e-7)
            assert statement.high == pytest.approx(column[on].max(), rel=1e-3, abs=1e-7)
        assert statement.exact_zero == bool((column[~on] == 0).all())
        # the words follow the numbers
        if on.all():
            assert "at every angle" in statement.text and "no " not in statement.text
        elif not on.any():
            assert statement.text.startswith(f"{point} has no") and "at any angle" in statement.text
        else:
            assert "no force" in statement.text if statement.exact_zero else "no arrow" in statement.text


def hinge_pairs_of_n1(name: str, angle: float) -> dict:
    """``{partner: "pull"/"push"}`` of the pairs of n₁ that the hinge formula makes act (d² from the angles)."""
    scene = dataclasses.replace(SCENE, negative=float(angle))
    z = scene.points().double()
    d2 = (2 - 2 * z @ z.T).clamp_min(0)
    labels, n1 = list(POINT_LABELS), POINT_NAMES.index("n₁")
    acting = {}
    if name == "contrastive":  # a negative pair pushes iff d < m; a positive pair always pulls
        margin = default_hparams(name)["margin"]
        for j in range(len(z)):
            if j != n1 and (labels[j] == labels[n1] or d2[n1, j].sqrt() < margin):
                acting[POINT_NAMES[j]] = "pull" if labels[j] == labels[n1] else "push"
        return acting
    margin, weight = default_hparams(name)["margin"], {}
    for a, p, n in itertools.permutations(range(len(z)), 3):  # W = Σ active triplets: −1 on (a,p), +1 on (a,n)
        if labels[a] == labels[p] and labels[n] != labels[a] and d2[a, p] - d2[a, n] + margin > 0:
            for pair, sign in (((a, p), -1), ((a, n), +1)):
                key = tuple(sorted(pair))
                weight[key] = weight.get(key, 0) + sign
    for (i, j), w in weight.items():
        if n1 in (i, j) and w != 0:
            acting[POINT_NAMES[j if i == n1 else i]] = "pull" if w < 0 else "push"
    return acting


@pytest.mark.parametrize("name", ["contrastive", "triplet"])
def test_hinge_pair_statements_follow_the_formula(name):
    result = sweep(name)
    statements = {s.subject: s for s in sweep_statements(result) if s.subject not in POINT_NAMES}
    expected = [hinge_pairs_of_n1(name, angle) for angle in result.degrees]
    for pair, statement in statements.items():
        partner = pair.replace("n₁", "").strip("–")
        assert statement.on == tuple(partner in acting for acting in expected), f"{name}: where {pair} acts"
        assert statement.exact_zero  # a hinge switches off exactly
        kinds = [acting[partner] for acting in expected if partner in acting]
        assert list(statement.kinds) == kinds
    every = {partner for acting in expected for partner in acting}
    assert {pair.replace("n₁", "").strip("–") for pair in statements} == every


# ------------------------------------------------------------------------------- one frame, in words
def names_in(text: str) -> set:
    """``"a, p and the class-1 proxy"`` -> ``{"a", "p", "proxy 1"}``: the points a story lists."""
    names = set(re.split(r", | and ", text.strip())) - {""}
    return {re.sub(r"^the class-(\d) proxy$", r"proxy \1", name) for name in names}


def story_parts(story: str) -> tuple:
    """A frame's story cut into its sentences: ``(about n₁, about the other points)``."""
    sentences = re.split(r"(?<=\.) (?=\S)", story)
    assert 1 <= len(sentences) <= 2 and story.endswith("."), story
    return sentences[0], sentences[-1]


def acting_on_n1(name: str, result, index: int, norms: np.ndarray) -> dict:
    """``{partner: "pull"/"push"}`` of n₁'s pairs in frame ``index``: the hinge formula for contrastive and
    triplet, otherwise the pair shares (whose sum :func:`test_pair_shares_add_up_to_each_force` checks)."""
    if name in ("contrastive", "triplet"):
        return hinge_pairs_of_n1(name, result.degrees[index])
    floor = ARROW_FLOOR * norms.max()
    frame = result.results[index]
    return {share.partner: share.kind for share in frame.pairs if share.point == "n₁" and share.norm > floor}


def test_every_frame_story_says_what_its_frame_shows(checked):
    name, result, norms = checked
    floor = ARROW_FLOOR * norms.max()
    n1 = POINT_NAMES.index("n₁")
    for index, angle in enumerate(result.degrees):
        story, frame_norms = frame_story(result, index), norms[index]
        where = f"{name} at {angle:g}°: {story}"
        assert text_problems(story) == [] and len(numbers_in(story)) <= 2, where
        about_n1, about_rest = story_parts(story)
        # who pushes and pulls n₁, as the forces (the hinge formula) say
        acting = acting_on_n1(name, result, index, norms)
        pushed = re.search(r"pushed away from (.+?)(?= and pulled|;|:|\.$|$)", about_n1)
        pulled = re.search(r"pulled toward (.+?)(?=;|:|\.$|$)", about_n1)
        assert (names_in(pushed.group(1)) if pushed else set()) == {p for p, k in acting.items() if k == "push"}
        assert (names_in(pulled.group(1)) if pulled else set()) == {p for p, k in acting.items() if k == "pull"}
        assert ("feels no force" in about_n1) == (frame_norms[n1] == 0), where
        assert ("too small to draw" in about_n1) == (0 < frame_norms[n1] <= floor), where
        # what has just stopped (a hinge: exactly 0; a softmax: below drawing size) since the previous angle
        before = acting_on_n1(name, result, index - 1, norms) if index else {}
        share = {s.partner: s.norm for s in result.results[index].pairs if s.point == "n₁"}
        stopped = {}
        for clause in re.split(r"; |: ", about_n1.rstrip(".")):
            how = re.search(r"just (switched off|faded below drawing size)$", clause)
            for kind, partner in re.findall(r"the (push|pull) (?:from|toward) (.+?)(?= and the | ha)", clause):
                partner = names_in(partner).pop()
                assert how and before[partner] == kind, where
                assert (how.group(1) == "switched off") == (share.get(partner, 0.0) == 0), where
                stopped[partner] = kind
        assert set(stopped) == set(before) - set(acting), where
        begun = re.findall(r"(?:^|; )(.+?) ha(?:s|ve) just begun to (push|pull) it", about_n1)
        started = set(acting) - set(before) if index else set()
        assert set().union(*(names_in(text) for text, _ in begun)) == started, where
        # the other points: which feel no force, and where the strongest force is
        zero = {p for p, norm in zip(POINT_NAMES, frame_norms) if norm == 0 and p != "n₁"}
        said = re.findall(r"(?:^|; )([^;]+?) feels? no force", about_rest)
        assert set().union(*(names_in(text) for text in said)) == zero, where
        for text in re.findall(r"(?:^|; )([^;]+?) feels? no force in any frame", about_rest):
            for point in names_in(text):
                assert (norms[:, POINT_NAMES.index(point)] == 0).all(), where
        assert ("very point has an arrow" in about_rest) == bool((frame_norms > floor).all()), where
        others = np.delete(frame_norms, n1)
        assert ("very other point has an arrow" in about_rest) == (frame_norms[n1] <= floor and (others > floor).all())
        strongest = re.search(r"the strongest force, ([0-9.e+-]+), is on (.+)\.$", about_rest)
        assert float(strongest.group(1)) == pytest.approx(frame_norms.max(), rel=0.06), where
        assert POINT_NAMES[int(frame_norms.argmax())] in names_in(strongest.group(2)), where


def test_frame_story_rejects_a_frame_outside_the_sweep():
    with pytest.raises(ValueError, match="not a frame"):
        frame_story(sweep("triplet", negative_degrees=(30, 150)), 2)


# ------------------------------------------------------------------------------------------- the widget
@pytest.fixture(scope="module")
def explorer():
    pytest.importorskip("ipywidgets")
    from vgteach.widgets import loss_landscape

    return loss_landscape(LOSS_NAMES)  # the default scene and angles, every loss


def caption(frame) -> str:
    return re.search(r"<figcaption[^>]*>(.*)</figcaption>", frame.value).group(1)


def plain(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_every_caption_is_its_frames_story_in_a_few_words(explorer):
    angles = DEFAULT_NEGATIVE_DEGREES
    for position, frame in enumerate(explorer.frames):
        name, index = LOSS_NAMES[position // len(angles)], position % len(angles)
        result = explorer.model.sweeps[name]
        text = plain(caption(frame))
        header = f"{name} ({describe_hparams(result.hparams)}), n₁ at {angles[index]:g}°: "
        assert text == header + frame_story(result, index)
        assert caption(frame).startswith(f"<b>{name}</b>")
        assert text_problems(text) == [] and len(numbers_in(text)) <= 5, text
        assert "‖" not in text and "Active terms" not in text and "pairs acting" not in text  # no inventory


def test_all_the_numbers_sit_folded_under_the_frames(explorer):
    note = explorer.model.numbers.value
    assert explorer.children.index(explorer.model.numbers) == explorer.children.index(explorer.children[3]) + 1
    assert re.match(r"<details[^>]*>", note) and " open" not in note.split(">")[0]  # collapsed
    assert "<summary>All the numbers</summary>" in note
    sections = re.split(r"<p[^>]*><b>", note)[1:]
    assert [section.split("</b>")[0] for section in sections] == list(LOSS_NAMES)
    for name, section in zip(LOSS_NAMES, sections):
        result = explorer.model.sweeps[name]
        for statement in sweep_statements(result):
            assert f"<li>{html.escape(statement.text)}</li>" in section
        rows = re.findall(r"<tr>(.*?)</tr>", section)[1:]
        assert len(rows) == len(result.degrees)
        for angle, row, frame in zip(result.degrees, rows, result.results):
            cells = [plain(cell) for cell in re.findall(r"<td>(.*?)</td>", row)]
            assert cells[0] == f"{angle:g}°" and float(cells[1]) == pytest.approx(frame.loss, rel=5e-3)
            assert cells[2] == f"{frame.num_active} of {frame.num_terms}"
            shown = np.array([float(cell) for cell in cells[3:]])
            np.testing.assert_allclose(shown, independent_norms(name, angle), rtol=0.06, atol=1e-6)


def test_summary_is_made_of_the_statements():
    for name in LOSS_NAMES:
        result = sweep(name)
        summary = landscape_summary(name)
        for statement in sweep_statements(result):
            assert statement.text in summary
        counts = ", ".join(str(frame.num_active) for frame in result.results)
        assert f"Active terms: {counts} of {result.results[0].num_terms}" in summary


# ------------------------------------------------------------- what the chapters write by hand (default scene)
def statements_of(name: str) -> dict:
    return {statement.subject: statement for statement in sweep_statements(sweep(name))}


def test_contrastive_chapter_claims():
    """ "Every point keeps an arrow; a–n₁ and p–n₁ push only inside the margin (60°) and stop exactly beyond
    it; n₁ keeps its arrow because n₂ keeps pulling it." """
    facts, degrees = statements_of("contrastive"), np.array(DEFAULT_NEGATIVE_DEGREES)
    assert all(all(facts[point].on) for point in POINT_NAMES)
    margin_degrees = math.degrees(2 * math.asin(default_hparams("contrastive")["margin"] / 2))  # chord → angle
    assert margin_degrees == pytest.approx(60.0)
    assert facts["a–n₁"].on == tuple(degrees < margin_degrees) and facts["a–n₁"].exact_zero
    assert facts["p–n₁"].on == tuple(abs(degrees - SCENE.positive) < margin_degrees)
    assert all(facts["n₁–n₂"].on) and set(facts["n₁–n₂"].kinds) == {"pull"}
    result = sweep("contrastive")
    for frame, far in zip(result.results, ~np.array(facts["p–n₁"].on)):
        if far:
            partners = {share.partner for share in frame.pairs if share.point == "n₁" and share.norm > result.floor}
            assert partners == {"n₂"}


def test_triplet_chapter_claims():
    """ "a and n₁ lose their force exactly; the remaining arrows grow as the active triplets fall; the triplet
    (p₂, p, n₂) stays active at every angle." """
    facts, result = statements_of("triplet"), sweep("triplet")
    assert not facts["a"].on[-1] and not facts["n₁"].on[-1] and facts["a"].exact_zero and facts["n₁"].exact_zero
    active = [frame.num_active for frame in result.results]
    largest = [float(frame.norms.max()) for frame in result.results]
    assert active[-1] < active[0] and largest[-1] > largest[0]
    p2, p, n2 = (POINT_NAMES.index(x) for x in ("p₂", "p", "n₂"))
    for angle in result.degrees:
        z = dataclasses.replace(SCENE, negative=float(angle)).points().double()
        d2 = 2 - 2 * z @ z.T
        assert d2[p2, n2] < d2[p2, p]  # n₂ is closer to p₂ than p is: a hard triplet, active
        assert d2[p2, p] - d2[p2, n2] + default_hparams("triplet")["margin"] > 0


def test_npair_chapter_claims():
    """p₂ gets no force at any angle; n₂ (the positive of anchor n₁) is pulled toward n₁ and pushed away from
    a; no term ever switches off."""
    facts, result = statements_of("npair"), sweep("npair")
    assert not any(facts["p₂"].on) and facts["p₂"].exact_zero
    assert all(facts["n₂"].on)
    for frame in result.results:
        on_n2 = {s.partner: s.kind for s in frame.pairs if s.point == "n₂" and s.norm > result.floor}
        assert on_n2 == {"n₁": "pull", "a": "push"}
    assert all(frame.num_active == frame.num_terms for frame in result.results)
    assert all(all(s.on) for s in facts.values() if s.subject not in POINT_NAMES)


def test_infonce_chapter_claims():
    """ "No point loses its arrow; some pushes of n₁ fade below drawing size but never stop exactly; near the
    anchor the closer negative takes nearly all of a's push." """
    facts, result = statements_of("infonce"), sweep("infonce")
    assert all(all(facts[point].on) for point in POINT_NAMES)
    pairs = [s for s in facts.values() if s.subject not in POINT_NAMES]
    assert any(not all(s.on) for s in pairs) and all(not s.exact_zero for s in pairs if not all(s.on))
    first = {s.partner: s.norm for s in result.results[0].pairs if s.point == "a" and s.kind == "push"}
    assert first["n₁"] / (first["n₁"] + first["n₂"]) > 0.9
