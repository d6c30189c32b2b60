r"""The Gini coefficient: how unequally a non-negative quantity is shared out.

GREEDINESS uses it on the per-sample gradient norms ||∂L/∂e_i||: a loss that makes *many small updates*
(every sample receives a similar push) has a Gini near 0, a loss that makes *few large updates* (a handful of
hard samples take all the gradient) has a Gini near 1.
"""

from __future__ import annotations

import numpy as np
import torch

from ._common import from_numpy


def gini(values) -> float:
    r"""Gini coefficient of a 1-D collection of non-negative values.

    With the values sorted increasingly, :math:`x_{(1)} \le \dots \le x_{(n)}`,

    .. math::
        G = \frac{\sum_{i=1}^{n} (2i - n - 1)\, x_{(i)}}{n \sum_{i=1}^{n} x_{(i)}}
          = \frac{\sum_i \sum_j |x_i - x_j|}{2 n^2 \bar x},

    i.e. half the mean absolute difference between two values drawn at random, relative to the mean. The
    sorted form costs one sort (O(n log n)) instead of the n² differences.

    Parameters
    ----------
    values : Tensor [n] or numpy array [n]
        Non-negative, finite values (any real dtype; the sum is taken in float64).

    Returns
    -------
    float
        In [0, (n − 1)/n]: 0 when all values are equal, (n − 1)/n when a single value is non-zero.
        **Degenerate cases** (documented choices): an empty input and an all-zero input give 0.0 — nobody
        gets more than anybody else.

    Raises
    ------
    TypeError
        If ``values`` is not a tensor/array of real numbers.
    ValueError
        If it is not 1-D, or holds NaN, Inf or negative values.

    References
    ----------
    C. Gini. Variabilità e mutabilità. 1912. The sorted-sum form is e.g. in P. M. Dixon et al., "Bootstrapping
    the Gini coefficient of inequality", Ecology 68(5), 1987.

    Examples
    --------
    >>> gini(torch.tensor([1.0, 1.0, 1.0, 1.0]))
    0.0
    >>> gini(torch.tensor([0.0, 0.0, 0.0, 2.0]))
    0.75
    """
    values = from_numpy(values, "values")
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"values must be a 1-D torch.Tensor or numpy array, got {type(values).__name__}")
    if values.is_complex() or values.dtype == torch.bool:
        raise TypeError(f"values must be real numbers, got dtype {values.dtype}")
    if values.dim() != 1:
        raise ValueError(f"values must be 1-D, got shape {tuple(values.shape)}")
    n = values.numel()
    if n == 0:
        return 0.0
    x = values.detach().to(torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError("values contains NaN or Inf")
    if (x < 0).any():
        raise ValueError("values must be non-negative (the Gini coefficient of signed values is not defined here)")
    return float(gini_tensor(x))


def sort_last_dim(x: torch.Tensor) -> torch.Tensor:
    """Values sorted increasingly along the last dimension (NaN last), on ``x``'s device.

    A CPU tensor goes through NumPy's sort, which measured ~15× faster than ``torch.sort`` on the training
    tracker's [97, 512] float32 epoch table (0.05 ms vs 0.8 ms, 2 threads)."""
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64):
        return torch.from_numpy(np.sort(x.detach().numpy(), axis=-1))
    return torch.sort(x, dim=-1).values


def gini_tensor(x: torch.Tensor, is_sorted: bool = False) -> torch.Tensor:
    """:func:`gini` of validated, non-negative float values along the last dimension, as a tensor on their
    device (0-dim for 1-D input, one value per row for [S, n]); no synchronisation, so that callers can
    fetch it together with other numbers. The training tracker uses it on a whole epoch of steps at once,
    on rows it has already sorted (``is_sorted=True`` skips the sort, the costly part)."""
    n = x.shape[-1]
    if n == 0:
        return x.new_zeros(x.shape[:-1])
    if not is_sorted:
        x = sort_last_dim(x)
    total = x.sum(-1)
    rank = torch.arange(1, n + 1, dtype=x.dtype, device=x.device)
    numerator = ((2 * rank - n - 1) * x).sum(-1)
    # clamp: rounding can leave −1e-17 for equal values; an all-zero input gives 0 (documented choice)
    ratio = numerator / (n * total.clamp_min(torch.finfo(x.dtype).tiny))
    return torch.where(total > 0, ratio.clamp_min(0.0), torch.zeros_like(ratio))
