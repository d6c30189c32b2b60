"""DDP: two gloo processes on the CPU, each holding half of a global batch, give the loss and gradients of
one process on the whole batch, and the tracker the same per-sample gradient norms (DESIGN.md §4 /
vgteach.training.distributed)."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from vgteach.track import GreedinessTracker
from vgteach.training import make_config
from vgteach.training import trainer as trainer_module

LOSSES = ("contrastive", "triplet", "supcon", "arcface")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(name: str):
    """The same head, loss and global batch in every process (everything seeded)."""
    config = make_config("smoke", dataset="blobs", loss=name)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(48, 32, generator=gen)
    y = torch.arange(48) % 6
    model = trainer_module.build_model(config, x)
    loss_fn = trainer_module.build_loss_for(config, 6)
    return model, loss_fn, x, y


def single_process(name: str):
    model, loss_fn, x, y = setup(name)
    tracker = GreedinessTracker(loss_fn, model)
    out = trainer_module.loss_step(model, loss_fn, x, y, amp=False, tracker=tracker)
    tracker.step()
    grads = [p.grad.clone() for p in [*model.parameters(), *loss_fn.parameters()]]
    return out.loss.detach(), grads, tracker.last_sample_grad_norms.clone()


def worker(rank: int, world: int, port: int, name: str, queue):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        model, loss_fn, x, y = setup(name)
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        idx = torch.arange(len(x))[rank::world]
        tracker = GreedinessTracker(loss_fn, model, loss_scale=world)  # the trainer's: the loss × W in backward
        out = trainer_module.loss_step(ddp, loss_fn, x[idx], y[idx], amp=False, tracker=tracker)
        tracker.step()
        grads = [p.grad.clone() for p in [*model.parameters(), *loss_fn.parameters()]]
        norms = tracker.last_sample_grad_norms
        # numpy arrays travel by value (torch tensors would travel as shared memory owned by this process)
        queue.put((rank, out.loss.detach().numpy(), [g.numpy() for g in grads], norms.numpy()))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.parametrize("name", LOSSES)
def test_two_gloo_processes_match_one_process(name):
    if not dist.is_available():
        pytest.skip("torch.distributed is not available")
    expected_loss, expected_grads, expected_norms = single_process(name)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=worker, args=(r, 2, port, name, queue)) for r in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    order = torch.cat([torch.arange(48)[r::2] for r in range(2)])  # global batch order after the gather
    for rank, loss, grads, norms in results:
        loss, grads, norms = torch.as_tensor(loss), [torch.as_tensor(g) for g in grads], torch.as_tensor(norms)
        assert torch.allclose(loss, expected_loss, rtol=1e-5, atol=1e-7)
        for got, want in zip(grads, expected_grads):
            assert torch.allclose(got, want, rtol=1e-4, atol=1e-7), f"rank {rank}: gradient differs"
        assert torch.allclose(norms, expected_norms[order], rtol=1e-4, atol=1e-8)  # the tracker's ‖∂L/∂e_i‖
