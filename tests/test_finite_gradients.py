"""Every loss gives a finite value and a finite gradient for any finite input (issue 15): all-zero rows (a
dead ReLU head, a padding row), rows at 1e-30 or 1e30, mixed, in float32 and float64, over random shapes
and label patterns. And ``l2_normalize`` itself: exact at any finite scale, ``F.normalize``'s gradient on
an all-zero row, no host read."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vgteach.losses import LOSS_NAMES, build_loss
from vgteach.losses.base import l2_normalize

MAGNITUDES = {
    "zero_rows": lambda gen, n: torch.where(torch.rand(n, 1, generator=gen) < 0.4, 0.0, 1.0),
    "tiny": lambda gen, n: torch.full((n, 1), 1e-30),
    "huge": lambda gen, n: torch.full((n, 1), 1e30),
    "mixed": lambda gen, n: (
        10.0 ** torch.randint(-30, 31, (n, 1), generator=gen).double() * (torch.rand(n, 1, generator=gen) > 0.2)
    ),
}


def label_pattern(pattern: str, n: int, gen) -> torch.Tensor:
    if pattern == "one_class":
        return torch.zeros(n, dtype=torch.long)
    if pattern == "all_distinct":
        return torch.arange(n)
    if pattern == "pairs":
        return torch.arange(n)[torch.randperm(n, generator=gen)] // 2
    return torch.randint(0, 3, (n,), generator=gen)  # random, with singletons


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("magnitude", MAGNITUDES)
@pytest.mark.parametrize("pattern", ["one_class", "all_distinct", "pairs", "random"])
def test_finite_value_and_gradient_for_any_finite_input(pattern, magnitude, dtype):
    gen = torch.Generator().manual_seed(len(pattern) * 1000 + len(magnitude) * 10 + (dtype == torch.float64))
    for trial in range(3):
        n, dim = int(torch.randint(1, 13, (), generator=gen)), int(torch.randint(1, 9, (), generator=gen))
        labels = label_pattern(pattern, n, gen)
        rows = torch.randn(n, dim, generator=gen, dtype=torch.float64) * MAGNITUDES[magnitude](gen, n)
        embeddings = rows.to(dtype)
        assert torch.isfinite(embeddings).all()
        for name in LOSS_NAMES:
            torch.manual_seed(trial)
            loss_fn = build_loss(name, num_classes=n + 3, embedding_dim=dim).to(dtype)
            e = embeddings.clone().requires_grad_()
            loss = loss_fn(e, labels)
            inputs = [e, *loss_fn.parameters()]
            grads = torch.autograd.grad(loss, inputs, allow_unused=True)
            case = f"{name} n={n} d={dim} {pattern} {magnitude} {dtype}"
            assert torch.isfinite(loss), case
            assert all(g is None or torch.isfinite(g).all() for g in grads), case


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_l2_normalize_is_exact_at_any_finite_scale(dtype):
    gen = torch.Generator().manual_seed(0)
    direction = torch.randn(6, 5, generator=gen, dtype=dtype)
    expected = direction / torch.linalg.vector_norm(direction, dim=1, keepdim=True)
    for scale in (1e-30, 1e-20, 1.0, 1e20, 1e30):
        torch.testing.assert_close(l2_normalize(direction * scale), expected, rtol=4 * torch.finfo(dtype).eps, atol=0)
    # an ordinary batch gets exactly e · (1/‖e‖): the power-of-two scaling rounds nothing
    assert torch.equal(
        l2_normalize(direction), direction * torch.linalg.vector_norm(direction, dim=1, keepdim=True).reciprocal()
    )
    # near float32's largest value, where the squares in ‖e‖ overflow and F.normalize returns 0
    near_max = torch.tensor([[3e38, -3e38, 1e38]])
    torch.testing.assert_close(
        l2_normalize(near_max), F.normalize(near_max.double() / 1e38, dim=1).float(), rtol=2e-7, atol=0
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_l2_normalize_gradient_matches_the_formula_and_f_normalize_on_a_zero_row(dtype):
    gen = torch.Generator().manual_seed(1)
    e = torch.randn(5, 4, generator=gen, dtype=dtype)
    e[2] = 0.0
    e[4] *= 1e-30
    e.requires_grad_()
    upstream = torch.randn(5, 4, generator=gen, dtype=dtype)
    (grad,) = torch.autograd.grad((l2_normalize(e) * upstream).sum(), e)
    for i in range(5):  # loop reference in float64: (I − z zᵀ) g / ‖e‖
        row, g = e.detach()[i].double(), upstream[i].double()
        norm = torch.linalg.vector_norm(row)
        if norm == 0:
            expected = g / 1e-12  # F.normalize's I/ε
        else:
            z = row / norm
            expected = (g - z * (z @ g)) / norm
        torch.testing.assert_close(grad[i].double(), expected, rtol=1e-5 if dtype == torch.float32 else 1e-12, atol=0)
    zero = torch.zeros(1, 4, dtype=dtype, requires_grad=True)
    (ours,) = torch.autograd.grad((l2_normalize(zero) * upstream[:1]).sum(), zero)
    (theirs,) = torch.autograd.grad((F.normalize(zero, dim=1) * upstream[:1]).sum(), zero)
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=0)


def test_l2_normalize_gradcheck():
    e = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(l2_normalize, (e,))


def test_one_dead_row_does_not_poison_adam():
    """The issue's failure: a head whose output row is all zero turned Adam's state, then the head, into NaN."""
    torch.manual_seed(0)
    head = torch.nn.Linear(6, 4)
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
    x = torch.randn(16, 6)
    x[5] = 0.0
    with torch.no_grad():
        head.bias.zero_()  # row 5 of the output is exactly 0
    loss_fn = build_loss("supcon")
    for _ in range(5):
        optimizer.zero_grad()
        loss_fn(head(x), torch.arange(16) % 4).backward()
        optimizer.step()
        head.bias.data.zero_()
    assert all(torch.isfinite(p).all() for p in head.parameters())
