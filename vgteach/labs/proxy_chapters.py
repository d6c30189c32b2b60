"""The reasoning exercises of the ArcFace, SupCon and CCL chapters.

ArcFace: the angle at which a sample falls silent (:func:`check_silent_angle`). SupCon: the floor of each
anchor's term (:func:`check_floors`), which positives an anchor pushes away (:func:`check_pushed_positives`)
and a batch at the floor without collapse (:func:`check_no_collapse`). CCL: where the pull part of the
gradient outweighs the softmax part (:func:`check_pull_dominates`). Each truth is measured on vgteach's loss
itself, not taken from the closed form the exercise asks for.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import torch
from torch import Tensor

from ..losses import build_loss
from .batches import generator
from .kit import ATOL, RTOL, CheckResult, Failure, as_number, as_tensor, call_student, grader, require_answer


def arcface_silent_angle(scale: float = 64.0, margin: float = 0.5, eps: float = 1e-3, step: float = 0.01) -> float:
    """The largest angle θ (degrees, on a ``step``° grid) between a sample and its own proxy at which
    vgteach's ArcFace term is silent (ℓ ≤ ``eps``), the sample being orthogonal to the only other proxy.

    Measured on the loss itself (two proxies, a sweep of θ), not from the closed form the exercise asks for.
    """
    arcface = build_loss("arcface", num_classes=2, embedding_dim=3, scale=scale, margin=margin).double()
    with torch.no_grad():
        arcface.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))  # own proxy, the other proxy
    degrees = torch.arange(0.0, 180.0, step, dtype=torch.float64)
    radians = torch.deg2rad(degrees)
    z = torch.stack([radians.cos(), radians.sin(), torch.zeros_like(radians)], dim=1)
    silent = ~arcface.terms(z, torch.zeros(len(z), dtype=torch.long)).active(eps)
    return float(degrees[silent].max()) if silent.any() else float("nan")


@grader("check_silent_angle")
def check_silent_angle(
    answer, scale: float = 64.0, margin: float = 0.5, eps: float = 1e-3, tolerance: float = 0.5
) -> CheckResult:
    """Grade the ArcFace exercise "when does a sample fall silent?": ``answer`` is the largest angle, in
    degrees, to its own proxy at which a sample orthogonal to the other proxy has ℓ ≤ ε
    (:func:`arcface_silent_angle`, within ``tolerance`` degrees). ``None`` is graded "not answered yet"."""
    require_answer(answer)
    value = as_number(answer)
    if value is None or not math.isfinite(value):
        raise Failure(f"expected an angle in degrees (a number), got {answer!r}.")
    truth = arcface_silent_angle(scale, margin, eps)
    if abs(value - truth) > tolerance:
        raise Failure(
            f"{value:.1f}° is too {'large' if value > truth else 'small'}.",
            "ℓ = log(1 + e^{−γφ}) ≤ ε  ⇔  φ ≥ log(1 / (e^ε − 1)) / γ; then invert φ = cos(θ + m).",
        )
    return f"{value:.1f}°: vgteach's ArcFace term is silent up to {truth:.1f}°."


#: The label vectors :func:`check_floors` grades on (a single-sample class and an unsorted batch among them).
FLOOR_BATCHES = ([0, 0, 0, 1, 1, 2, 2, 2, 2, 3], [0, 1, 2], [4, 4], [1, 0, 1, 0, 0, 2])


@grader("check_floors")
def check_floors(fn: Callable, temperature: float = 0.1) -> CheckResult:
    """Check ``fn(labels [B]) -> [A]``: the floor log |P(i)| of every SupCon anchor with a positive, in batch
    order, against ``Terms.floor`` of vgteach's SupCon on :data:`FLOOR_BATCHES`."""
    hint = "|P(i)| counts the other samples of i's class; anchors without a positive have no term."
    rng = generator()
    for values in FLOOR_BATCHES:
        labels = torch.tensor(values)
        embeddings = torch.randn(len(labels), 4, generator=rng, dtype=torch.float64)
        floor = build_loss("supcon", temperature=temperature).terms(embeddings, labels).floor
        expected = torch.as_tensor(floor, dtype=torch.float64)
        where = f"For labels {values}"
        got = call_student(fn, labels.clone(), where=where, hint=hint, stub="my_floors")
        floors = as_tensor(got, torch.float64)
        if floors is None:
            raise Failure(f"{where} expected a tensor of floors, got {got!r}.", hint)
        if floors.shape != expected.shape or not torch.allclose(floors, expected, rtol=RTOL, atol=ATOL):
            raise Failure(
                f"{where} you return {[round(x, 4) for x in floors.reshape(-1).tolist()]}, vgteach's "
                f"floors are {[round(x, 4) for x in expected.tolist()]}.",
                hint,
            )
    return f"your floors match vgteach's on all {len(FLOOR_BATCHES)} label vectors."


#: The batches :func:`check_pushed_positives` grades on, ``(labels, embedding dimension)``: random embeddings
#: in few dimensions (so that some positives hold more than their share of a softmax and some less), a class
#: with a single sample and an unsorted batch among them.
PUSH_BATCHES = (([0, 0, 0, 1, 1, 1], 2), ([0, 0, 0, 0, 1, 1, 2, 2], 3), ([1, 0, 1, 0, 1, 2, 2, 3], 3))
#: The landscape's scene (a, p, p₂ of one class at 0°, 40°, 300°; n₁, n₂ at 90°, 220°): a pushes p back.
SCENE_DEGREES, SCENE_LABELS = (0.0, 40.0, 300.0, 90.0, 220.0), [0, 0, 0, 1, 1]


def pushed_positives(embeddings: Tensor, labels: Tensor, temperature: float = 0.1) -> tuple[Tensor, Tensor]:
    """Which positives each SupCon anchor's own term pushes away: ``(pushed [B, B] bool, G [B, B])``.

    G = ∂L/∂S is autograd through vgteach's SupCon with every entry of S = z zᵀ its own variable. Row i of S
    enters only anchor i's term, so G_ip has the sign of ∂ℓ_i/∂s_ip, and gradient descent on ℓ_i lowers
    s_ip (pushes p away from i) where it is positive. ``pushed`` is True at the positive pairs (i, p),
    p ≠ i, y_p = y_i, with G_ip > 0.
    """
    supcon = build_loss("supcon", temperature=temperature).double()
    embeddings = torch.as_tensor(embeddings, dtype=torch.float64).detach().requires_grad_(True)
    labels = torch.as_tensor(labels).long()
    out = supcon.compute(embeddings, labels)
    (gradient,) = torch.autograd.grad(out.loss, out.similarity.matrix)
    positive = (labels[:, None] == labels[None, :]) & ~torch.eye(len(labels), dtype=torch.bool)
    return positive & (gradient > 0), gradient


def _push_cases() -> list[tuple[str, Tensor, Tensor]]:
    """``(description, embeddings, labels)`` of :data:`PUSH_BATCHES` and the landscape's scene."""
    rng = generator()
    cases = [
        (f"labels {values}", torch.randn(len(values), dim, generator=rng, dtype=torch.float64), torch.tensor(values))
        for values, dim in PUSH_BATCHES
    ]
    angles = torch.deg2rad(torch.tensor(SCENE_DEGREES, dtype=torch.float64))
    scene = torch.stack([angles.cos(), angles.sin()], dim=1)
    return cases + [("the landscape's five points", scene, torch.tensor(SCENE_LABELS))]


@grader("check_pushed_positives")
def check_pushed_positives(fn: Callable, temperature: float = 0.1) -> CheckResult:
    """Check ``fn(embeddings [B, D], labels [B], temperature=) -> bool [B, B]``: True at (i, p) where anchor i's
    own SupCon term pushes its positive p away (:func:`pushed_positives`), False everywhere else, on
    :data:`PUSH_BATCHES` and the landscape's scene. Pairs whose gradient is 0 within 1e-12 are not graded."""
    hint = "anchor i pushes p away when q_ip > 1/|P(i)|: p holds more than its share."
    total = 0
    for description, embeddings, labels in _push_cases():
        expected, gradient = pushed_positives(embeddings, labels, temperature)
        where = f"On {description}"
        got = call_student(
            functools.partial(fn, temperature=temperature),
            embeddings.clone(),
            labels.clone(),
            where=where,
            hint=hint,
            stub="my_pushed",
        )
        got = as_tensor(got)
        if got is None or got.shape != expected.shape:
            shape = "nothing" if got is None else f"shape {tuple(got.shape)}"
            raise Failure(f"{where} expected a boolean tensor [B, B], got {shape}.", hint)
        got = got.bool()
        positive = (labels[:, None] == labels[None, :]) & ~torch.eye(len(labels), dtype=torch.bool)
        if (got & ~positive).any():
            raise Failure(f"{where} you mark a pair that is not a positive pair.", "only (i, p), p ≠ i, y_p = y_i.")
        graded = positive & (gradient.abs() > 1e-12)
        wrong = int((got != expected)[graded].sum())
        if wrong:
            raise Failure(f"{where} {wrong} of {int(graded.sum())} positive pairs disagree.", hint)
        total += int(graded.sum())
    return f"you match autograd on all {total} positive pairs."


def _six_samples(got) -> tuple[Tensor, Tensor]:
    """``(embeddings [6, D], labels [6])`` from the student's answer, three of each of two classes."""
    try:
        embeddings, labels = got
        embeddings, labels = torch.as_tensor(embeddings, dtype=torch.float64), torch.as_tensor(labels).long()
    except (TypeError, ValueError, RuntimeError):
        raise Failure(f"expected a pair (embeddings [6, D], labels [6]), got {got!r}.") from None
    if embeddings.ndim != 2 or len(embeddings) != 6 or labels.shape != (6,) or (labels < 0).any():
        raise Failure(
            f"expected embeddings [6, D] and labels [6], got {tuple(embeddings.shape)} and {tuple(labels.shape)}."
        )
    if sorted(torch.bincount(labels).tolist()) != [0] * (int(labels.max()) - 1) + [3, 3]:
        raise Failure("expected three samples of each of two classes.")
    return embeddings, labels


@grader("check_no_collapse")
def check_no_collapse(
    fn: Callable, max_cosine: float = 0.99, temperature: float = 0.1, eps: float = 1e-3
) -> CheckResult:
    """Check ``fn() -> (embeddings [6, D], labels [6])``: three samples of each of two classes where every
    SupCon anchor is within ``eps`` of its floor (none active) while no two samples of a class have a
    cosine of ``max_cosine`` or more: SupCon's floor reached without collapse."""
    embeddings, labels = _six_samples(call_student(fn, stub="my_batch"))
    z = embeddings / embeddings.norm(dim=1, keepdim=True)
    same = (labels[:, None] == labels[None, :]) & ~torch.eye(len(z), dtype=torch.bool)
    closest = float((z @ z.T)[same].max())
    if closest >= max_cosine:
        raise Failure(f"two samples of a class nearly coincide (cosine {closest:.3f}): that is collapse.")
    terms = build_loss("supcon", temperature=temperature).terms(embeddings, labels)
    gap = float((terms.values - torch.as_tensor(terms.floor, dtype=terms.values.dtype)).max())
    if terms.active(eps).any():
        raise Failure(
            f"an anchor is still {gap:.2g} above its floor.",
            f"each anchor must see its two positives at the same cosine, and the negatives far lower (τ = {temperature:g}).",
        )
    return f"all anchors within {gap:.1g} of their floor; closest positives: cosine {closest:.2f}."


def ccl_gradient_parts(embeddings: Tensor, labels: Tensor, loss_fn) -> tuple[Tensor, Tensor]:
    """Per-sample gradients ∂L/∂e [B, D] of CCL's softmax part and of its pull part: autograd through
    vgteach's CCL (float64, on the unit-length ``embeddings``) with the centers of ``loss_fn`` and
    ``pull_weight`` 0 and ``loss_fn.pull_weight``."""
    z = torch.as_tensor(embeddings).detach().double()
    z = z / z.norm(dim=1, keepdim=True)

    def gradient(pull_weight: float) -> Tensor:
        part = build_loss(
            "ccl",
            num_classes=loss_fn.num_classes,
            embedding_dim=loss_fn.embedding_dim,
            temperature=loss_fn.temperature,
            margin=loss_fn.margin,
            pull_weight=pull_weight,
        ).double()
        with torch.no_grad():
            part.centers.copy_(loss_fn.centers.detach().double())
        e = z.clone().requires_grad_(True)
        return torch.autograd.grad(part(e, labels), e)[0]

    softmax_part = gradient(0.0)
    return softmax_part, gradient(loss_fn.pull_weight) - softmax_part


@grader("check_pull_dominates")
def check_pull_dominates(fn: Callable, embeddings: Tensor, labels: Tensor, loss_fn) -> CheckResult:
    """Check ``fn(embeddings, labels, centers, temperature=, margin=, pull_weight=) -> bool [B]``: True where
    the pull part of a sample's CCL gradient (on the sphere) is larger than its softmax part, for the batch
    ``(embeddings, labels)`` and the trained CCL ``loss_fn`` (its centers and hyper-parameters), against
    :func:`ccl_gradient_parts`. Samples whose two parts tie (within 1e-9) are not graded."""
    softmax_part, pull_part = ccl_gradient_parts(embeddings, labels, loss_fn)
    difference = pull_part.norm(dim=1) - softmax_part.norm(dim=1)
    expected, clear = difference > 0, difference.abs() > 1e-9
    hparams = dict(temperature=loss_fn.temperature, margin=loss_fn.margin, pull_weight=loss_fn.pull_weight)
    got = call_student(
        functools.partial(fn, **hparams),
        torch.as_tensor(embeddings).detach().double().clone(),
        torch.as_tensor(labels).clone(),
        loss_fn.centers.detach().double().clone(),
        stub="my_pull_dominates",
    )
    got = as_tensor(got)
    if got is None or got.shape != expected.shape:
        shape = "nothing" if got is None else f"shape {tuple(got.shape)}"
        raise Failure(f"expected a boolean tensor of shape {tuple(expected.shape)}, got {shape}.")
    wrong = int((got.bool() != expected)[clear].sum())
    if wrong:
        raise Failure(
            f"{wrong} of {int(clear.sum())} samples disagree with autograd.",
            "softmax part Σ_k (q_ik − δ_ky)/τ · ĉ_k, pull part −2λ ĉ_y; compare their tangential parts, (I − z zᵀ) g.",
        )
    dominated = int(expected[clear].sum())
    return f"you match autograd on all {int(clear.sum())} samples; the pull dominates for {dominated} of them."
