"""Lab 1 (writing the losses) and the loss chapters' "write the loss" exercises.

:func:`check_loss` compares a student's loss with ``vgteach.losses.build_loss`` on :func:`make_cases`: the
value and the gradient ∂L/∂e (autograd through the student's code), in float64, so a loss that is right
"on paper" but cuts the gradient (``.item()``, NumPy) is caught too. One ``check_<loss>`` per loss fixes
the hyper-parameters; :func:`check_squared_distances` grades the lab's warm-up.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from ..losses import LOSS_NAMES, build_loss
from .batches import Case, current_seed, make_cases
from .kit import (
    ATOL,
    RTOL,
    CheckResult,
    Failure,
    as_number,
    call_student,
    close,
    expect_tensor,
    fmt,
    generic_hint,
    grader,
)

LOSS_HINTS = {
    "contrastive": "L = ½·mean over positive pairs of d² + ½·mean over negative pairs of [m − d]₊², with "
    "unordered pairs i < j (no i = j), d = ||z_i − z_j|| on L2-normalised z, and an empty "
    "mean counted as 0.",
    "triplet": "ℓ = [d²_ap − d²_an + α]₊ over every (a, p, n) with y_a = y_p, a ≠ p, y_n ≠ y_a, using "
    "*squared* distances; the mean is over the active triplets (ℓ > 0) only, and 0 when none is "
    "active (a mean over an empty set is NaN in torch — guard it).",
    "npair": "one anchor per label that appears at least twice: its first sample in batch order, the "
    "positive is its second; logits = scale · anchors @ positivesᵀ, cross-entropy with target k "
    "for row k; 0 when fewer than two labels qualify.",
    "infonce": "one term per *ordered* positive pair (i, p), i ≠ p: −log(e^{s_ip/τ} / (e^{s_ip/τ} + "
    "Σ_{negatives n of i} e^{s_in/τ})). Other positives are not in the denominator. Use "
    "torch.logsumexp for stability.",
    "arcface": "normalise both z and the rows of the proxy matrix; only the target logit gets the angular "
    "margin, cos(θ_y + m), with the fallback cos θ_y − m·sin(π − m) when θ_y + m > π; all "
    "logits are multiplied by the scale γ (`scale`) before the cross-entropy.",
    "supcon": "one term per anchor that has at least one positive; the denominator sums over *every* "
    "a ≠ i (positives included); average −log p over the anchor's positives, then over anchors.",
    "ccl": "logits (z·ĉ_k − m·[k = y]) / τ with L2-normalised centers ĉ, cross-entropy, plus λ·||z − ĉ_y||²; "
    "mean over samples.",
}
for _text in LOSS_HINTS.values():
    generic_hint(_text)

DISTANCES_HINT = generic_hint(
    "for unit vectors ||z_i − z_j||² = 2 − 2 z_i·z_j, so the whole matrix is 2 − 2 z @ z.T (clamp tiny negatives to 0)."
)


@grader("check_{loss_name}")
def check_loss(fn: Callable, loss_name: str, seed: int = 0, **hparams) -> CheckResult:
    """Compare ``fn`` with ``vgteach.losses.build_loss(loss_name, **hparams)`` on :func:`make_cases`.

    Parameters
    ----------
    fn : callable
        ``fn(embeddings [B, D], labels [B]) -> 0-dim tensor`` with the loss's default hyper-parameters
        (or those passed here); for the proxy losses (ArcFace, CCL) ``fn(embeddings, labels, proxies)``
        where ``proxies`` is the ``[K, D]`` matrix of class weights / centers.
    loss_name : str
        One of :data:`vgteach.LOSS_NAMES`.
    seed : int
        Seed of the random batches (and of the proxies).
    **hparams
        Hyper-parameters of the reference loss (must match the defaults of ``fn``).

    Returns
    -------
    CheckResult
        Passed iff value and gradient ∂L/∂e match on every batch (rtol 1e-4, atol 1e-6).
    """
    if loss_name not in LOSS_NAMES:
        raise ValueError(f"unknown loss {loss_name!r}; valid names: {', '.join(LOSS_NAMES)}")
    if not callable(fn):
        raise TypeError(f"check_loss needs your function, got {type(fn).__name__}")
    cases = make_cases(seed)
    for index, case in enumerate(cases, start=1):
        _grade_loss_on(fn, loss_name, case, seed, hparams, where=f"On batch {index} ({case.description})")
    return (
        f"your {loss_name} loss matches vgteach on all {len(cases)} batches, value and "
        "gradient (including the awkward ones: lengths ≠ 1, singleton classes, no negatives, "
        "no positives)."
    )


def _grade_loss_on(fn: Callable, loss_name: str, case: Case, seed: int, hparams: dict, where: str) -> None:
    """Raise :class:`Failure` unless ``fn`` gives vgteach's value on ``case``, then vgteach's gradient."""
    hint = LOSS_HINTS[loss_name]
    reference, extra = _reference_loss(loss_name, case, seed, hparams)
    e_ref = case.embeddings.clone().requires_grad_(True)
    loss = reference(e_ref, case.labels)
    loss.backward()
    expected = float(loss.detach())

    e_student = case.embeddings.clone().requires_grad_(True)
    got = call_student(fn, e_student, case.labels.clone(), *[p.clone() for p in extra], where=where, hint=hint)
    value = as_number(got)
    if value is None:
        raise Failure(
            f"{where} your function returned {type(got).__name__} "
            f"{tuple(getattr(got, 'shape', ()))}; a loss must be a single number "
            "(a 0-dim tensor): reduce the terms with .mean() or .sum().",
        )
    if not math.isfinite(value):
        raise Failure(
            f"{where} your function returned {value}, vgteach gives {fmt(expected)}.",
            "a mean over an empty set is NaN in torch; DESIGN.md defines it as 0. " + hint,
        )
    if not close(value, expected):
        message = f"{where} you return {fmt(value)}, vgteach gives {fmt(expected)}."
        raise Failure(message, _normalisation_hint(fn, case, extra, expected) or hint)
    _grade_gradient(got, e_student, e_ref.grad, case.embeddings, where, hint)


def _grade_gradient(loss, e_student: Tensor, expected: Tensor, embeddings: Tensor, where: str, hint: str) -> None:
    """Raise :class:`Failure` unless the student's ``loss`` (the right value) has the gradient ``expected``."""
    if not (isinstance(loss, Tensor) and loss.requires_grad):
        raise Failure(
            f"{where} the value is right, but no gradient flows back to the embeddings.",
            "build the loss from torch operations on the embeddings only (no .item(), "
            ".detach(), .numpy() or torch.tensor(...) around intermediate results).",
        )
    grad = call_student(
        lambda: torch.autograd.grad(loss, e_student, allow_unused=True)[0],
        where=where,
        raised="autograd could not differentiate your loss ({error}).",
    )
    if grad is None:
        raise Failure(f"{where} autograd could not differentiate your loss (unused input).")
    if not torch.allclose(grad, expected, rtol=RTOL, atol=ATOL):
        worst = int((grad - expected).norm(dim=1).argmax())
        raise Failure(
            f"{where} the value matches but the gradient does not: for sample {worst}, "
            f"||∂L/∂e|| is {fmt(float(grad[worst].norm()))} instead of "
            f"{fmt(float(expected[worst].norm()))}.",
            _radial_hint(grad, expected, embeddings)
            or (
                "a term that is clamped, detached or counted twice changes the gradient but "
                "not always the value. " + hint
            ),
        )


def _reference_loss(loss_name: str, case: Case, seed: int, hparams: dict):
    """The library loss for ``case`` (float64) and the extra arguments the student's function gets."""
    torch.manual_seed(seed)  # the proxies of ArcFace and CCL
    reference = build_loss(loss_name, case.num_classes, case.embeddings.shape[1], **hparams).double()
    return reference, tuple(p.detach() for p in reference.parameters())  # (proxies,); () for pair losses


def _normalisation_hint(fn: Callable, case: Case, extra: tuple, expected: float) -> str:
    """If ``fn`` is right on unit-length inputs but wrong on these, the student forgot z = e / ||e||."""
    if case.unit_length:
        return ""
    unit = case.embeddings / case.embeddings.norm(dim=1, keepdim=True)
    try:
        value = as_number(call_student(fn, unit, case.labels.clone(), *[p.clone() for p in extra]))
    except Failure:
        return ""
    if value is not None and close(value, expected):
        return (
            "your function is right on unit-length embeddings but not on these: normalise first, "
            "z = e / ||e|| (torch.nn.functional.normalize(e, dim=1)). vgteach's losses all do."
        )
    return ""


def _radial_hint(grad: Tensor, expected: Tensor, embeddings: Tensor) -> str:
    """If the student's gradient differs from the reference only along e (radially), the normalisation is
    missing from the graph (skipped on unit-length inputs, or a detached norm): the value is then right,
    but z = e/||e|| removes the radial part of the gradient, ∂L/∂e = (I − z zᵀ)(∂L/∂z) / ||e||."""
    z = embeddings / embeddings.norm(dim=1, keepdim=True)
    tangent = grad - (grad * z).sum(dim=1, keepdim=True) * z
    if torch.allclose(tangent, expected, rtol=RTOL, atol=ATOL):
        return (
            "your gradient differs from vgteach's only along the embeddings themselves (radially): you "
            "did not normalise. Use z = e / ||e|| first; the normalisation projects the gradient onto "
            "the sphere's tangent plane, (I − z zᵀ) ∂L/∂z / ||e||."
        )
    return ""


def check_contrastive(fn: Callable, margin: float = 1.0) -> CheckResult:
    """Check ``fn(embeddings, labels)`` against the contrastive loss (Hadsell et al. 2006, DESIGN.md §2)."""
    return check_loss(fn, "contrastive", seed=current_seed(), margin=margin)


def check_triplet(fn: Callable, margin: float = 0.2) -> CheckResult:
    """Check ``fn(embeddings, labels)`` against the batch-all triplet loss (mean over active triplets)."""
    return check_loss(fn, "triplet", seed=current_seed(), margin=margin)


def check_npair(fn: Callable, scale: float = 1.0) -> CheckResult:
    """Check ``fn(embeddings, labels)`` against the N-pair loss (Sohn 2016, DESIGN.md §2)."""
    return check_loss(fn, "npair", seed=current_seed(), scale=scale)


def check_infonce(fn: Callable, temperature: float = 0.1) -> CheckResult:
    """Check ``fn(embeddings, labels)`` against supervised InfoNCE / NT-Xent (DESIGN.md §2)."""
    return check_loss(fn, "infonce", seed=current_seed(), temperature=temperature)


def check_arcface(fn: Callable, scale: float = 64.0, margin: float = 0.5) -> CheckResult:
    """Check ``fn(embeddings, labels, proxies [K, D])`` against ArcFace (Deng et al. 2019)."""
    return check_loss(fn, "arcface", seed=current_seed(), scale=scale, margin=margin)


def check_supcon(fn: Callable, temperature: float = 0.1) -> CheckResult:
    """Check ``fn(embeddings, labels)`` against SupCon's L_out (Khosla et al. 2020)."""
    return check_loss(fn, "supcon", seed=current_seed(), temperature=temperature)


def check_ccl(fn: Callable, temperature: float = 0.1, margin: float = 0.2, pull_weight: float = 1.0) -> CheckResult:
    """Check ``fn(embeddings, labels, centers [K, D])`` against our reading of center contrastive loss."""
    return check_loss(fn, "ccl", seed=current_seed(), temperature=temperature, margin=margin, pull_weight=pull_weight)


@grader("check_squared_distances")
def check_squared_distances(fn: Callable) -> CheckResult:
    """Check ``fn(z [B, D]) -> [B, B]`` squared Euclidean distances of unit vectors (d² = 2 − 2 z·z')."""
    for index, case in enumerate(make_cases(current_seed(), edge_cases=False), start=1):
        z = case.embeddings / case.embeddings.norm(dim=1, keepdim=True)
        expected = torch.cdist(z, z).pow(2)
        where = f"On batch {index} ({len(z)} unit vectors in {z.shape[1]}-D)"
        got = call_student(fn, z.clone(), where=where)
        expect_tensor(got, expected.shape, where)
        if not torch.allclose(got.double(), expected, rtol=RTOL, atol=1e-5):
            i, j = divmod(int((got.double() - expected).abs().argmax()), len(z))
            raise Failure(
                f"{where} entry ({i}, {j}) is {fmt(float(got[i, j]))}, expected {fmt(float(expected[i, j]))}.",
                DISTANCES_HINT,
            )
    return "your squared distances match on every batch."
