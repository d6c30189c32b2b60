"""Roth et al.'s compression measures (DESIGN.md §3): spectral decay ρ and π-ratio, in compression_stats and
geometry_stats, against loop/NumPy references written from the formulas (tests/reference_compression.py),
on hand-made cases with known answers, their documented degenerate choices, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from reference_compression import pi_ratio_numpy, pi_ratio_reference, spectral_decay_reference

from vgteach.diagnostics import compression_stats, geometry_stats

LAYOUTS = [
    [0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 3, 3],
    [5, 5, 9, 9, 9, 2, 2, 2, 2, 2, 2, 2, 7],  # class 7 is a singleton
    [1, 1, 1, 4, 4, 8, 8, 8, 8, 8] * 3,
]


def batch(layout, dim, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.tensor(layout)[torch.randperm(len(layout), generator=gen)]
    centres = torch.randn(max(layout) + 1, dim, generator=gen, dtype=dtype)
    scale = torch.rand(len(layout), 1, generator=gen, dtype=dtype) * 3 + 0.5  # un-normalised on purpose
    return (centres[labels] + torch.randn(len(layout), dim, generator=gen, dtype=dtype)) * scale, labels


# -- against the references -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [3, 8, 40])  # 40 > N for the first two layouts: zero singular values
@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("layout", LAYOUTS)
def test_compression_stats_match_loop_references(layout, seed, dim):
    embeddings, labels = batch(layout, dim, seed)
    got = compression_stats(embeddings, labels)
    assert got["spectral_decay"] == pytest.approx(spectral_decay_reference(embeddings), rel=1e-9)
    assert got["pi_ratio"] == pytest.approx(pi_ratio_reference(embeddings, labels), rel=1e-10)


def test_geometry_stats_report_the_same_compression():
    embeddings, labels = batch(LAYOUTS[2], 6, seed=3)
    geometry, alone = geometry_stats(embeddings, labels), compression_stats(embeddings, labels)
    for key in ("spectral_decay", "pi_ratio"):
        assert geometry[key] == pytest.approx(alone[key], rel=1e-12), key


def test_pi_ratio_at_scale_matches_numpy():
    """Thousands of rows (class sums, no pair loop in vgteach) against full NumPy cosine matrices."""
    gen = np.random.default_rng(0)
    labels = gen.integers(0, 7, size=3000)
    embeddings = gen.normal(size=(7, 16))[labels] + 2.0 * gen.normal(size=(3000, 16))
    got = compression_stats(embeddings.astype(np.float32), labels)
    assert got["pi_ratio"] == pytest.approx(pi_ratio_numpy(embeddings.astype(np.float32), labels), rel=1e-9)


def test_float32_and_float64_inputs_agree():
    embeddings, labels = batch(LAYOUTS[2], 8, seed=1)
    wide, narrow = compression_stats(embeddings, labels), compression_stats(embeddings.float(), labels)
    for key in wide:
        assert narrow[key] == pytest.approx(wide[key], rel=1e-5), key


def test_invariant_to_row_scaling():
    embeddings, labels = batch(LAYOUTS[0], 5, seed=4)
    scales = torch.logspace(-6, 6, len(labels), dtype=torch.float64)[:, None]
    before, after = compression_stats(embeddings, labels), compression_stats(embeddings * scales, labels)
    for key in before:
        assert after[key] == pytest.approx(before[key], rel=1e-12), key


# -- hand-made cases with known answers --------------------------------------------------------------------------
def test_flat_spectrum_has_no_decay():
    """Rows e_1..e_D (any lengths): every singular value is 1, so σ_2..σ_D are flat and ρ = 0."""
    embeddings = torch.diag(torch.linspace(0.5, 4.0, 6, dtype=torch.float64))
    stats = compression_stats(embeddings, torch.arange(6))
    assert stats["spectral_decay"] == pytest.approx(0.0, abs=1e-14)


def test_spectral_decay_of_a_known_spectrum():
    """n_k copies of e_k give Zᵀ Z = diag(n_k), σ_k = √n_k: counts 9, 4, 1, 1 → σ = 3, 2, 1, 1; drop 3:
    p = (½, ¼, ¼), ρ = ⅓ (log(⅓ / ½) + 2 log(⅓ / ¼))."""
    rows = [0] * 9 + [1] * 4 + [2, 3]
    embeddings = torch.eye(4, dtype=torch.float64)[rows] * 7.0
    expected = (math.log((1 / 3) / 0.5) + 2 * math.log((1 / 3) / 0.25)) / 3
    stats = compression_stats(embeddings, torch.tensor(rows))
    assert stats["spectral_decay"] == pytest.approx(expected, rel=1e-12)


def test_spectral_decay_grows_with_unused_directions_and_stays_finite():
    """Rank r < D: D − r singular values are 0, the literal KL is +∞; the documented floor makes ρ finite,
    larger the more directions are unused, and above any full-rank value here."""
    gen = torch.Generator().manual_seed(0)
    values = []
    for rank in (8, 6, 4, 2):
        embeddings = torch.randn(200, rank, generator=gen, dtype=torch.float64) @ torch.randn(
            rank, 8, generator=gen, dtype=torch.float64
        )
        values.append(compression_stats(embeddings, torch.arange(200) % 4)["spectral_decay"])
    assert all(math.isfinite(v) for v in values)
    assert values == sorted(values) and values[1] > 10 * values[0]


def test_two_tight_classes_far_apart_have_a_small_pi_ratio():
    gen = torch.Generator().manual_seed(1)
    axis = torch.eye(5, dtype=torch.float64)[0]
    embeddings = torch.cat([axis.expand(20, 5), -axis.expand(20, 5)]) + 1e-3 * torch.randn(
        40, 5, generator=gen, dtype=torch.float64
    )
    labels = torch.tensor([0] * 20 + [1] * 20)
    stats = compression_stats(embeddings, labels)
    assert stats["pi_ratio"] < 1e-5  # π_inter = 2 (antipodal means), π_intra ~ noise²
    assert stats["pi_ratio"] == pytest.approx(pi_ratio_reference(embeddings, labels), rel=1e-8)


def test_pi_ratio_of_a_known_layout():
    """Class 0 = {e1, e2}, class 1 = {−e1, −e2}: within each class d(e1, e2) = 1, so π_intra = 1; the means
    ±(e1 + e2)/2 point opposite ways, π_inter = 2: π-ratio ½."""
    eye = torch.eye(3, dtype=torch.float64)
    embeddings = torch.stack([eye[0], eye[1], -eye[0], -eye[1]]) * torch.tensor([[1.0], [3.0], [0.2], [5.0]])
    stats = compression_stats(embeddings, torch.tensor([0, 0, 1, 1]))
    assert stats["pi_ratio"] == pytest.approx(0.5, rel=1e-14)


def test_collapsed_classes_have_pi_ratio_zero():
    means = torch.eye(4, 8, dtype=torch.float64) * 3.0
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])
    assert compression_stats(means[labels], labels)["pi_ratio"] == pytest.approx(0.0, abs=1e-15)


def test_singletons_have_no_intra_pair_but_a_class_mean():
    """A singleton class counts in π_inter (its mean) and not in π_intra (no pair), as the reference does."""
    embeddings, labels = batch(LAYOUTS[1], 4, seed=2)
    got = compression_stats(embeddings, labels)["pi_ratio"]
    assert got == pytest.approx(pi_ratio_reference(embeddings, labels), rel=1e-10)
    without = labels != 7
    assert got != pytest.approx(pi_ratio_reference(embeddings[without], labels[without]), rel=1e-3)


def test_zero_rows_are_at_distance_one_from_everything():
    embeddings, labels = batch(LAYOUTS[0], 5, seed=5)
    embeddings[[0, 3]] = 0.0
    got = compression_stats(embeddings, labels)
    assert got["pi_ratio"] == pytest.approx(pi_ratio_reference(embeddings, labels), rel=1e-10)
    assert got["spectral_decay"] == pytest.approx(spectral_decay_reference(embeddings), rel=1e-9)


# -- degenerate batches: NaN where undefined, documented -------------------------------------------------------
def test_identical_embeddings_have_neither_measure():
    """Every row equal: rank 1 (no spectrum after σ_1) and every class mean the same direction (π_inter = 0)."""
    embeddings = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64).expand(6, 3) * torch.arange(1, 7)[:, None]
    stats = compression_stats(embeddings, torch.tensor([0, 0, 1, 1, 2, 2]))
    assert math.isnan(stats["spectral_decay"]) and math.isnan(stats["pi_ratio"])


def test_one_dimension_has_no_spectral_decay():
    embeddings = torch.tensor([[1.0], [-2.0], [3.0], [-0.5]])
    stats = compression_stats(embeddings, torch.tensor([0, 0, 1, 1]))
    assert math.isnan(stats["spectral_decay"])
    assert stats["pi_ratio"] == pytest.approx(pi_ratio_reference(embeddings, [0, 0, 1, 1]), rel=1e-12)


@pytest.mark.parametrize("labels", [[3, 3, 3, 3], [0, 1, 2, 3]], ids=["one class", "all singletons"])
def test_pi_ratio_needs_two_classes_and_a_pair(labels):
    embeddings, _ = batch([0, 0, 1, 1], 5, seed=6)
    stats = compression_stats(embeddings, torch.tensor(labels))
    assert math.isnan(stats["pi_ratio"]) and math.isfinite(stats["spectral_decay"])


# -- bad input --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "embeddings, labels, error, match",
    [
        (torch.tensor([[float("nan"), 1.0], [0.0, 1.0]]), torch.tensor([0, 1]), ValueError, "NaN"),
        (torch.ones(3, 2), torch.tensor([0, 1]), ValueError, "length"),
        (torch.ones(3, 2), torch.tensor([0.0, 1.0, 1.0]), TypeError, "integer"),
        (torch.ones(3), torch.tensor([0, 1, 1]), ValueError, "2-D"),
        ([[1.0, 0.0]], torch.tensor([0]), TypeError, "torch.Tensor"),
        (np.array([["a", "b"]]), np.array([0]), TypeError, "numeric"),
    ],
    ids=["nan", "mismatched", "float labels", "1-D", "list", "strings"],
)
def test_bad_input_is_named(embeddings, labels, error, match):
    with pytest.raises(error, match=match):
        compression_stats(embeddings, labels)
