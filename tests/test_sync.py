"""No host synchronisation in a training step (issue 14): a tracked CPU step — forward, loss, backward,
optimizer, tracker record — calls ``aten._local_scalar_dense`` (what ``.item()``, ``int(t)``, ``float(t)``,
``bool(t)`` and ``if t:`` dispatch to; on a GPU each one waits for the queue of kernels) zero times, for
every loss. The value checks run on the first batch of each shape only (vgteach._validation); a direct
call of a loss still checks its input (tests/test_losses.py)."""

from __future__ import annotations

import collections

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from vgteach import _validation
from vgteach.losses import LOSS_NAMES, build_loss
from vgteach.track import GreedinessTracker
from vgteach.training.head import EmbeddingHead
from vgteach.training.sampler import MPerClassBatches
from vgteach.training.trainer import train_step


class CountOps(TorchDispatchMode):
    """Counts every aten op dispatched inside the context (forward, backward, optimizer alike)."""

    def __init__(self):
        super().__init__()
        self.calls = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def setup_step(name: str, num_classes: int = 4, dim: int = 8):
    torch.manual_seed(0)
    labels = torch.arange(64) % num_classes
    features = torch.randn(64, 12)
    model = EmbeddingHead(12, dim, "linear")
    loss_fn = build_loss(name, num_classes=num_classes, embedding_dim=dim)
    optimizer = torch.optim.Adam([*model.parameters(), *loss_fn.parameters()], lr=1e-3, fused=True)
    tracker = GreedinessTracker(loss_fn, model)
    batches = MPerClassBatches(labels, 16, 4, seed=0).epoch(1)

    def step(batch):
        return train_step(model, loss_fn, optimizer, features[batch], labels[batch], False, tracker)

    return step, batches


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_tracked_training_step_never_reads_a_tensor_on_the_host(name, monkeypatch):
    monkeypatch.setattr(_validation, "DEBUG", False)
    step, batches = setup_step(name)
    for batch in batches[:2]:  # the first batch of this shape is checked
        step(batch)
    with CountOps() as ops:
        out = step(batches[2])
    assert ops.calls["_local_scalar_dense"] == 0, f"{name}: {ops.calls['_local_scalar_dense']} host reads"
    assert sum(ops.calls.values()) > 20  # the step did run under the counter
    assert torch.isfinite(out.loss) and int(out.num_terms) > 0


def test_the_counter_sees_a_host_read():
    step, batches = setup_step("contrastive")
    step(batches[0])
    with CountOps() as ops:
        out = step(batches[1])
        out.loss.item()
    assert ops.calls["_local_scalar_dense"] == 1


def test_debug_flag_checks_every_step(monkeypatch):
    """VGTEACH_DEBUG=1: the value checks (and their host reads) run on every step."""
    monkeypatch.setattr(_validation, "DEBUG", True)
    step, batches = setup_step("infonce")
    step(batches[0])
    with CountOps() as ops:
        step(batches[1])
    assert ops.calls["_local_scalar_dense"] > 0


def test_a_direct_call_still_checks_values_after_a_training_step():
    step, batches = setup_step("arcface")
    for batch in batches[:3]:
        step(batch)
    loss_fn = build_loss("arcface", num_classes=4, embedding_dim=8)
    bad = torch.randn(16, 8)
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        loss_fn(bad, torch.arange(16) % 4)
    with pytest.raises(ValueError, match="num_classes"):
        loss_fn(torch.randn(16, 8), torch.arange(16) % 5)


def test_value_checks_once_checks_each_shape_once_and_retries_after_a_failure():
    owner = torch.nn.Linear(1, 1)
    seen = []
    for key in ("a", "a", "b", "a"):
        with _validation.value_checks_once(owner, key):
            seen.append(_validation.checks_values())
    assert seen == [True, False, True, False] or _validation.DEBUG
    with pytest.raises(RuntimeError):
        with _validation.value_checks_once(owner, "c"):
            raise RuntimeError("bad first batch")
    with _validation.value_checks_once(owner, "c"):
        assert _validation.checks_values()  # checked again
    assert _validation.checks_values()  # outside: always checked


def test_triplet_hot_path_takes_any_batch(monkeypatch):
    """Triplet keeps no per-batch-size state (its counts need no block width): in the hot path a batch with
    larger classes than the first gives what a checked call gives."""
    monkeypatch.setattr(_validation, "DEBUG", False)
    loss_fn = build_loss("triplet")
    embeddings = torch.randn(12, 4)
    with _validation.skip_value_checks():
        loss_fn(embeddings, torch.arange(12) % 6)  # 2 per class
        hot = loss_fn.compute(embeddings, torch.arange(12) % 3)  # 4 per class
    exact = build_loss("triplet").compute(embeddings, torch.arange(12) % 3)
    assert torch.equal(hot.loss, exact.loss) and int(hot.num_active) == int(exact.num_active)


def test_every_batch_holds_distinct_classes():
    labels = torch.arange(700) % 7  # 7 classes, 3 per batch: refills overlap
    sampler = MPerClassBatches(labels, 12, 4, seed=3)
    for epoch in range(3):
        for batch in sampler.epoch(epoch):
            assert torch.equal(torch.bincount(labels[batch], minlength=7).unique(), torch.tensor([0, 4]))
