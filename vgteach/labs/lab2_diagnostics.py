"""Lab 2 (the diagnostics): the VARIANCE statistics, recall@k, and the GREEDINESS counts and norms.

Each check compares the student's function with the vgteach function the lab rebuilds
(:func:`vgteach.diagnostics.variance_stats`, :func:`vgteach.retrieval.retrieval_metrics`,
``TripletLoss.compute``, autograd, :func:`vgteach.diagnostics.gini`).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from ..losses import build_loss
from .batches import current_seed, generator, make_cases
from .kit import (
    ATOL,
    RTOL,
    CheckResult,
    Failure,
    as_number,
    call_student,
    close,
    expect_close,
    expect_tensor,
    fmt,
    generic_hint,
    grader,
)

VARIANCE_HINT = generic_hint(
    "normalise (z = e/||e||), take the class means μ_c of z, intra = mean over classes of "
    "mean_i ||z_i − μ_c||² (every class counts once, whatever its size), inter = mean over "
    "pairs c ≠ c' of ||μ_c − μ_c'||²."
)
RECALL_HINT = generic_hint(
    "rank the *other* samples by cosine similarity (exclude the query itself), a query scores 1 "
    "if any of its top-k neighbours shares its label, and queries whose class has no other member "
    "are left out of the average."
)
ACTIVE_HINT = generic_hint(
    "a valid triplet has y_a = y_p, a ≠ p and y_n ≠ y_a; it is active iff d²_ap − d²_an + α > 0. "
    "With P(a) positives and N(a) negatives, anchor a has P(a)·N(a) valid triplets."
)
GRAD_NORMS_HINT = generic_hint(
    "make a leaf copy e = embeddings.detach().clone().requires_grad_(True), compute "
    "loss_fn(e, labels), then torch.autograd.grad(loss, e)[0].norm(dim=1)."
)
GINI_HINT = generic_hint(
    "sort the values, then G = Σ_i (2i − n − 1)·x_(i) / (n·Σ x) with i = 1..n; all equal → 0, "
    "a single non-zero value → (n − 1)/n."
)


@grader("check_variance")
def check_variance(fn: Callable) -> CheckResult:
    """Check ``fn(embeddings, labels) -> (intra, inter)`` against :func:`vgteach.diagnostics.variance_stats`.

    ``intra`` = mean over classes of the mean squared distance of z to its class mean; ``inter`` = mean
    over ordered pairs of classes c ≠ c' of ||μ_c − μ_c'||², on L2-normalised z (DESIGN.md §3).
    """
    from ..diagnostics import variance_stats

    cases = [
        case for case in make_cases(current_seed()) if case.num_classes > 1 and "no negatives" not in case.description
    ]
    for index, case in enumerate(cases, start=1):
        stats = variance_stats(case.embeddings, case.labels)
        where = f"On batch {index} ({case.description})"
        got = call_student(fn, case.embeddings.clone(), case.labels.clone(), where=where, hint=VARIANCE_HINT)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Failure(f"{where} expected a pair (intra, inter), got {type(got).__name__}.")
        for label, value, expected in (("intra", got[0], stats["intra"]), ("inter", got[1], stats["inter"])):
            value = as_number(value)
            if value is None or not close(value, expected):
                raise Failure(
                    f"{where} your {label} is {value if value is None else fmt(value)}, vgteach gives {fmt(expected)}.",
                    VARIANCE_HINT,
                )
    return f"your intra- and inter-class variances match variance_stats on all {len(cases)} batches."


@grader("check_recall_at_k(k={k})")
def check_recall_at_k(fn: Callable, k: int = 1) -> CheckResult:
    """Check ``fn(embeddings, labels, k) -> float`` against leave-one-out cosine recall@k
    (:func:`vgteach.retrieval.retrieval_metrics`)."""
    from ..retrieval import retrieval_metrics

    cases = [case for case in make_cases(current_seed()) if "no positives" not in case.description]
    for index, case in enumerate(cases, start=1):
        expected = retrieval_metrics(case.embeddings, case.labels, ks=(k,), nmi=False)[f"recall@{k}"]
        where = f"On batch {index} ({case.description})"
        got = call_student(fn, case.embeddings.clone(), case.labels.clone(), k, where=where, hint=RECALL_HINT)
        expect_close(got, expected, where, RECALL_HINT)
    return f"your recall@{k} matches retrieval_metrics on all {len(cases)} batches."


@grader("check_triplet_active")
def check_triplet_active(fn: Callable, margin: float = 0.2) -> CheckResult:
    """Check ``fn(embeddings, labels, margin) -> (num_active, num_terms)``: the active and valid triplets
    of the batch-all triplet loss (what :meth:`TripletLoss.compute` counts)."""
    reference = build_loss("triplet", margin=margin)
    cases = make_cases(current_seed())
    for index, case in enumerate(cases, start=1):
        out = reference.compute(case.embeddings, case.labels)
        expected = (int(out.num_active), int(out.num_terms))
        where = f"On batch {index} ({case.description})"
        got = call_student(fn, case.embeddings.clone(), case.labels.clone(), margin, where=where, hint=ACTIVE_HINT)
        try:
            got_pair = (int(got[0]), int(got[1]))
        except (TypeError, ValueError, IndexError):
            raise Failure(f"{where} expected a pair of integers (num_active, num_terms), got {got!r}.") from None
        if got_pair != expected:
            raise Failure(
                f"{where} you count {got_pair[0]} active of {got_pair[1]} triplets, vgteach "
                f"counts {expected[0]} of {expected[1]}.",
                ACTIVE_HINT,
            )
    return f"your triplet counts match on all {len(cases)} batches."


@grader("check_grad_norms")
def check_grad_norms(fn: Callable, loss_names: Sequence[str] = ("contrastive", "triplet", "infonce")) -> CheckResult:
    """Check ``fn(loss_fn, embeddings, labels) -> Tensor [B]`` of per-sample gradient norms ||∂L/∂e_i||."""
    cases = make_cases(current_seed(), edge_cases=False)
    for loss_name in loss_names:
        loss_fn = build_loss(loss_name).double()
        for index, case in enumerate(cases, start=1):
            e = case.embeddings.clone().requires_grad_(True)
            expected = torch.autograd.grad(loss_fn(e, case.labels), e)[0].norm(dim=1)
            where = f"With {loss_name} on batch {index} ({case.description})"
            got = call_student(
                fn, loss_fn, case.embeddings.clone(), case.labels.clone(), where=where, hint=GRAD_NORMS_HINT
            )
            expect_tensor(got, expected.shape, where, GRAD_NORMS_HINT)
            if not torch.allclose(got.detach().double(), expected, rtol=RTOL, atol=ATOL):
                raise Failure(
                    f"{where} your norms {got.detach()[:3].tolist()}… differ from {expected[:3].tolist()}….",
                    GRAD_NORMS_HINT,
                )
    return f"your per-sample gradient norms match autograd for {', '.join(loss_names)}."


@grader("check_gini")
def check_gini(fn: Callable) -> CheckResult:
    """Check ``fn(values 1-D tensor) -> float`` against :func:`vgteach.diagnostics.gini`."""
    from ..diagnostics import gini

    rng = generator()
    cases = [
        ("eight equal values", torch.full((8,), 0.3, dtype=torch.float64)),
        ("one non-zero value among ten", torch.tensor([0.0] * 9 + [2.0], dtype=torch.float64)),
        ("100 exponential values", torch.empty(100, dtype=torch.float64).exponential_(generator=rng)),
        ("50 uniform values, unsorted", torch.rand(50, generator=rng, dtype=torch.float64)),
    ]
    for description, values in cases:
        expected = gini(values)
        got = call_student(fn, values.clone(), where=f"On {description}", hint=GINI_HINT)
        expect_close(got, expected, f"On {description}", GINI_HINT)
    return f"your Gini coefficient matches vgteach on all {len(cases)} inputs."
