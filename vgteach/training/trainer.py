"""One training run: a head on frozen inputs, one loss, per-step GREEDINESS, per-epoch evaluation.

    result = train(make_config("book", dataset="digits", loss="triplet"))
    result.history      # DataFrame: one row per epoch (epoch 0 = before any update)
    result.summary      # dict: final metrics, convergence and compaction epochs

The loop, top to bottom: load inputs (frozen features come from the on-disk cache), build the head and the
loss (ArcFace/CCL proxies are optimised with the head by the same Adam), then per epoch draw m-per-class
batches, step, and track greediness; evaluate on the evaluation split (retrieval, VARIANCE, geometry);
checkpoint. Epoch 0 is measured with one no-update pass, so every curve starts from the untrained head.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .._validation import value_checks_once
from ..data import dataset_info
from ..device import resolve_device
from ..diagnostics import geometry_stats, variance_stats
from ..inputs import load_inputs
from ..io import atomic_torch_save
from ..losses import LossOutput, build_loss
from ..retrieval import retrieval_metrics
from . import distributed as dist
from .config import TrainConfig
from .head import EmbeddingHead
from .sampler import MPerClassBatches
from .tracking import STEP_KEYS, GreedinessTracker

CHECKPOINT_VERSION = 1


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    config : TrainConfig
    history : DataFrame
        One row per epoch: ``epoch``, the GREEDINESS means of its steps (``train_loss``, ``active_ratio``,
        ``effective_active_ratio``, ``sample_active_ratio``, ``grad_norm_{mean,median,max}``, ``grad_gini``,
        ``head_grad_norm``, ``proxy_grad_norm``), ``loss_decay`` (relative drop of ``train_loss`` from the
        previous epoch), and the evaluation metrics (retrieval, VARIANCE, geometry) on evaluated epochs
        (``config.evaluated_epochs()``: always epoch 0 and the last one; NaN on the others).
    summary : dict
        The last epoch's metrics plus the speeds relative to the untrained head (``convergence_epoch``,
        ``map_convergence_epoch``, ``compaction_epoch``, ``intra_change``; see :func:`convergence_epoch`),
        ``loss_decay_rate``, ``active_ratio_mean``, ``wall_time_s``.
    model, loss_fn : the trained head and loss (with its proxies/centers).
    embeddings : dict epoch -> ndarray [N, D]
        Evaluation embeddings per evaluated epoch (only with ``keep_embeddings=True``).
    eval_labels : ndarray [N]
    """

    config: TrainConfig
    history: pd.DataFrame
    summary: dict
    model: torch.nn.Module
    loss_fn: torch.nn.Module
    embeddings: dict = field(default_factory=dict)
    eval_labels: Optional[np.ndarray] = None


# -- setup --------------------------------------------------------------------------------------------------
def load_split(config: TrainConfig, split: str, progress: bool):
    return load_inputs(
        config.dataset,
        split,
        backbone=config.backbone,
        root=config.data_root,
        cache_dir=config.cache_dir,
        device=config.device,
        download=config.download,
        progress=progress,
        max_per_class=config.max_per_class if split == "train" else None,
    )


def build_model(config: TrainConfig, x_train: torch.Tensor) -> EmbeddingHead:
    """The head (after a trainable SmallCNN for the ``cnn`` backbone), initialised from ``config.seed``."""
    from ..backbones import build_backbone

    torch.manual_seed(config.seed)
    trunk, in_dim = None, x_train[0].numel()
    if config.backbone == "cnn":
        trunk, _, in_dim = build_backbone("cnn", in_channels=x_train.shape[1])
    return EmbeddingHead(in_dim, config.embedding_dim, config.head, config.hidden_dim, trunk=trunk)


def build_loss_for(config: TrainConfig, num_classes: int):
    torch.manual_seed(config.seed + 1)  # the proxies' initialisation (ArcFace, CCL)
    return build_loss(config.loss, num_classes, config.embedding_dim, **config.loss_kwargs)


# -- one step -----------------------------------------------------------------------------------------------
def loss_step(model, loss_fn, x, y, amp: bool, on_grad=None, count: bool = True, on_similarity_grad=None):
    """Forward the local batch, gather the global batch, compute the loss, backward.

    ``on_grad``, if given, is called during the backward pass with ∂L/∂e [B, D], the gradient reaching the
    global batch's embeddings (what the greediness tracker needs: a hook sees it while it is still in
    cache and without the copy ``retain_grad`` would make). ``on_similarity_grad``, likewise, is called with
    ``(similarity, ∂L/∂S)`` for the loss's :class:`~vgteach.losses.base.Similarity` node S (not called when
    no gradient reaches S). Returns the loss's
    :class:`~vgteach.losses.LossOutput` on the global batch, with the term counts unless ``count=False``
    (an untracked step: the bare loss, nothing counted). The single-process path skips every
    distributed and autocast call: a step of a linear head costs ~3 ms on a CPU, and tracking must stay
    within a few percent of it.
    """
    if amp:
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16):
            local = model(x)
    else:
        local = model(x)
    world = dist.world_size()
    embeddings = dist.gather_with_grad(local) if world > 1 else local
    if on_grad is not None:
        embeddings.register_hook(on_grad if world == 1 else lambda grad: on_grad(grad / world))
    labels = dist.gather_labels(y) if world > 1 else y
    # no host synchronisation in the step: the checks that read values (finite embeddings, labels in range)
    # run on the first batch of each shape only (vgteach._validation; VGTEACH_DEBUG=1: on every step)
    with value_checks_once(loss_fn, (tuple(embeddings.shape), embeddings.dtype)):
        out = loss_fn.compute(embeddings, labels) if count else LossOutput(loss_fn(embeddings, labels), None, None)
    sim = out.similarity
    if on_similarity_grad is not None and sim is not None and sim.matrix.requires_grad:
        rule = sim.without_matrix()  # the hook must not hold S (a leak, see there)
        sim.matrix.register_hook(lambda grad: on_similarity_grad(rule, grad))
    if world == 1:
        out.loss.backward()
        return out
    (out.loss * world).backward()  # see distributed.py: DDP averages over ranks
    dist.average_proxy_grads(list(loss_fn.parameters()))
    return out


def train_step(model, loss_fn, optimizer, x, y, amp: bool, tracker=None, update: bool = True):
    """One optimisation step: :func:`loss_step`, the tracker's record of it, ``optimizer.step()``.

    ``bench/bench_training.py`` times exactly this function against a bare step to measure what tracking
    costs. Without a tracker the step is bare (the loss alone, nothing counted). ``update=False`` measures
    without changing the parameters. Returns the :class:`LossOutput`.
    """
    optimizer.zero_grad(set_to_none=True)
    if tracker is None:
        out = loss_step(model, loss_fn, x, y, amp, count=False)
    else:
        norms, effective = [], []

        def keep_sample_norms(grad):  # ‖∂L/∂e_i‖ for the tracker, taken in the backward
            norms.append(torch.linalg.vector_norm(grad, dim=1))

        def keep_effective_ratio(similarity, grad):  # from ∂L/∂S, also in the backward (DESIGN.md §3)
            effective.append(similarity.effective_active_ratio(grad))

        wanted = tracker.wants_effective_ratio
        out = loss_step(
            model, loss_fn, x, y, amp, keep_sample_norms, on_similarity_grad=keep_effective_ratio if wanted else None
        )
        if wanted and not effective:  # no gradient reached S: every pair weight is 0
            effective.append(out.loss.new_zeros((), dtype=torch.float32))
        tracker.record(out.loss, out.num_terms, out.num_active, norms[0], effective[0] if wanted else None)
    if update:
        optimizer.step()
    return out


@torch.no_grad()
def embed(model, x: torch.Tensor, device, amp: bool, chunk: int = 4096) -> torch.Tensor:
    model.eval()
    parts = []
    for start in range(0, len(x), chunk):
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            parts.append(model(x[start : start + chunk].to(device)).float())
    model.train()
    return torch.cat(parts)


def evaluate(z: torch.Tensor, labels: torch.Tensor, seed: int) -> dict:
    """Retrieval (DESIGN.md §3), VARIANCE and the geometry beyond the paper, on the evaluation split."""
    row = retrieval_metrics(z, labels, seed=seed)
    row.pop("num_queries", None)
    row.update(variance_stats(z, labels))
    row.pop("num_classes", None)
    row.update(geometry_stats(z, labels))
    return row


# -- summaries ----------------------------------------------------------------------------------------------
def evaluated_values(history: pd.DataFrame, column: str):
    """``(epochs, values)`` of the evaluated epochs of ``column``, in epoch order, starting at epoch 0;
    ``None`` when ``column`` was never evaluated (e.g. on a non-main rank)."""
    if column not in history:
        return None
    rows = history.dropna(subset=[column]).sort_values("epoch")
    if rows.empty:
        return None
    if rows["epoch"].iloc[0] != 0:
        raise ValueError(
            f"history has no {column!r} at epoch 0 (the untrained head): speeds are relative "
            "to it, and the trainer always evaluates it"
        )
    return rows["epoch"].to_numpy(), rows[column].to_numpy(dtype=float)


def first_evaluated_epoch(history: pd.DataFrame, column: str, reached) -> float:
    """The first evaluated epoch whose value satisfies ``reached(values, start, final)`` (NaN if none)."""
    found = evaluated_values(history, column)
    if found is None:
        return float("nan")
    epochs, values = found
    hits = np.flatnonzero(reached(values, values[0], values[-1]))
    return int(epochs[hits[0]]) if len(hits) else float("nan")


def convergence_epoch(history: pd.DataFrame, column: str = "recall@1") -> int:
    """First evaluated epoch t that has made 90 % of the run's gain in R@1 over the untrained head.

    .. math:: t^* = \\min\\{t \\text{ evaluated} : R_t - R_0 \\ge 0.9\\,(R_T - R_0)\\}

    with :math:`R_0` the untrained head's R@1 (epoch 0, before the first update) and :math:`R_T` the
    final epoch's (DESIGN.md §3, "speeds"). Relative to epoch 0, so a dataset on which R@1 starts high
    (digits) does not make every loss "converge" at epoch 0. Only as fine as the evaluation schedule
    (:func:`~vgteach.training.config.evaluation_epochs`).

    No gain (:math:`R_T = R_0`), or a loss (:math:`R_T < R_0`): the rule holds at t = 0 and the result is
    0 — there is no improvement to wait for. Read it together with the change :math:`R_T - R_0`.
    ``column`` selects another "higher is better" metric (``map_convergence_epoch`` uses ``"map@r"``).
    NaN when the history has no evaluation of ``column``.
    """
    return first_evaluated_epoch(history, column, lambda v, start, final: v - start >= 0.9 * (final - start))


def map_convergence_epoch(history: pd.DataFrame) -> int:
    """:func:`convergence_epoch` on MAP@R, which scores the whole ranking: it still moves on easy data
    where R@1 is nearly saturated before training (digits, R@1 ≈ 0.98 at epoch 0)."""
    return convergence_epoch(history, "map@r")


def intra_change(history: pd.DataFrame) -> float:
    """``intra`` at the final epoch minus ``intra`` at epoch 0 (the untrained head), DESIGN.md §3.

    Negative: the loss compacted its classes; positive: it spread them (InfoNCE can). NaN without
    evaluations.
    """
    found = evaluated_values(history, "intra")
    return float("nan") if found is None else float(found[1][-1] - found[1][0])


def compaction_epoch(history: pd.DataFrame) -> int:
    """First evaluated epoch t whose ``intra`` has settled to within 10 % of its total change.

    .. math:: t^* = \\min\\{t \\text{ evaluated} : |v_t - v_T| \\le 0.1\\,|v_0 - v_T|\\}

    with :math:`v_t` the intra-class variance at epoch t, :math:`v_0` the untrained head's and
    :math:`v_T` the final one (DESIGN.md §3). The speed of the change, whatever its sign: whether the
    classes shrank or grew is :func:`intra_change`. No change (:math:`v_T = v_0`): 0, as the rule holds
    at once. NaN when the history has no evaluation of ``intra``.
    """
    return first_evaluated_epoch(
        history, "intra", lambda v, start, final: np.abs(v - final) <= 0.1 * abs(start - final)
    )


def summarize(history: pd.DataFrame, wall_time: float) -> dict:
    """The last epoch's row (always evaluated) plus the speeds relative to epoch 0 (``convergence_epoch``,
    ``map_convergence_epoch``, ``compaction_epoch``, ``intra_change``) and the greediness summaries."""
    last = history.iloc[-1].to_dict()
    summary = dict(last)
    trained = history[history["epoch"] >= 1]
    summary.update(
        convergence_epoch=convergence_epoch(history),
        map_convergence_epoch=map_convergence_epoch(history),
        compaction_epoch=compaction_epoch(history),
        intra_change=intra_change(history),
        loss_decay_rate=float(trained["loss_decay"].mean()) if len(trained) else 0.0,
        active_ratio_mean=float(trained["active_ratio"].mean()) if len(trained) else float(last["active_ratio"]),
        wall_time_s=wall_time,
    )
    summary["epoch"] = int(last["epoch"])
    return summary


# -- checkpoints --------------------------------------------------------------------------------------------
def save_checkpoint(path: Path, config, epoch, model, loss_fn, optimizer, rows, embeddings, elapsed) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_torch_save(
        {
            "version": CHECKPOINT_VERSION,
            "config": json.dumps(config.to_dict(), sort_keys=True),
            "epoch": epoch,
            "model": unwrap(model).state_dict(),
            "loss_fn": loss_fn.state_dict(),
            "optimizer": optimizer.state_dict(),
            "history": json.dumps(rows),
            "embeddings": {str(k): torch.as_tensor(v) for k, v in embeddings.items()},
            "elapsed": elapsed,
        },
        path,
    )


def load_checkpoint(path: Path, config: TrainConfig) -> Optional[dict]:
    """The checkpoint at ``path`` if it belongs to ``config`` (else ``None``: start afresh)."""
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("version") != CHECKPOINT_VERSION:
        return None
    if json.loads(state["config"]) != json.loads(json.dumps(config.to_dict(), sort_keys=True)):
        raise ValueError(
            f"checkpoint {path} was written by a different configuration; "
            "use another output folder or start without --resume"
        )
    return state


def unwrap(model):
    return getattr(model, "module", model)


# -- the loop -----------------------------------------------------------------------------------------------
def train(
    config: TrainConfig,
    progress: bool = True,
    checkpoint: Optional[os.PathLike] = None,
    resume: bool = False,
    track: bool = True,
    data=None,
) -> TrainResult:
    """Train one head with one loss and return its :class:`TrainResult`.

    Parameters
    ----------
    config : TrainConfig
    progress : bool
        tqdm bar over epochs.
    checkpoint : path, optional
        Written (atomically) after every epoch. With ``resume=True`` an existing checkpoint of the same
        config is continued; the numbers are the same as those of an uninterrupted run (on the CPU).
    track : bool
        Record per-step GREEDINESS (switch off only to measure its overhead: the steps are then bare, and the
        history keeps only ``train_loss``, the greediness columns being NaN).
    data : tuple, optional
        ``(x_train, y_train, x_eval, y_eval)`` to skip loading (the study loads once for all losses).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig (see make_config), got {type(config).__name__}")
    device = resolve_device(config.device)
    amp = device.type == "cuda" if config.amp is None else bool(config.amp)
    x_train, y_train, x_eval, y_eval = (
        data if data is not None else (*load_split(config, "train", progress), *load_split(config, "test", progress))
    )
    num_classes = dataset_info(config.dataset)["num_classes"]["train"]
    model = build_model(config, x_train).to(device)
    loss_fn = build_loss_for(config, max(num_classes, int(y_train.max()) + 1)).to(device)
    # fused: one kernel for all parameters, with the step count kept on the device (the default reads it on
    # the host every step)
    optimizer = torch.optim.Adam(
        [*model.parameters(), *loss_fn.parameters()],
        lr=config.lr,
        weight_decay=config.weight_decay,
        fused=device.type in ("cpu", "cuda"),
    )
    if dist.world_size() > 1:
        ids = [torch.cuda.current_device()] if device.type == "cuda" else None  # set from LOCAL_RANK
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    sampler = MPerClassBatches(y_train, config.batch_size, config.m_per_class, seed=config.seed)
    x_train, y_train = x_train.to(device), y_train.to(device)
    tracker = GreedinessTracker(device, unwrap(model).parameters(), loss_fn.parameters())

    rows, embeddings, start_epoch, elapsed = [], {}, 0, 0.0
    evaluated = set(config.evaluated_epochs())
    path = Path(checkpoint) if checkpoint is not None else None
    state = load_checkpoint(path, config) if (path is not None and resume) else None
    if state is not None:
        unwrap(model).load_state_dict(state["model"])
        loss_fn.load_state_dict(state["loss_fn"])
        optimizer.load_state_dict(state["optimizer"])
        rows, start_epoch, elapsed = json.loads(state["history"]), state["epoch"] + 1, state["elapsed"]
        embeddings = {int(k): v.numpy() for k, v in state["embeddings"].items()}

    def run_epoch(epoch: int) -> dict:
        tracker.reset()
        batches = sampler.epoch(epoch, device)[:1] if epoch == 0 else sampler.epoch(epoch, device)
        losses = []
        for batch in batches:
            idx = dist.shard(batch)
            out = train_step(
                model, loss_fn, optimizer, x_train[idx], y_train[idx], amp, tracker if track else None, update=epoch > 0
            )  # epoch 0: untrained head
            if not track:
                losses.append(out.loss.detach())
        if track:
            return tracker.epoch_means()
        return {**dict.fromkeys(STEP_KEYS, math.nan), "train_loss": float(torch.stack(losses).mean())}

    bar = tqdm(
        range(start_epoch, config.epochs + 1),
        desc=f"{config.loss} seed {config.seed}",
        disable=not progress or not dist.is_main_process(),
        initial=start_epoch,
        total=config.epochs + 1,
    )
    for epoch in bar:
        tic = time.perf_counter()
        row = {"epoch": epoch, **run_epoch(epoch)}
        previous = rows[-1]["train_loss"] if rows else None
        row["loss_decay"] = (previous - row["train_loss"]) / abs(previous) if previous else 0.0
        if dist.is_main_process() and epoch in evaluated:  # epoch 0 and the last always
            z = embed(model, x_eval, device, amp)
            row.update(evaluate(z, y_eval.to(device), config.seed))
            if config.keep_embeddings:
                embeddings[epoch] = z.cpu().numpy()
        elapsed += time.perf_counter() - tic
        row["epoch_time_s"] = time.perf_counter() - tic
        rows.append(row)
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", r1=f"{row.get('recall@1', math.nan):.3f}")
        if path is not None and dist.is_main_process():
            save_checkpoint(path, config, epoch, model, loss_fn, optimizer, rows, embeddings, elapsed)
    history = pd.DataFrame(rows)
    return TrainResult(
        config, history, summarize(history, elapsed), unwrap(model), loss_fn, embeddings, y_eval.cpu().numpy()
    )
