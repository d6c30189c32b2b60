r"""Self-checks for the book's labs: compare a student's function with vgteach on random batches.

Every ``check_*`` function calls the student's function on a fixed set of small random batches (with a
few awkward ones at the end: embeddings that are not unit-length, a class with a single sample, a batch
without negatives, one without positives), compares the result with the library's, and returns a
:class:`CheckResult`: truthy when everything matched, and printed as a short, friendly message that says
*which* batch failed, what was expected, and what usually causes that mistake.

>>> from vgteach.labs import check_contrastive
>>> def my_contrastive(embeddings, labels, margin=1.0):
...     ...                                   # the student's code
>>> check_contrastive(my_contrastive)         # ✅ or ❌ with a hint

Loss checks compare both the value and the gradient ∂L/∂e (autograd through the student's code), in
float64, so a loss that is right "on paper" but cuts the gradient (``.item()``, NumPy) is caught too.
The definitions checked against are those of DESIGN.md §2–3 (the project's reading of Zeng et al.,
"Variance & Greediness", ICASSP 2026).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch
from torch import Tensor

from .losses import LOSS_NAMES, build_loss

#: Tolerances of every comparison (float64 inputs; lenient enough for float32 constants in student code).
RTOL, ATOL = 1e-4, 1e-6


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a self-check: ``bool(result)`` is ``passed``; printing it shows ``message``."""

    name: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    __repr__ = __str__


@dataclass(frozen=True)
class Case:
    """One test batch: float64 ``embeddings [B, D]``, ``labels [B]`` and a description for messages."""

    description: str
    embeddings: Tensor
    labels: Tensor

    @property
    def num_classes(self) -> int:
        return int(self.labels.max()) + 1

    @property
    def unit_length(self) -> bool:
        norms = self.embeddings.norm(dim=1)
        return bool(torch.allclose(norms, torch.ones_like(norms)))


def make_cases(seed: int = 0, edge_cases: bool = True) -> list[Case]:
    """The batches every check uses: ordinary ones first, awkward ones (``edge_cases``) last."""
    generator = torch.Generator().manual_seed(seed)

    def batch(labels: Sequence[int], dim: int, scale: float = 1.0, unit: bool = False) -> tuple:
        e = torch.randn(len(labels), dim, generator=generator, dtype=torch.float64)
        if unit:
            e = e / e.norm(dim=1, keepdim=True)
        else:
            # rows of different lengths: a correct loss must not care (it works on z = e / ||e||)
            e = e * scale * torch.rand(len(labels), 1, generator=generator, dtype=torch.float64).add(0.5)
        return e, torch.tensor(labels, dtype=torch.long)

    specs = [
        ("12 embeddings in 8-D (not unit-length), 4 classes", [0, 1, 2, 3] * 3, 8, 3.0, False),
        ("8 unit-length embeddings in 4-D, 3 classes", [0, 0, 0, 1, 1, 2, 2, 2], 4, 1.0, True),
        ("16 embeddings in 32-D (not unit-length), 2 classes", [0] * 7 + [1] * 9, 32, 0.2, False),
    ]
    if edge_cases:
        specs += [
            ("10 embeddings where class 3 has a single sample", [0, 0, 1, 1, 1, 2, 2, 0, 3, 2], 6, 1.0, False),
            ("6 embeddings of one class (no negatives at all)", [0] * 6, 5, 1.0, False),
            ("5 embeddings of five classes (no positives at all)", [0, 1, 2, 3, 4], 5, 1.0, False),
        ]
    return [Case(description, *batch(labels, dim, scale, unit)) for description, labels, dim, scale, unit in specs]


# --------------------------------------------------------------------------------------------- helpers
def _ok(name: str, message: str) -> CheckResult:
    return CheckResult(name, True, f"✅ {message}")


def _fail(name: str, message: str, hint: str = "") -> CheckResult:
    text = f"❌ {message}"
    if hint:
        text += f"\n   Hint: {hint}"
    return CheckResult(name, False, text)


def _call(fn: Callable, *args):
    """``(result, None)`` or ``(None, "TypeError: …")`` — the student's exception, reported, not raised."""
    try:
        return fn(*args), None
    except NotImplementedError:
        return None, "NotImplementedError: it is not written yet. Fill in its body and run the check again"
    except Exception as exc:  # noqa: BLE001 — any error in student code becomes a message
        return None, f"{type(exc).__name__}: {exc}"


def _as_number(value) -> Optional[float]:
    """A Python float from a 0-dim tensor / 1-element tensor / number; ``None`` if it is none of these."""
    if isinstance(value, Tensor):
        return float(value.detach().reshape(-1)[0]) if value.numel() == 1 else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:  # NumPy scalars and 0-d arrays
        return float(value)
    except (TypeError, ValueError):
        return None


def _close(got: float, expected: float) -> bool:
    return math.isclose(got, expected, rel_tol=RTOL, abs_tol=ATOL)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


# ------------------------------------------------------------------------------------------ loss checks
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
    name = f"check_{loss_name}"
    hint = LOSS_HINTS[loss_name]
    cases = make_cases(seed)
    for index, case in enumerate(cases, start=1):
        reference, extra = _reference_loss(loss_name, case, seed, hparams)
        e_ref = case.embeddings.clone().requires_grad_(True)
        loss = reference(e_ref, case.labels)
        loss.backward()
        expected = float(loss.detach())

        e_student = case.embeddings.clone().requires_grad_(True)
        got, error = _call(fn, e_student, case.labels.clone(), *[p.clone() for p in extra])
        where = f"On batch {index} ({case.description})"
        if error:
            return _fail(name, f"{where} your function raised {error}", hint)
        value = _as_number(got)
        if value is None:
            return _fail(
                name,
                f"{where} your function returned {type(got).__name__} "
                f"{tuple(getattr(got, 'shape', ()))}; a loss must be a single number "
                "(a 0-dim tensor): reduce the terms with .mean() or .sum().",
            )
        if not math.isfinite(value):
            return _fail(
                name,
                f"{where} your function returned {value}, vgteach gives {_fmt(expected)}.",
                "a mean over an empty set is NaN in torch; DESIGN.md defines it as 0. " + hint,
            )
        if not _close(value, expected):
            message = f"{where} you return {_fmt(value)}, vgteach gives {_fmt(expected)}."
            return _fail(name, message, _normalisation_hint(fn, case, extra, expected) or hint)
        if not (isinstance(got, Tensor) and got.requires_grad):
            return _fail(
                name,
                f"{where} the value is right, but no gradient flows back to the embeddings.",
                "build the loss from torch operations on the embeddings only (no .item(), "
                ".detach(), .numpy() or torch.tensor(...) around intermediate results).",
            )
        grad, error = _call(lambda: torch.autograd.grad(got, e_student, allow_unused=True)[0])
        if error or grad is None:
            return _fail(name, f"{where} autograd could not differentiate your loss ({error or 'unused input'}).")
        if not torch.allclose(grad, e_ref.grad, rtol=RTOL, atol=ATOL):
            worst = int((grad - e_ref.grad).norm(dim=1).argmax())
            return _fail(
                name,
                f"{where} the value matches but the gradient does not: for sample {worst}, "
                f"||∂L/∂e|| is {_fmt(float(grad[worst].norm()))} instead of "
                f"{_fmt(float(e_ref.grad[worst].norm()))}.",
                _radial_hint(grad, e_ref.grad, case.embeddings)
                or (
                    "a term that is clamped, detached or counted twice changes the gradient but "
                    "not always the value. " + hint
                ),
            )
    return _ok(
        name,
        f"your {loss_name} loss matches vgteach on all {len(cases)} batches, value and "
        "gradient (including the awkward ones: lengths ≠ 1, singleton classes, no negatives, "
        "no positives).",
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
    got, error = _call(fn, unit, case.labels.clone(), *[p.clone() for p in extra])
    value = None if error else _as_number(got)
    if value is not None and _close(value, expected):
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
    return check_loss(fn, "contrastive", margin=margin)


def check_triplet(fn: Callable, margin: float = 0.2) -> CheckResult:
    """Check ``fn(embeddings, labels)`` against the batch-all triplet loss (mean over active triplets)."""
    return check_loss(fn, "triplet", margin=margin)


def check_npair(fn: Callable, scale: float = 1.0) -> CheckResult:
    """Check ``fn(embeddings, labels)`` against the N-pair loss (Sohn 2016, DESIGN.md §2)."""
    return check_loss(fn, "npair", scale=scale)


def check_infonce(fn: Callable, temperature: float = 0.1) -> CheckResult:
    """Check ``fn(embeddings, labels)`` against supervised InfoNCE / NT-Xent (DESIGN.md §2)."""
    return check_loss(fn, "infonce", temperature=temperature)


def check_arcface(fn: Callable, scale: float = 64.0, margin: float = 0.5) -> CheckResult:
    """Check ``fn(embeddings, labels, proxies [K, D])`` against ArcFace (Deng et al. 2019)."""
    return check_loss(fn, "arcface", scale=scale, margin=margin)


def check_supcon(fn: Callable, temperature: float = 0.1) -> CheckResult:
    """Check ``fn(embeddings, labels)`` against SupCon's L_out (Khosla et al. 2020)."""
    return check_loss(fn, "supcon", temperature=temperature)


def check_ccl(fn: Callable, temperature: float = 0.1, margin: float = 0.2, pull_weight: float = 1.0) -> CheckResult:
    """Check ``fn(embeddings, labels, centers [K, D])`` against our reading of center contrastive loss."""
    return check_loss(fn, "ccl", temperature=temperature, margin=margin, pull_weight=pull_weight)


# ------------------------------------------------------------------------------------ geometry checks
def check_squared_distances(fn: Callable) -> CheckResult:
    """Check ``fn(z [B, D]) -> [B, B]`` squared Euclidean distances of unit vectors (d² = 2 − 2 z·z')."""
    name = "check_squared_distances"
    for index, case in enumerate(make_cases(edge_cases=False), start=1):
        z = case.embeddings / case.embeddings.norm(dim=1, keepdim=True)
        expected = torch.cdist(z, z).pow(2)
        got, error = _call(fn, z.clone())
        where = f"On batch {index} ({len(z)} unit vectors in {z.shape[1]}-D)"
        if error:
            return _fail(name, f"{where} your function raised {error}")
        if not isinstance(got, Tensor) or tuple(got.shape) != tuple(expected.shape):
            return _fail(
                name,
                f"{where} expected a tensor of shape {tuple(expected.shape)}, got "
                f"{type(got).__name__} {tuple(getattr(got, 'shape', ()))}.",
            )
        if not torch.allclose(got.double(), expected, rtol=RTOL, atol=1e-5):
            i, j = divmod(int((got.double() - expected).abs().argmax()), len(z))
            return _fail(
                name,
                f"{where} entry ({i}, {j}) is {_fmt(float(got[i, j]))}, expected {_fmt(float(expected[i, j]))}.",
                "for unit vectors ||z_i − z_j||² = 2 − 2 z_i·z_j, so the whole matrix is "
                "2 − 2 z @ z.T (clamp tiny negatives to 0).",
            )
    return _ok(name, "your squared distances match on every batch.")


def check_variance(fn: Callable) -> CheckResult:
    """Check ``fn(embeddings, labels) -> (intra, inter)`` against :func:`vgteach.diagnostics.variance_stats`.

    ``intra`` = mean over classes of the mean squared distance of z to its class mean; ``inter`` = mean
    over ordered pairs of classes c ≠ c' of ||μ_c − μ_c'||², on L2-normalised z (DESIGN.md §3).
    """
    from .diagnostics import variance_stats

    name = "check_variance"
    hint = (
        "normalise (z = e/||e||), take the class means μ_c of z, intra = mean over classes of "
        "mean_i ||z_i − μ_c||² (every class counts once, whatever its size), inter = mean over "
        "pairs c ≠ c' of ||μ_c − μ_c'||²."
    )
    cases = [case for case in make_cases() if case.num_classes > 1 and "no negatives" not in case.description]
    for index, case in enumerate(cases, start=1):
        stats = variance_stats(case.embeddings, case.labels)
        got, error = _call(fn, case.embeddings.clone(), case.labels.clone())
        where = f"On batch {index} ({case.description})"
        if error:
            return _fail(name, f"{where} your function raised {error}", hint)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return _fail(name, f"{where} expected a pair (intra, inter), got {type(got).__name__}.")
        for label, value, expected in (("intra", got[0], stats["intra"]), ("inter", got[1], stats["inter"])):
            value = _as_number(value)
            if value is None or not _close(value, expected):
                return _fail(
                    name,
                    f"{where} your {label} is {value if value is None else _fmt(value)}, "
                    f"vgteach gives {_fmt(expected)}.",
                    hint,
                )
    return _ok(name, f"your intra- and inter-class variances match variance_stats on all {len(cases)} batches.")


def check_recall_at_k(fn: Callable, k: int = 1) -> CheckResult:
    """Check ``fn(embeddings, labels, k) -> float`` against leave-one-out cosine recall@k
    (:func:`vgteach.retrieval.retrieval_metrics`)."""
    from .retrieval import retrieval_metrics

    name = f"check_recall_at_k(k={k})"
    hint = (
        "rank the *other* samples by cosine similarity (exclude the query itself), a query scores 1 "
        "if any of its top-k neighbours shares its label, and queries whose class has no other member "
        "are left out of the average."
    )
    cases = [case for case in make_cases() if "no positives" not in case.description]
    for index, case in enumerate(cases, start=1):
        expected = retrieval_metrics(case.embeddings, case.labels, ks=(k,), nmi=False)[f"recall@{k}"]
        got, error = _call(fn, case.embeddings.clone(), case.labels.clone(), k)
        where = f"On batch {index} ({case.description})"
        if error:
            return _fail(name, f"{where} your function raised {error}", hint)
        value = _as_number(got)
        if value is None or not _close(value, expected):
            return _fail(name, f"{where} you return {got!r}, vgteach gives {_fmt(expected)}.", hint)
    return _ok(name, f"your recall@{k} matches retrieval_metrics on all {len(cases)} batches.")


# ---------------------------------------------------------------------------------- greediness checks
def check_triplet_active(fn: Callable, margin: float = 0.2) -> CheckResult:
    """Check ``fn(embeddings, labels, margin) -> (num_active, num_terms)``: the active and valid triplets
    of the batch-all triplet loss (what :meth:`TripletLoss.compute` counts)."""
    name = "check_triplet_active"
    hint = (
        "a valid triplet has y_a = y_p, a ≠ p and y_n ≠ y_a; it is active iff d²_ap − d²_an + α > 0. "
        "With P(a) positives and N(a) negatives, anchor a has P(a)·N(a) valid triplets."
    )
    reference = build_loss("triplet", margin=margin)
    cases = make_cases()
    for index, case in enumerate(cases, start=1):
        out = reference.compute(case.embeddings, case.labels)
        expected = (int(out.num_active), int(out.num_terms))
        got, error = _call(fn, case.embeddings.clone(), case.labels.clone(), margin)
        where = f"On batch {index} ({case.description})"
        if error:
            return _fail(name, f"{where} your function raised {error}", hint)
        try:
            got_pair = (int(got[0]), int(got[1]))
        except (TypeError, ValueError, IndexError):
            return _fail(name, f"{where} expected a pair of integers (num_active, num_terms), got {got!r}.")
        if got_pair != expected:
            return _fail(
                name,
                f"{where} you count {got_pair[0]} active of {got_pair[1]} triplets, vgteach "
                f"counts {expected[0]} of {expected[1]}.",
                hint,
            )
    return _ok(name, f"your triplet counts match on all {len(cases)} batches.")


def check_grad_norms(fn: Callable, loss_names: Sequence[str] = ("contrastive", "triplet", "infonce")) -> CheckResult:
    """Check ``fn(loss_fn, embeddings, labels) -> Tensor [B]`` of per-sample gradient norms ||∂L/∂e_i||."""
    name = "check_grad_norms"
    hint = (
        "make a leaf copy e = embeddings.detach().clone().requires_grad_(True), compute "
        "loss_fn(e, labels), then torch.autograd.grad(loss, e)[0].norm(dim=1)."
    )
    cases = make_cases(edge_cases=False)
    for loss_name in loss_names:
        loss_fn = build_loss(loss_name).double()
        for index, case in enumerate(cases, start=1):
            e = case.embeddings.clone().requires_grad_(True)
            expected = torch.autograd.grad(loss_fn(e, case.labels), e)[0].norm(dim=1)
            got, error = _call(fn, loss_fn, case.embeddings.clone(), case.labels.clone())
            where = f"With {loss_name} on batch {index} ({case.description})"
            if error:
                return _fail(name, f"{where} your function raised {error}", hint)
            if not isinstance(got, Tensor) or got.shape != expected.shape:
                return _fail(
                    name,
                    f"{where} expected a tensor of shape {tuple(expected.shape)}, got "
                    f"{type(got).__name__} {tuple(getattr(got, 'shape', ()))}.",
                    hint,
                )
            if not torch.allclose(got.detach().double(), expected, rtol=RTOL, atol=ATOL):
                return _fail(
                    name, f"{where} your norms {got.detach()[:3].tolist()}… differ from {expected[:3].tolist()}….", hint
                )
    return _ok(name, f"your per-sample gradient norms match autograd for {', '.join(loss_names)}.")


def check_gini(fn: Callable) -> CheckResult:
    """Check ``fn(values 1-D tensor) -> float`` against :func:`vgteach.diagnostics.gini`."""
    from .diagnostics import gini

    name = "check_gini"
    hint = (
        "sort the values, then G = Σ_i (2i − n − 1)·x_(i) / (n·Σ x) with i = 1..n; all equal → 0, "
        "a single non-zero value → (n − 1)/n."
    )
    generator = torch.Generator().manual_seed(0)
    cases = [
        ("eight equal values", torch.full((8,), 0.3, dtype=torch.float64)),
        ("one non-zero value among ten", torch.tensor([0.0] * 9 + [2.0], dtype=torch.float64)),
        ("100 exponential values", torch.empty(100, dtype=torch.float64).exponential_(generator=generator)),
        ("50 uniform values, unsorted", torch.rand(50, generator=generator, dtype=torch.float64)),
    ]
    for description, values in cases:
        expected = gini(values)
        got, error = _call(fn, values.clone())
        if error:
            return _fail(name, f"On {description} your function raised {error}", hint)
        value = _as_number(got)
        if value is None or not _close(value, expected):
            return _fail(name, f"On {description} you return {got!r}, vgteach gives {_fmt(expected)}.", hint)
    return _ok(name, f"your Gini coefficient matches vgteach on all {len(cases)} inputs.")


# ------------------------------------------------------------------------------- prediction questions
#: What a term of each pair loss is about, as :func:`term_keys` names it.
TERM_KEYS = {
    "contrastive": "(i, j) with i < j: every unordered pair",
    "triplet": "(a, p, n): y_p = y_a, p ≠ a, y_n ≠ y_a",
    "infonce": "(i, p): every ordered positive pair, p ≠ i, y_p = y_i",
    "npair": "(a,): the anchor, the first sample of a label present at least twice",
}
NOT_ANSWERED = "Not answered yet: replace None by your answer and run the cell again."


def term_keys(loss_name: str, labels: Tensor) -> list:
    """The batch indices each term of ``loss_name`` is about, in the order of ``build_loss(...).terms``:
    see :data:`TERM_KEYS` (contrastive, triplet, infonce, npair)."""
    if loss_name not in TERM_KEYS:
        raise ValueError(f"term_keys knows {sorted(TERM_KEYS)}, not {loss_name!r}")
    labels = [int(label) for label in torch.as_tensor(labels).tolist()]
    indices = range(len(labels))
    if loss_name == "contrastive":
        return [(i, j) for i in indices for j in indices if i < j]
    if loss_name == "triplet":
        return [
            (a, p, n)
            for a in indices
            for p in indices
            if p != a and labels[p] == labels[a]
            for n in indices
            if labels[n] != labels[a]
        ]
    if loss_name == "infonce":
        return [(i, p) for i in indices for p in indices if p != i and labels[p] == labels[i]]
    from .losses.npair import first_two_per_label

    anchors, _ = first_two_per_label(torch.as_tensor(labels))
    return [(a,) for a in anchors.tolist()] if len(anchors) >= 2 else []


def _keys(answer) -> Optional[set]:
    try:
        return {tuple(int(x) for x in (key if isinstance(key, (tuple, list)) else (key,))) for key in answer}
    except (TypeError, ValueError):
        return None


def _listed(keys) -> str:
    return ", ".join(str(key[0]) if len(key) == 1 else str(key) for key in sorted(keys)) or "none"


def check_active_prediction(answer, embeddings: Tensor, labels: Tensor, loss_name: str, **hparams) -> CheckResult:
    """Grade a prediction: the terms of ``loss_name`` that are active on the batch ``(embeddings, labels)``.

    ``answer`` is an iterable of term keys (:func:`term_keys`: tuples of batch indices, e.g. ``{(0, 2)}`` for
    a contrastive pair), or ``None`` while not answered (graded "not answered yet", never an error). The
    truth is ``build_loss(loss_name, **hparams).terms(embeddings, labels).active()``.
    """
    name = f"check_active_prediction({loss_name})"
    if answer is None:
        return CheckResult(name, False, f"❌ {NOT_ANSWERED}")
    keys = term_keys(loss_name, labels)
    active = build_loss(loss_name, **hparams).terms(embeddings, labels).active().tolist()
    truth = {key for key, on in zip(keys, active) if on}
    given = _keys(answer)
    if given is None:
        return _fail(name, f"expected a set of terms such as {keys[0] if keys else ()}, got {answer!r}.")
    unknown = given - set(keys)
    if unknown:
        return _fail(
            name,
            f"{_listed(unknown)} {'is' if len(unknown) == 1 else 'are'} not terms of {loss_name}.",
            f"the terms are {TERM_KEYS[loss_name]}.",
        )
    if given != truth:
        return _fail(name, _not_quite(given, truth, "inactive") + f" ({len(truth)} of {len(keys)} terms are active).")
    return _ok(name, f"right: {_listed(truth)} ({len(truth)} of {len(keys)} terms) are active.")


def _not_quite(given: set, truth: set, wrongly_given: str) -> str:
    """'Not quite: <given but false> <wrongly_given>; missed <true but not given>' of a set answer."""
    extra, missed = given - truth, truth - given
    parts = ([f"{_listed(extra)} {wrongly_given}"] if extra else []) + ([f"missed {_listed(missed)}"] if missed else [])
    return "Not quite: " + "; ".join(parts)


def check_gradient_prediction(answer, embeddings: Tensor, labels: Tensor, loss_name: str, **hparams) -> CheckResult:
    """Grade a prediction: which samples of the batch receive a non-zero gradient from ``loss_name``.

    ``answer`` is an iterable of batch indices, or ``None`` while not answered. The truth is autograd's
    ``‖∂L/∂e_i‖ > 0`` through ``build_loss(loss_name, **hparams)``.
    """
    name = f"check_gradient_prediction({loss_name})"
    if answer is None:
        return CheckResult(name, False, f"❌ {NOT_ANSWERED}")
    e = torch.as_tensor(embeddings, dtype=torch.float64).clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(build_loss(loss_name, **hparams).double()(e, labels), e)
    truth = {(i,) for i, norm in enumerate(grad.norm(dim=1).tolist()) if norm > 0}
    given = _keys(answer)
    if given is None or any(len(key) != 1 or not 0 <= key[0] < len(e) for key in given):
        return _fail(name, f"expected a set of batch indices 0..{len(e) - 1}, got {answer!r}.")
    if given != truth:
        return _fail(
            name, _not_quite(given, truth, "get no gradient") + f" ({len(truth)} of {len(e)} samples get one)."
        )
    return _ok(name, f"right: samples {_listed(truth)} get a gradient, the other {len(e) - len(truth)} none.")


# ------------------------------------------------------------------- reasoning exercises of the chapters
NOT_WRITTEN = "is not written yet: fill in its body and run the cell again."


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


def check_silent_angle(
    answer, scale: float = 64.0, margin: float = 0.5, eps: float = 1e-3, tolerance: float = 0.5
) -> CheckResult:
    """Grade the ArcFace exercise "when does a sample fall silent?": ``answer`` is the largest angle, in
    degrees, to its own proxy at which a sample orthogonal to the other proxy has ℓ ≤ ε
    (:func:`arcface_silent_angle`, within ``tolerance`` degrees). ``None`` is graded "not answered yet"."""
    name = "check_silent_angle"
    if answer is None:
        return CheckResult(name, False, f"❌ {NOT_ANSWERED}")
    value = _as_number(answer)
    if value is None or not math.isfinite(value):
        return _fail(name, f"expected an angle in degrees (a number), got {answer!r}.")
    truth = arcface_silent_angle(scale, margin, eps)
    if abs(value - truth) <= tolerance:
        return _ok(name, f"{value:.1f}°: vgteach's ArcFace term is silent up to {truth:.1f}°.")
    return _fail(
        name,
        f"{value:.1f}° is too {'large' if value > truth else 'small'}.",
        "ℓ = log(1 + e^{−γφ}) ≤ ε  ⇔  φ ≥ log(1 / (e^ε − 1)) / γ; then invert φ = cos(θ + m).",
    )


#: The label vectors :func:`check_floors` grades on (a single-sample class and an unsorted batch among them).
FLOOR_BATCHES = ([0, 0, 0, 1, 1, 2, 2, 2, 2, 3], [0, 1, 2], [4, 4], [1, 0, 1, 0, 0, 2])


def check_floors(fn: Callable, temperature: float = 0.1) -> CheckResult:
    """Check ``fn(labels [B]) -> [A]``: the floor log |P(i)| of every SupCon anchor with a positive, in batch
    order, against ``Terms.floor`` of vgteach's SupCon on :data:`FLOOR_BATCHES`."""
    name = "check_floors"
    hint = "|P(i)| counts the other samples of i's class; anchors without a positive have no term."
    generator = torch.Generator().manual_seed(0)
    for values in FLOOR_BATCHES:
        labels = torch.tensor(values)
        embeddings = torch.randn(len(labels), 4, generator=generator, dtype=torch.float64)
        floor = build_loss("supcon", temperature=temperature).terms(embeddings, labels).floor
        expected = torch.as_tensor(floor, dtype=torch.float64)
        got, error = _call(fn, labels.clone())
        if error and error.startswith("NotImplementedError"):
            return _fail(name, f"my_floors {NOT_WRITTEN}")
        if error:
            return _fail(name, f"For labels {values} your function raised {error}", hint)
        try:
            got = torch.as_tensor(got, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            return _fail(name, f"For labels {values} expected a tensor of floors, got {got!r}.", hint)
        if got.shape != expected.shape or not torch.allclose(got, expected, rtol=RTOL, atol=ATOL):
            return _fail(
                name,
                f"For labels {values} you return {[round(x, 4) for x in got.reshape(-1).tolist()]}, vgteach's "
                f"floors are {[round(x, 4) for x in expected.tolist()]}.",
                hint,
            )
    return _ok(name, f"your floors match vgteach's on all {len(FLOOR_BATCHES)} label vectors.")


def check_no_collapse(
    fn: Callable, max_cosine: float = 0.99, temperature: float = 0.1, eps: float = 1e-3
) -> CheckResult:
    """Check ``fn() -> (embeddings [6, D], labels [6])``: three samples of each of two classes where every
    SupCon anchor is within ``eps`` of its floor (none active) while no two samples of a class have a
    cosine of ``max_cosine`` or more: SupCon's floor reached without collapse."""
    name = "check_no_collapse"
    got, error = _call(fn)
    if error:
        if error.startswith("NotImplementedError"):
            return _fail(name, f"my_batch {NOT_WRITTEN}")
        return _fail(name, f"your function raised {error}")
    try:
        embeddings, labels = got
        embeddings, labels = torch.as_tensor(embeddings, dtype=torch.float64), torch.as_tensor(labels).long()
    except (TypeError, ValueError, RuntimeError):
        return _fail(name, f"expected a pair (embeddings [6, D], labels [6]), got {got!r}.")
    if embeddings.ndim != 2 or len(embeddings) != 6 or labels.shape != (6,) or (labels < 0).any():
        return _fail(
            name, f"expected embeddings [6, D] and labels [6], got {tuple(embeddings.shape)} and {tuple(labels.shape)}."
        )
    if sorted(torch.bincount(labels).tolist()) != [0] * (int(labels.max()) - 1) + [3, 3]:
        return _fail(name, "expected three samples of each of two classes.")
    z = embeddings / embeddings.norm(dim=1, keepdim=True)
    same = (labels[:, None] == labels[None, :]) & ~torch.eye(len(z), dtype=torch.bool)
    closest = float((z @ z.T)[same].max())
    if closest >= max_cosine:
        return _fail(name, f"two samples of a class nearly coincide (cosine {closest:.3f}): that is collapse.")
    terms = build_loss("supcon", temperature=temperature).terms(embeddings, labels)
    gap = float((terms.values - torch.as_tensor(terms.floor, dtype=terms.values.dtype)).max())
    if terms.active(eps).any():
        return _fail(
            name,
            f"an anchor is still {gap:.2g} above its floor.",
            f"each anchor must see its two positives at the same cosine, and the negatives far lower (τ = {temperature:g}).",
        )
    return _ok(
        name,
        f"every anchor is within {gap:.1g} of its floor, and no two positives come closer than cosine {closest:.3f}.",
    )


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


def check_pull_dominates(fn: Callable, embeddings: Tensor, labels: Tensor, loss_fn) -> CheckResult:
    """Check ``fn(embeddings, labels, centers, temperature=, margin=, pull_weight=) -> bool [B]``: True where
    the pull part of a sample's CCL gradient (on the sphere) is larger than its softmax part, for the batch
    ``(embeddings, labels)`` and the trained CCL ``loss_fn`` (its centers and hyper-parameters), against
    :func:`ccl_gradient_parts`. Samples whose two parts tie (within 1e-9) are not graded."""
    name = "check_pull_dominates"
    softmax_part, pull_part = ccl_gradient_parts(embeddings, labels, loss_fn)
    difference = pull_part.norm(dim=1) - softmax_part.norm(dim=1)
    expected, clear = difference > 0, difference.abs() > 1e-9
    hparams = dict(temperature=loss_fn.temperature, margin=loss_fn.margin, pull_weight=loss_fn.pull_weight)
    arguments = (
        torch.as_tensor(embeddings).detach().double().clone(),
        torch.as_tensor(labels).clone(),
        loss_fn.centers.detach().double().clone(),
    )
    got, error = _call(lambda: fn(*arguments, **hparams))
    if error:
        if error.startswith("NotImplementedError"):
            return _fail(name, f"my_pull_dominates {NOT_WRITTEN}")
        return _fail(name, f"your function raised {error}")
    try:
        got = torch.as_tensor(got)
    except (TypeError, ValueError, RuntimeError):
        got = None
    if got is None or got.shape != expected.shape:
        shape = "nothing" if got is None else f"shape {tuple(got.shape)}"
        return _fail(name, f"expected a boolean tensor of shape {tuple(expected.shape)}, got {shape}.")
    got = got.bool()
    wrong = int((got != expected)[clear].sum())
    if wrong:
        return _fail(
            name,
            f"{wrong} of {int(clear.sum())} samples disagree with autograd.",
            "softmax part Σ_k (q_ik − δ_ky)/τ · ĉ_k, pull part −2λ ĉ_y; compare their tangential parts, (I − z zᵀ) g.",
        )
    return _ok(
        name,
        f"you match autograd on all {int(clear.sum())} samples: the pull part dominates for {int(expected[clear].sum())} of them.",
    )


def _toy_histories() -> list:
    """Per-epoch histories with the shapes a study produces: fast, slow, non-monotone, flat."""
    import pandas as pd

    epochs = list(range(0, 11))
    curves = {
        "fast then flat": (
            [0.2, 0.7, 0.85, 0.9, 0.91, 0.92, 0.92, 0.93, 0.93, 0.93, 0.93],
            [0.9, 0.5, 0.3, 0.2, 0.15, 0.12, 0.11, 0.1, 0.1, 0.1, 0.1],
        ),
        "slow and steady": ([0.1 + 0.08 * e for e in epochs], [1.0 - 0.05 * e for e in epochs]),
        "overshoot": (
            [0.3, 0.56, 0.99, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6],
            [0.5, 0.2, 0.4, 0.35, 0.3, 0.33, 0.31, 0.3, 0.3, 0.3, 0.3],
        ),
        "already there": ([0.96] * 11, [0.3] * 11),
    }
    return [
        (name, pd.DataFrame({"epoch": epochs, "recall@1": r1, "intra": intra})) for name, (r1, intra) in curves.items()
    ]


def _check_epoch_function(fn: Callable, name: str, reference: Callable, hint: str) -> CheckResult:
    for description, history in _toy_histories():
        expected = reference(history)
        got, error = _call(fn, history.copy())
        if error:
            return _fail(name, f"On the history '{description}' your function raised {error}", hint)
        if _as_number(got) != expected:
            return _fail(name, f"On the history '{description}' you return {got!r}, vgteach gives {expected}.", hint)
    return _ok(name, "your epochs match vgteach's on every toy history.")


def check_convergence_epoch(fn: Callable) -> CheckResult:
    """Check ``fn(history DataFrame) -> int``: the first epoch that has made 90 % of the run's R@1 gain
    over epoch 0, the untrained head (:func:`vgteach.training.convergence_epoch`)."""
    from .training import convergence_epoch

    hint = (
        "start, final = history['recall@1'].iloc[0], history['recall@1'].iloc[-1]; the first row with "
        "recall@1 - start >= 0.9 * (final - start); return its epoch."
    )
    return _check_epoch_function(fn, "check_convergence_epoch", convergence_epoch, hint)


def check_compaction_epoch(fn: Callable) -> CheckResult:
    """Check ``fn(history DataFrame) -> int``: the first epoch whose ``intra`` is within 10 % of its total
    change from epoch 0 to the end (:func:`vgteach.training.compaction_epoch`)."""
    from .training import compaction_epoch

    hint = (
        "start, final = history['intra'].iloc[0], history['intra'].iloc[-1]; the first row with "
        "|intra - final| <= 0.1 * |start - final|; its epoch."
    )
    return _check_epoch_function(fn, "check_compaction_epoch", compaction_epoch, hint)


__all__ = [
    "CheckResult",
    "Case",
    "make_cases",
    "check_loss",
    "check_contrastive",
    "check_triplet",
    "check_npair",
    "check_infonce",
    "check_arcface",
    "check_supcon",
    "check_ccl",
    "check_squared_distances",
    "check_variance",
    "check_recall_at_k",
    "check_triplet_active",
    "check_grad_norms",
    "check_gini",
    "check_convergence_epoch",
    "check_compaction_epoch",
    "TERM_KEYS",
    "term_keys",
    "check_active_prediction",
    "check_gradient_prediction",
    "arcface_silent_angle",
    "check_silent_angle",
    "FLOOR_BATCHES",
    "check_floors",
    "check_no_collapse",
    "ccl_gradient_parts",
    "check_pull_dominates",
]
