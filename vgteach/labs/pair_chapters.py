"""The pair-loss chapters' prediction questions (contrastive, triplet, InfoNCE, N-pair).

A reader predicts which terms of a loss are active on a small batch (:func:`check_active_prediction`) or
which samples receive a gradient (:func:`check_gradient_prediction`); the truth is the library loss itself
on that batch. :func:`term_keys` names each term by the batch indices it is about.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ..losses import build_loss
from .kit import CheckResult, Failure, grader, listed, not_quite, require_answer

#: What a term of each pair loss is about, as :func:`term_keys` names it.
TERM_KEYS = {
    "contrastive": "(i, j) with i < j: every unordered pair",
    "triplet": "(a, p, n): y_p = y_a, p ≠ a, y_n ≠ y_a",
    "infonce": "(i, p): every ordered positive pair, p ≠ i, y_p = y_i",
    "npair": "(a,): the anchor, the first sample of a label present at least twice",
}


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
    from ..losses.npair import first_two_per_label

    anchors, _ = first_two_per_label(torch.as_tensor(labels))
    return [(a,) for a in anchors.tolist()] if len(anchors) >= 2 else []


#: What a term of each pair loss is, in words, for a reader whose answer names something else.
TERM_WORDS = {
    "contrastive": ("the Contrastive loss", "a pair of samples (i, j), the smaller index first"),
    "triplet": (
        "the Triplet loss",
        "a triplet (a, p, n): an anchor a, another sample p of its class and a sample n of another class",
    ),
    "infonce": ("InfoNCE", "an ordered pair (i, p): a sample i and another sample p of its class"),
    "npair": ("N-pair", "an anchor (a,): the first sample of a class that appears at least twice in the batch"),
}


def not_a_term(unknown: set, loss_name: str) -> str:
    """``"(9, 9, 9) is not a term of the Triplet loss on this batch: a term is a triplet (a, p, n): …"``."""
    shown = [str(key[0]) if len(key) == 1 else str(key) for key in sorted(unknown)]
    words = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    loss, term = TERM_WORDS[loss_name]
    verb = "is not a term" if len(shown) == 1 else "are not terms"
    return f"{words} {verb} of {loss} on this batch. A term is {term}."


def _keys(answer) -> Optional[set]:
    """The answer as a set of index tuples (``3`` → ``(3,)``), or ``None`` if it is not a collection of them."""
    try:
        return {tuple(int(x) for x in (key if isinstance(key, (tuple, list)) else (key,))) for key in answer}
    except (TypeError, ValueError):
        return None


@grader("check_active_prediction({loss_name})")
def check_active_prediction(answer, embeddings: Tensor, labels: Tensor, loss_name: str, **hparams) -> CheckResult:
    """Grade a prediction: the terms of ``loss_name`` that are active on the batch ``(embeddings, labels)``.

    ``answer`` is an iterable of term keys (:func:`term_keys`: tuples of batch indices, e.g. ``{(0, 2)}`` for
    a contrastive pair), or ``None`` while not answered (graded "not answered yet", never an error). The
    truth is ``build_loss(loss_name, **hparams).terms(embeddings, labels).active()``.
    """
    require_answer(answer)
    keys = term_keys(loss_name, labels)
    active = build_loss(loss_name, **hparams).terms(embeddings, labels).active().tolist()
    truth = {key for key, on in zip(keys, active) if on}
    given = _keys(answer)
    if given is None:
        raise Failure(f"expected a set of terms such as {keys[0] if keys else ()}, got {answer!r}.")
    unknown = given - set(keys)
    if unknown:
        raise Failure(not_a_term(unknown, loss_name), f"{keys[0]} is one of this batch's {len(keys)} terms.")
    if given != truth:
        raise Failure(not_quite(given, truth, "inactive") + f" ({len(truth)} of {len(keys)} terms are active).")
    return f"right: {listed(truth)} ({len(truth)} of {len(keys)} terms) are active."


@grader("check_gradient_prediction({loss_name})")
def check_gradient_prediction(answer, embeddings: Tensor, labels: Tensor, loss_name: str, **hparams) -> CheckResult:
    """Grade a prediction: which samples of the batch receive a non-zero gradient from ``loss_name``.

    ``answer`` is an iterable of batch indices, or ``None`` while not answered. The truth is autograd's
    ``‖∂L/∂e_i‖ > 0`` through ``build_loss(loss_name, **hparams)``.
    """
    require_answer(answer)
    e = torch.as_tensor(embeddings, dtype=torch.float64).clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(build_loss(loss_name, **hparams).double()(e, labels), e)
    truth = {(i,) for i, norm in enumerate(grad.norm(dim=1).tolist()) if norm > 0}
    given = _keys(answer)
    if given is None or any(len(key) != 1 or not 0 <= key[0] < len(e) for key in given):
        raise Failure(f"expected a set of batch indices 0..{len(e) - 1}, got {answer!r}.")
    if given != truth:
        raise Failure(not_quite(given, truth, "get no gradient") + f" ({len(truth)} of {len(e)} samples get one).")
    if len(truth) == len(e):
        return f"right: all {len(e)} samples get a gradient."
    if not truth:
        return f"right: none of the {len(e)} samples gets a gradient."
    return f"right: samples {listed(truth)} get a gradient, the other {len(e) - len(truth)} none."
