"""The table of book/families.md says what the loss modules do.

Each row of the table names a loss (its ``build_loss`` name), its family (pair or proxy, hinge or softmax),
what one term is, what the loss averages over and its defaults. Every claim is checked on a batch with
awkward classes (one of a single sample, one of four): the pair/proxy column against ``.proxies`` and the
similarity the loss depends on, hinge/softmax against ``Terms.hinge``, "one term per" against the number of
terms counted here from the labels, "averaged over" against the loss value rebuilt from its terms, and the
defaults against the built loss's attributes.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import torch

from vgteach.losses import LOSS_NAMES, LOSSES, build_loss

PAGE = Path(__file__).resolve().parents[1] / "book" / "families.md"
LABELS = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4])
NUM_CLASSES = 5
#: the symbols of book/notation.md's hyper-parameter table and the constructor argument each one is
SYMBOLS = {"m": "margin", "\\alpha": "margin", "\\tau": "temperature", "\\gamma": "scale", "\\lambda": "pull_weight"}
#: constructor arguments that are no hyper-parameter of the formula
NOT_HYPERPARAMETERS = {"self", "num_classes", "embedding_dim", "chunk_size"}


def table() -> dict:
    """``{name: {family, term, averaged, defaults}}`` from the Markdown table, in page order."""
    rows = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| .*\(`(\w+)`\) \| (\w+), (\w+) \| (.*?) \| (.*?) \| (.*?) \|$", line)
        if match:
            name, compares, kind, term, averaged, defaults = match.groups()
            values = dict(re.findall(r"\$([\\\w]+) = ([\d.]+)\$", defaults))
            rows[name] = {"compares": compares, "kind": kind, "term": term, "averaged": averaged, "defaults": values}
    return rows


ROWS = table()


def positives(labels: torch.Tensor) -> torch.Tensor:
    """|P(i)| per sample."""
    return (labels[:, None] == labels[None, :]).sum(dim=1) - 1


#: what "one term per ..." counts, computed from the labels alone
TERM_COUNTS = {
    "unordered pair": lambda y: len(y) * (len(y) - 1) // 2,
    "valid triplet": lambda y: int((positives(y) * (len(y) - positives(y) - 1)).sum()),
    "label present twice or more": lambda y: int((torch.bincount(y) >= 2).sum()),
    "ordered positive pair": lambda y: int(positives(y).sum()),
    "anchor with a positive": lambda y: int((positives(y) >= 1).sum()),
    "sample": lambda y: len(y),
}


def rebuilt_loss(averaged: str, values: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The loss as the "averaged over" column says, from the terms."""
    if averaged.startswith("positive and negative pairs separately"):
        i, j = torch.triu_indices(len(labels), len(labels), offset=1)
        same = labels[i] == labels[j]
        return 0.5 * values[same].mean() + 0.5 * values[~same].mean()
    if averaged.startswith("active triplets only"):
        return values[values > 0].mean()
    return values.mean()


def test_the_table_lists_the_seven_losses_sorted_by_family():
    assert sorted(ROWS) == sorted(LOSS_NAMES), f"families.md rows {list(ROWS)} vs vgteach.losses {LOSS_NAMES}"
    order = {("pair", "hinge"): 0, ("pair", "softmax"): 1, ("proxy", "softmax"): 2}
    families = [order[row["compares"], row["kind"]] for row in ROWS.values()]
    assert families == sorted(families), "rows not sorted pair–hinge, pair–softmax, proxy–softmax"


@pytest.mark.parametrize("name", sorted(ROWS))
def test_each_row_matches_its_loss_module(name):
    row = ROWS[name]
    torch.manual_seed(0)
    embeddings = torch.randn(len(LABELS), 8, dtype=torch.float64)
    loss_fn = build_loss(name, num_classes=NUM_CLASSES, embedding_dim=8).double()

    # pair or proxy: a pair loss owns no proxies and spreads its pair weights over the B(B−1)/2 pairs
    out = loss_fn.compute(embeddings, LABELS)
    batch = len(LABELS)
    if row["compares"] == "pair":
        assert loss_fn.proxies is None and out.similarity.num_pairs == batch * (batch - 1) // 2
    else:
        assert loss_fn.proxies.shape == (NUM_CLASSES, 8) and out.similarity.num_pairs == batch * NUM_CLASSES

    # hinge or softmax
    terms = loss_fn.terms(embeddings, LABELS)
    assert terms.hinge == (row["kind"] == "hinge")

    # one term per ...
    kind = next((phrase for phrase in TERM_COUNTS if row["term"].startswith(phrase)), None)
    assert kind is not None, f"{name}: unknown term description {row['term']!r}"
    assert terms.values.numel() == TERM_COUNTS[kind](LABELS), f"{name}: one term per {kind}"

    # averaged over ...
    expected = rebuilt_loss(row["averaged"], terms.values, LABELS)
    torch.testing.assert_close(loss_fn(embeddings, LABELS).detach(), expected)

    # defaults: every hyper-parameter of the constructor is in the row, with its default value
    accepted = set(inspect.signature(LOSSES[name].__init__).parameters) - NOT_HYPERPARAMETERS
    listed = {SYMBOLS[symbol]: float(value) for symbol, value in row["defaults"].items()}
    assert set(listed) == accepted, f"{name}: the row lists {sorted(listed)}, the loss takes {sorted(accepted)}"
    for attribute, value in listed.items():
        assert getattr(loss_fn, attribute) == pytest.approx(value), f"{name}.{attribute}"


def test_the_rebuilt_reductions_would_catch_a_wrong_row():
    """The checks can fail: a mean over all triplets is not Triplet's loss, and N-pair's terms are not one per
    sample."""
    torch.manual_seed(0)
    embeddings = torch.randn(len(LABELS), 8, dtype=torch.float64)
    triplet = build_loss("triplet")
    values = triplet.terms(embeddings, LABELS).values
    assert (values == 0).any(), "the batch should hold inactive triplets"
    assert not torch.isclose(triplet(embeddings, LABELS), rebuilt_loss("triplets", values, LABELS))
    assert build_loss("npair").terms(embeddings, LABELS).values.numel() != TERM_COUNTS["sample"](LABELS)
