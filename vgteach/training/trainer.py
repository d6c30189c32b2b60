"""One training run: a head on frozen inputs, one loss, per-step GREEDINESS, per-epoch evaluation.

    result = train(make_config("book", dataset="digits", loss="triplet"))
    result.history      # DataFrame: one row per epoch (epoch 0 = before any update)
    result.summary      # dict: final metrics, convergence and compaction epochs

The loop, top to bottom (:func:`train`): :func:`start_run` loads the inputs the config names (frozen
features come from the on-disk cache) and selects its protocol's classes (:mod:`vgteach.protocols`), builds
the head, the loss (ArcFace/CCL proxies are optimised with the head by the same Adam) and the GREEDINESS
tracker — the public :class:`vgteach.track.GreedinessTracker`, the one a reader wraps around their own loss;
then per epoch (:func:`epoch_row`) draw m-per-class batches, step, and close the tracker's epoch; evaluate on
the evaluation split (retrieval, VARIANCE, geometry) and on a fixed sample of the training split
(:func:`evaluate_training_split`); checkpoint. Epoch 0 is measured with one no-update pass, so every curve
starts from the untrained head.
The speeds and the summary read from the history are :mod:`vgteach.training.speeds`.
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
from ..device import resolve_device
from ..diagnostics import compression_stats, geometry_stats, pull_focus, variance_stats
from ..diagnostics._common import unit_float64
from ..diagnostics.geometry import within_class_rank
from ..io import atomic_torch_save
from ..losses import LossOutput, build_loss
from ..protocols import protocol_for
from ..retrieval import retrieval_metrics
from ..track import COLUMNS, GreedinessTracker
from . import distributed as dist
from .config import TrainConfig
from .head import EmbeddingHead
from .sampler import MPerClassBatches
from .speeds import summarize

CHECKPOINT_VERSION = 1


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    config : TrainConfig
    history : DataFrame
        One row per epoch: ``epoch``, the GREEDINESS means of its steps (:data:`GREEDINESS_COLUMNS`:
        ``train_loss``, ``active_ratio``, ``effective_active_ratio``, ``sample_active_ratio``,
        ``grad_norm_{mean,median,max}``, ``grad_gini``, ``head_grad_norm``, ``proxy_grad_norm``), ``loss_decay`` (relative drop of ``train_loss`` from the
        previous epoch), and the evaluation metrics (retrieval, VARIANCE, geometry) on evaluated epochs
        (``config.evaluated_epochs()``: always epoch 0 and the last one; NaN on the others), with the
        ``train_…`` VARIANCE of the training split's fixed sample (:func:`evaluate_training_split`).
    summary : dict
        The last epoch's metrics plus the speeds relative to the untrained head (``convergence_epoch``,
        ``map_convergence_epoch``, ``compaction_epoch``, ``intra_change``, ``ratio_compaction_epoch``,
        ``ratio_change``; see :mod:`~vgteach.training.speeds`),
        ``loss_decay_rate``, ``active_ratio_mean``, ``wall_time_s``.
    model, loss_fn : the trained head and loss (with its proxies/centers).
    embeddings : dict epoch -> ndarray [N, D]
        Evaluation embeddings per evaluated epoch (only with ``keep_embeddings=True``).
    eval_labels : ndarray [N]
        The evaluation labels (the protocol's: unseen classes for ``zero-shot``, fine labels for
        ``coarse-to-fine``).
    """

    config: TrainConfig
    history: pd.DataFrame
    summary: dict
    model: torch.nn.Module
    loss_fn: torch.nn.Module
    embeddings: dict = field(default_factory=dict)
    eval_labels: Optional[np.ndarray] = None


# -- setup --------------------------------------------------------------------------------------------------
def load_data(config: TrainConfig, progress: bool = True) -> tuple[torch.Tensor, ...]:
    """``(x_train, y_train, x_eval, y_eval)`` of ``config``'s run: its inputs (:meth:`TrainConfig.input_spec`),
    the classes and labels of its protocol (:meth:`vgteach.protocols.Protocol.select`), the training split
    limited to ``config.max_per_class`` samples a training class, the evaluation split whole."""
    inputs = config.input_spec(progress)  # the dataset's registry entry, looked up once
    protocol = protocol_for(config.protocol, inputs.dataset)
    loaded = inputs.load_train_test(protocol.load_limit(config.max_per_class))
    return protocol.select(*loaded, max_per_class=config.max_per_class)


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
def loss_step(model, loss_fn, x, y, amp: bool, tracker: Optional[GreedinessTracker] = None) -> LossOutput:
    """Forward the local batch, gather the global batch, compute the loss, backward.

    With a ``tracker`` (a :class:`~vgteach.track.GreedinessTracker` around ``loss_fn``) the loss is the
    tracker's call, whose backward hooks catch ‖∂L/∂e_i‖ on the global batch's embeddings (and ∂L/∂S);
    :func:`train_step` then records the step. Returns the loss's :class:`~vgteach.losses.LossOutput` on the
    global batch, with the term counts when tracked (an untracked step is the bare loss, nothing counted).
    The single-process path skips every distributed and autocast call: a step of a linear head costs ~3 ms
    on a CPU, and tracking must stay within a few percent of it.
    """
    if amp:
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16):
            local = model(x)
    else:
        local = model(x)
    world = dist.world_size()
    embeddings = dist.gather_with_grad(local) if world > 1 else local
    labels = dist.gather_labels(y) if world > 1 else y
    # no host synchronisation in the step: the checks that read values (finite embeddings, labels in range)
    # run on the first batch of each shape only (vgteach._validation; VGTEACH_DEBUG=1: on every step)
    with value_checks_once(loss_fn, (tuple(embeddings.shape), embeddings.dtype)):
        if tracker is None:  # a bare step: the loss alone, nothing counted
            out = LossOutput(loss_fn(embeddings, labels), None, None)
        else:
            out = tracker.compute(embeddings, labels)
    if world == 1:
        out.loss.backward()
        return out
    (out.loss * world).backward()  # see distributed.py: DDP averages over ranks (the tracker's loss_scale)
    dist.average_proxy_grads(list(loss_fn.parameters()))
    return out


def train_step(model, loss_fn, optimizer, x, y, amp: bool, tracker=None, update: bool = True) -> LossOutput:
    """One optimisation step: :func:`loss_step`, the tracker's record of it, ``optimizer.step()``.

    ``bench/bench_training.py`` times exactly this function against a bare step to measure what tracking
    costs. Without a tracker the step is bare (the loss alone, nothing counted). ``update=False`` measures
    without changing the parameters. Returns the :class:`LossOutput`.
    """
    if tracker is not None and tracker.loss_fn is not loss_fn:
        raise ValueError("tracker must be a GreedinessTracker around this loss_fn")
    optimizer.zero_grad(set_to_none=True)
    out = loss_step(model, loss_fn, x, y, amp, tracker)
    if tracker is not None:
        tracker.step()
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


#: the training split's sample holds at most this many rows (DESIGN.md §3: Roth et al. measure there)
TRAIN_SAMPLE_ROWS = 10_000
#: seeds the sample's draw: a constant, never the run's seed, so every loss and seed of a study see the same rows
TRAIN_SAMPLE_SEED = 0
#: what :func:`evaluate_training_split` measures, each as ``train_<name>``
TRAIN_MEASURES = ("intra", "inter", "ratio", "within_class_rank", "spectral_decay", "pi_ratio")


def training_sample(labels: torch.Tensor, max_rows: int = TRAIN_SAMPLE_ROWS) -> torch.Tensor:
    """Sorted indices of a fixed class-balanced sample of the training split: the same number of rows of
    every class, min(smallest class, ``max_rows`` // C) (at least 1), drawn by a generator seeded with
    :data:`TRAIN_SAMPLE_SEED`. It depends on the labels only, so every loss and seed of a study (which
    share the training split) are measured on the same rows."""
    labels = torch.as_tensor(labels).cpu()
    classes, inverse = torch.unique(labels, return_inverse=True)
    members = [torch.nonzero(inverse == k).flatten() for k in range(len(classes))]
    per_class = max(1, min(min(len(m) for m in members), max_rows // len(classes)))
    gen = torch.Generator().manual_seed(TRAIN_SAMPLE_SEED)
    return torch.cat([m[torch.randperm(len(m), generator=gen)[:per_class]] for m in members]).sort().values


def evaluate_training_split(z: torch.Tensor, labels: torch.Tensor) -> dict:
    """VARIANCE and Roth et al.'s compression of the training split: ``train_intra``, ``train_inter``,
    ``train_ratio`` (:func:`~vgteach.diagnostics.variance_stats`), ``train_within_class_rank``,
    ``train_spectral_decay``, ``train_pi_ratio`` (as :func:`~vgteach.diagnostics.geometry_stats` defines
    them; the last two are :func:`~vgteach.diagnostics.compression_stats`), on the
    embeddings ``z`` of :func:`training_sample`'s rows (DESIGN.md §3: Roth et al. relate the training split's
    compression to zero-shot generalisation).

    ``labels`` are the *training* labels, the ones the loss saw: the first half of the classes for
    ``zero-shot``, the superclass labels for ``coarse-to-fine`` (how the head groups what it was told to
    group; the fine structure it was not told about is the evaluation split's VARIANCE).
    """
    stats = {**variance_stats(z, labels), **compression_stats(z, labels)}
    # geometry_stats' within_class_rank alone: the rest of geometry_stats (its O(N²) uniformity above all)
    # would cost ten times these measures at every evaluation, on up to 10,000 rows
    stats["within_class_rank"] = float(within_class_rank(unit_float64(z), labels.to(z.device)))
    return {f"train_{name}": stats[name] for name in TRAIN_MEASURES}


#: what :func:`evaluate_pull` records (:func:`~vgteach.diagnostics.pull_focus`)
PULL_MEASURES = ("far_pull_share", "pushed_positive_share")


def evaluate_pull(run) -> dict:
    """Where the loss aims its pull on one fixed training batch (the first of epoch 0's order, the same for
    every evaluation of the run): :func:`~vgteach.diagnostics.pull_focus`'s ``far_pull_share`` (the share of
    the pull on positive pairs that lands on their farthest quarter) and ``pushed_positive_share``. NaN for
    N-pair, whose similarity block pull_focus cannot read."""
    idx = run.probe_batch.to(run.device)
    z = embed(run.model, run.x_train[idx], run.device, run.amp)
    try:
        focus = pull_focus(run.loss_fn, z, run.y_train[idx])
    except ValueError:
        return dict.fromkeys(PULL_MEASURES, math.nan)
    return {name: focus[name] for name in PULL_MEASURES}


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
#: the history's names of two of the tracker's columns (:data:`vgteach.track.COLUMNS`): the study's
#: ``history.csv`` and every committed reference result call them so
HISTORY_NAMES = {"loss": "train_loss", "param_grad_norm": "head_grad_norm"}
#: the GREEDINESS columns of a run's history, in the tracker's order
GREEDINESS_COLUMNS = tuple(HISTORY_NAMES.get(column, column) for column in COLUMNS)


@dataclass
class Run:
    """One run's working objects, as :func:`start_run` builds them from its config."""

    config: TrainConfig
    device: torch.device
    amp: bool
    model: torch.nn.Module  # wrapped in DistributedDataParallel under torchrun
    loss_fn: torch.nn.Module
    optimizer: torch.optim.Optimizer
    sampler: MPerClassBatches
    x_train: torch.Tensor  # on the device
    y_train: torch.Tensor  # on the device
    x_eval: torch.Tensor  # where it was loaded: embedded in chunks
    y_eval: torch.Tensor
    tracker: Optional[GreedinessTracker]  # None: bare steps
    train_sample: torch.Tensor  # rows of x_train measured at every evaluation (training_sample)
    probe_batch: torch.Tensor  # one training batch (epoch 0's first) whose pull_focus every evaluation reads


def start_run(config: TrainConfig, data=None, progress: bool = True, track: bool = True) -> Run:
    """Data (loaded unless given, as :func:`load_data` gives it: the protocol's classes and labels), head,
    loss, optimizer, sampler and tracker of a run, seeded by its config. A proxy loss gets one proxy per
    *training* class of the protocol (2 for CIFAR-10's coarse-to-fine, 5 for its zero-shot)."""
    device = resolve_device(config.device)
    x_train, y_train, x_eval, y_eval = data if data is not None else load_data(config, progress)
    model = build_model(config, x_train).to(device)
    num_classes = max(config.protocol_split().num_train_classes, int(y_train.max()) + 1)
    loss_fn = build_loss_for(config, num_classes).to(device)
    # fused: one kernel for all parameters, with the step count kept on the device (the default reads it on
    # the host every step)
    optimizer = torch.optim.Adam(
        [*model.parameters(), *loss_fn.parameters()],
        lr=config.lr,
        weight_decay=config.weight_decay,
        fused=device.type in ("cpu", "cuda"),
    )
    tracker = GreedinessTracker(loss_fn, model, loss_scale=dist.world_size()) if track else None
    if dist.world_size() > 1:
        ids = [torch.cuda.current_device()] if device.type == "cuda" else None  # set from LOCAL_RANK
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    sampler = MPerClassBatches(y_train, config.batch_size, config.m_per_class, seed=config.seed)
    amp = device.type == "cuda" if config.amp is None else bool(config.amp)
    on_device = (x_train.to(device), y_train.to(device), x_eval, y_eval)
    probe = sampler.epoch(0)[0]
    return Run(
        config, device, amp, model, loss_fn, optimizer, sampler, *on_device, tracker, training_sample(y_train), probe
    )


def resume_run(run: Run, path: Path) -> tuple[list, dict, int, float]:
    """``(rows, embeddings, start_epoch, elapsed)``: where the checkpoint at ``path`` left ``run`` (its
    parameters and optimizer state restored), or a fresh start when there is none."""
    state = load_checkpoint(path, run.config)
    if state is None:
        return [], {}, 0, 0.0
    unwrap(run.model).load_state_dict(state["model"])
    run.loss_fn.load_state_dict(state["loss_fn"])
    run.optimizer.load_state_dict(state["optimizer"])
    embeddings = {int(k): v.numpy() for k, v in state["embeddings"].items()}
    return json.loads(state["history"]), embeddings, state["epoch"] + 1, state["elapsed"]


def train_epoch(run: Run, epoch: int) -> dict:
    """The epoch's steps and the means of their GREEDINESS, under the history's names. Epoch 0 is one step
    without an update: the untrained head's numbers. Bare steps (no tracker) keep only ``train_loss``."""
    batches = run.sampler.epoch(epoch, run.device)
    losses = []
    for batch in batches[:1] if epoch == 0 else batches:
        idx = dist.shard(batch)
        x, y = run.x_train[idx], run.y_train[idx]
        out = train_step(run.model, run.loss_fn, run.optimizer, x, y, run.amp, run.tracker, update=epoch > 0)
        if run.tracker is None:
            losses.append(out.loss.detach())
    if run.tracker is None:
        return {**dict.fromkeys(GREEDINESS_COLUMNS, math.nan), "train_loss": float(torch.stack(losses).mean())}
    means = run.tracker.end_epoch()
    return {HISTORY_NAMES.get(column, column): means[column] for column in COLUMNS}


def epoch_row(run: Run, epoch: int, previous: Optional[dict], embeddings: dict) -> dict:
    """One history row: the epoch's training (:func:`train_epoch`), ``loss_decay`` against the ``previous``
    row, the evaluation on evaluated epochs (epoch 0 and the last always; the embeddings kept in
    ``embeddings`` with ``keep_embeddings``) with the training split's ``train_…`` measures, and
    ``epoch_time_s``."""
    tic = time.perf_counter()
    row = {"epoch": epoch, **train_epoch(run, epoch)}
    last = previous["train_loss"] if previous else None
    row["loss_decay"] = (last - row["train_loss"]) / abs(last) if last else 0.0
    if dist.is_main_process() and epoch in run.config.evaluated_epochs():
        z = embed(run.model, run.x_eval, run.device, run.amp)
        row.update(evaluate(z, run.y_eval.to(run.device), run.config.seed))
        if run.config.keep_embeddings:
            embeddings[epoch] = z.cpu().numpy()
        sample = run.train_sample.to(run.device)
        z_train = embed(run.model, run.x_train[sample], run.device, run.amp)
        row.update(evaluate_training_split(z_train, run.y_train[sample]))
        row.update(evaluate_pull(run))
    row["epoch_time_s"] = time.perf_counter() - tic
    return row


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
        ``(x_train, y_train, x_eval, y_eval)`` as :func:`load_data` gives it (the protocol applied), to skip
        loading (the study loads once for all losses).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig (see make_config), got {type(config).__name__}")
    run = start_run(config, data, progress, track)
    path = Path(checkpoint) if checkpoint is not None else None
    rows, embeddings, start_epoch, elapsed = resume_run(run, path) if (path and resume) else ([], {}, 0, 0.0)
    bar = tqdm(
        range(start_epoch, config.epochs + 1),
        desc=f"{config.loss} seed {config.seed}",
        disable=not progress or not dist.is_main_process(),
        initial=start_epoch,
        total=config.epochs + 1,
    )
    for epoch in bar:
        row = epoch_row(run, epoch, rows[-1] if rows else None, embeddings)
        elapsed += row["epoch_time_s"]
        rows.append(row)
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", r1=f"{row.get('recall@1', math.nan):.3f}")
        if path is not None and dist.is_main_process():
            save_checkpoint(path, config, epoch, run.model, run.loss_fn, run.optimizer, rows, embeddings, elapsed)
    history = pd.DataFrame(rows)
    model, y_eval = unwrap(run.model), run.y_eval.cpu().numpy()
    return TrainResult(config, history, summarize(history, elapsed), model, run.loss_fn, embeddings, y_eval)
