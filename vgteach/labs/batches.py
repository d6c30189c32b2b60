"""The random batches the checks grade on, and the seed they are drawn with.

Every check that draws its own inputs draws them from :func:`make_cases` or :func:`generator` with
:func:`current_seed`: 0, the batches the book's labs show, unless the checks run inside :func:`seeded`
(e.g. to grade on batches a student has never seen).
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

_SEED = contextvars.ContextVar("vgteach_labs_seed", default=0)


def current_seed() -> int:
    """The seed of the checks' random inputs: 0, or the one :func:`seeded` set."""
    return _SEED.get()


@contextlib.contextmanager
def seeded(seed: int):
    """Within this context, every check draws its random inputs with ``seed`` instead of 0.

    Examples
    --------
    >>> with seeded(7):
    ...     result = check_contrastive(my_contrastive)   # six fresh batches, same shapes and labels
    """
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    token = _SEED.set(int(seed))
    try:
        yield
    finally:
        _SEED.reset(token)


def generator() -> torch.Generator:
    """A CPU generator seeded with :func:`current_seed`, for checks that draw inputs of their own."""
    return torch.Generator().manual_seed(current_seed())


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
    rng = torch.Generator().manual_seed(seed)

    def batch(labels: Sequence[int], dim: int, scale: float = 1.0, unit: bool = False) -> tuple:
        e = torch.randn(len(labels), dim, generator=rng, dtype=torch.float64)
        if unit:
            e = e / e.norm(dim=1, keepdim=True)
        else:
            # rows of different lengths: a correct loss must not care (it works on z = e / ||e||)
            e = e * scale * torch.rand(len(labels), 1, generator=rng, dtype=torch.float64).add(0.5)
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
