"""Multi-GPU (or multi-process CPU) training with ``torchrun``: every loss sees the *global* batch.

Metric-learning losses compare samples with each other, so a rank that only saw its own shard would miss
most pairs. Each rank therefore gathers every rank's embeddings and computes the loss on the whole
batch. Other ranks' embeddings arrive without a gradient (``all_gather`` on detached tensors) and the
rank's own slice is put back with its graph, the usual SimCLR-style gather; rank r then holds
∂L/∂e_r. DistributedDataParallel *averages* the head's gradients over the W ranks, so the loss is scaled
by W before ``backward``: (1/W) Σ_r W ∂L/∂e_r ∂e_r/∂θ = ∂L/∂θ, exactly the single-process gradient.
Proxies/centers see the whole batch on every rank (each rank computes W ∂L/∂P); they are averaged and
divided by W. ``tests/test_distributed.py`` checks both against one process on the same global batch.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import Tensor


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def is_main_process() -> bool:
    return rank() == 0


def init_from_environment(device: torch.device) -> bool:
    """Join the process group that ``torchrun`` describes in the environment (no-op otherwise)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return dist.is_initialized()
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))  # one GPU per rank, not all on GPU 0
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return True


def gather_with_grad(local: Tensor) -> Tensor:
    """``cat`` of every rank's ``local`` [b, ...] (equal b on all ranks), gradient flowing to our slice."""
    if world_size() == 1:
        return local
    parts = [torch.empty_like(local) for _ in range(world_size())]
    dist.all_gather(parts, local.detach().contiguous())
    parts[rank()] = local
    return torch.cat(parts)


def gather_labels(local: Tensor) -> Tensor:
    if world_size() == 1:
        return local
    parts = [torch.empty_like(local) for _ in range(world_size())]
    dist.all_gather(parts, local.contiguous())
    return torch.cat(parts)


def average_proxy_grads(parameters) -> None:
    """Each rank holds W ∂L/∂P for the proxies: make it ∂L/∂P, averaged to keep the ranks in lockstep."""
    w = world_size()
    if w == 1:
        return
    for p in parameters:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= w * w


def shard(batch: Tensor) -> Tensor:
    """This rank's part of a global batch of indices (interleaved, so each shard mixes classes)."""
    usable = len(batch) - len(batch) % world_size()  # all_gather needs equal shards
    return batch[:usable][rank() :: world_size()]
