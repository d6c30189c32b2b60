"""The paper's study: every loss, the same configuration, several seeds; tables, figures and a report.

    vgteach study --dataset digits --profile book          # the command line
    run_study(dataset="digits", losses=LOSS_NAMES, seeds=(0,), profile="book", out="runs/study")
    run_study(protocol="zero-shot", out="runs/zero-shot")   # train on 5 CIFAR-10 classes, score the other 5
    run_study(grid="robustness", seeds=(0, 1, 2))            # every loss at half/default/double its main
                                                             # hyper-parameter (vgteach.training.grids)

Output folder::

    history.csv           one row per (loss, seed, epoch): GREEDINESS and evaluation columns, and the
                          train_… VARIANCE of a fixed sample of the training split
    summary.csv           one row per (loss, seed): final metrics and the speeds relative to the untrained
                          head (convergence_epoch, map_convergence_epoch, compaction_epoch, intra_change,
                          ratio_compaction_epoch, ratio_change)
    summary_by_loss.csv   mean and std over seeds per loss (columns ``<metric>`` and ``<metric>_std``)
    study.json            the configuration (its protocol included), the protocol's training and
                          evaluation classes, versions, hardware, wall time
    report.md             the tables and the figures below, readable on GitHub
    *.png                 learning curves, greediness curves, gradient-norm distributions,
                          2-D projections of each loss's embeddings, R@1 vs intra-class variance
    runs/<loss>-seed<s>/  checkpoint.pt (every epoch), history.csv, summary.json, final.npz

A *grid* study (``grid=``, :mod:`vgteach.training.grids`) runs its losses once per named setting of their
hyper-parameters: the tables get a ``setting`` column (``summary_by_loss.csv``: one row per setting and
loss), ``study.json`` a ``grid`` entry (its name and setting → loss → loss_kwargs), and each setting is a
study of its own under ``runs/<setting>/`` (its runs in ``runs/<setting>/runs/<loss>-seed<s>/``, its
report and figures beside them); ``report.md`` holds one table per setting.

A killed study continues with ``resume=True`` (``--resume``): finished runs are read back, the
interrupted one continues from its last checkpoint. Every file is written atomically (temporary file +
rename), so a kill never leaves a half-written table.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..device import resolve_device
from ..diagnostics import per_sample_grad_norms
from ..figures import pca_2d
from ..io import atomic_savez, atomic_write_csv, atomic_write_text, run_folder
from ..losses import LOSS_NAMES
from . import distributed as dist
from .config import TrainConfig, make_config
from .grids import grid as named_grid
from .grids import grid_losses, restrict
from .report import describe_setting, write_grid_report, write_report  # noqa: F401 - describe_setting: its old home
from .sampler import MPerClassBatches
from .trainer import TrainResult, embed, load_data, train

PROJECTION_POINTS = 1000


# -- one run's artefacts ------------------------------------------------------------------------------------
def projection_2d(z: torch.Tensor, labels: torch.Tensor, seed: int, points: int = PROJECTION_POINTS):
    """``(points [P, 2], labels [P])``: :func:`vgteach.figures.pca_2d` of a fixed random subsample of at most
    ``points`` evaluation embeddings, for the projection figure (float32: stored in ``final.npz``). One-column
    embeddings have no plane to project on: no points (an empty panel)."""
    gen = torch.Generator().manual_seed(seed)
    keep = torch.randperm(len(z), generator=gen)[:points]
    if z.shape[1] < 2:
        return np.zeros((0, 2), np.float32), labels[keep[:0]].numpy()
    projected, _ = pca_2d(z[keep].numpy())
    return projected.astype(np.float32), labels[keep].numpy()


def final_artefacts(result: TrainResult, data, device) -> dict:
    """Per-sample gradient norms on one training batch and a 2-D projection of the final embeddings."""
    x_train, y_train, x_eval, y_eval = data
    cfg = result.config
    batch = MPerClassBatches(y_train, cfg.batch_size, cfg.m_per_class, seed=cfg.seed).epoch(cfg.epochs + 1)[0]
    model = result.model
    amp = device.type == "cuda" if cfg.amp is None else bool(cfg.amp)
    z_batch = embed(model, x_train[batch], device, amp)
    norms = per_sample_grad_norms(result.loss_fn, z_batch, y_train[batch].to(device)).cpu().numpy()
    z_eval = embed(model, x_eval, device, amp).cpu()
    projection, proj_labels = projection_2d(z_eval, y_eval.cpu(), cfg.seed)
    return {"grad_norms": norms, "projection": projection, "projection_labels": proj_labels}


def run_one(config: TrainConfig, out: Path, data, resume: bool, progress: bool):
    """Train (or read back) one (loss, seed) run; return ``(history, summary)`` with loss/seed columns."""
    folder = run_folder(out, config.loss, config.seed)
    folder.mkdir(parents=True, exist_ok=True)
    done = folder / "summary.json"
    if resume and done.exists() and (folder / "history.csv").exists():
        return pd.read_csv(folder / "history.csv"), json.loads(done.read_text())
    result = train(config, progress=progress, checkpoint=folder / "checkpoint.pt", resume=resume, data=data)
    if not dist.is_main_process():
        return None, None
    device = next(result.model.parameters()).device
    atomic_savez(folder / "final.npz", **final_artefacts(result, data, device))
    history = result.history.assign(loss=config.loss, seed=config.seed)
    summary = {"loss": config.loss, "seed": config.seed, **result.summary}
    atomic_write_csv(history, folder / "history.csv")
    atomic_write_text(done, json.dumps(summary, indent=1, default=float))
    return history, summary


# -- several runs at once ----------------------------------------------------------------------------------
def available_cores() -> int:
    """CPU cores this process may use (its affinity mask, e.g. a container's share), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def study_workers(workers, num_runs: int, device: str = "auto") -> int:
    """How many runs train at once, each in its own process.

    ``"auto"``: on the CPU one per available core, at most one per run — a linear head on small inputs
    keeps one core busy, and two single-threaded runs finish sooner than one run on two threads; on a GPU
    or under ``torchrun`` 1 (the runs share the device, or the ranks already split the work). An integer
    ≥ 1 is taken as given. Every run is determined by its config, so the results do not depend on it up to
    floating-point rounding (the thread count changes the order of the sums).
    """
    if workers == "auto":
        if resolve_device(device).type != "cpu" or dist.world_size() > 1:
            return 1
        return max(1, min(available_cores(), num_runs))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be 'auto' or an integer >= 1, got {workers!r}")
    return workers


_WORKER_DATA = None  # the study's data in a worker process, sent once by _start_worker


def _start_worker(data, threads: int) -> None:
    from threadpoolctl import threadpool_limits

    global _WORKER_DATA
    _WORKER_DATA = data
    torch.set_num_threads(threads)
    # and the OpenMP/BLAS pools of NumPy and scikit-learn (NMI's k-means): each would start one thread
    # per core in every worker, and threads spinning on shared cores cost more than they compute
    threadpool_limits(threads)
    keep_freed_memory()


def keep_freed_memory(size: int = 256 << 20) -> None:
    """Let glibc's malloc keep freed blocks up to ``size`` bytes instead of returning them to the system.

    Each evaluation allocates and frees pairwise blocks of tens of MB; above glibc's default mmap
    threshold every one is a fresh mmap whose pages the kernel zeroes again: 15 s of system time in the
    90 s of CPU of the default study, 2 s with this (``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``
    set at run time). A no-op where the C library is not glibc.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    mallopt(m_mmap_threshold, size)
    mallopt(m_trim_threshold, 2 * size)


def _run_in_worker(config: TrainConfig, out: Path, resume: bool):
    return run_one(config, out, _WORKER_DATA, resume, progress=False)


def run_parallel(jobs, data, resume: bool, progress: bool, workers: int) -> list:
    """:func:`run_one` of every ``(config, study folder)`` of ``jobs`` in ``workers`` processes (one progress
    bar over runs); results in the order of ``jobs``. Processes are spawned, not forked: a fork of a process
    whose OpenMP threads already ran can hang. Each gets ``cores // workers`` threads (at least 1)."""
    threads = max(1, available_cores() // workers)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(data, threads)) as pool:
        futures = [pool.submit(_run_in_worker, config, out, resume) for config, out in jobs]
        bar = tqdm(total=len(futures), desc=f"study ({workers} processes)", unit="run", disable=not progress)
        for done in as_completed(futures):
            done.result()  # a failed run stops the study now, with its own error
            bar.update()
        bar.close()
        return [future.result() for future in futures]


# -- the study ----------------------------------------------------------------------------------------------
def validate_losses(losses) -> tuple:
    """The loss names of ``losses`` (a sequence, a comma-separated string, ``"all"`` or ``None``: all seven)."""
    if losses is None:
        return LOSS_NAMES
    if isinstance(losses, str):
        losses = LOSS_NAMES if losses == "all" else tuple(part.strip() for part in losses.split(","))
    losses = tuple(losses)
    unknown = [name for name in losses if name not in LOSS_NAMES]
    if unknown or not losses:
        raise ValueError(f"unknown loss {unknown[0] if unknown else '(none)'!r}; valid: {', '.join(LOSS_NAMES)}")
    return losses


def validate_seeds(seeds) -> tuple:
    seeds = (seeds,) if isinstance(seeds, int) else tuple(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be non-negative integers, got {seeds!r}")
    return seeds


def validate_grid(grid, losses=None) -> dict:
    """The settings of ``grid`` (a name of :data:`vgteach.training.grids.GRIDS` or a dict
    ``{setting: {loss: loss_kwargs}}``) restricted to ``losses`` (``None``: all of the grid's), every setting's
    losses in :data:`~vgteach.losses.LOSS_NAMES` order. ``ValueError`` for an unknown grid, setting name,
    loss or hyper-parameter, and for a loss the grid does not run; ``TypeError`` for a malformed dict."""
    import inspect

    from ..losses import LOSSES

    settings = named_grid(grid) if isinstance(grid, str) else grid
    if not isinstance(settings, dict) or not settings:
        raise TypeError(f"grid must be a grid name or a non-empty dict {{setting: {{loss: kwargs}}}}, got {grid!r}")
    for setting, per_loss in settings.items():
        if not isinstance(setting, str) or not setting.strip() or any(c in setting for c in "/\\") or setting[0] == ".":
            raise ValueError(f"a grid setting must be a folder-safe name such as 'low' or 'tau=0.1', got {setting!r}")
        if not isinstance(per_loss, dict) or not per_loss:
            raise TypeError(f"grid setting {setting!r} must map loss names to loss_kwargs dicts, got {per_loss!r}")
        for loss, kwargs in per_loss.items():
            validate_losses((loss,))
            if not isinstance(kwargs, dict):
                raise TypeError(f"grid setting {setting!r}: the loss_kwargs of {loss} must be a dict, got {kwargs!r}")
            accepted = set(inspect.signature(LOSSES[loss].__init__).parameters) - {
                "self",
                "num_classes",
                "embedding_dim",
            }
            unknown = sorted(set(kwargs) - accepted)
            if unknown:
                raise ValueError(
                    f"grid setting {setting!r}: {loss} does not take {unknown}; it accepts {sorted(accepted)}"
                )
    settings = restrict(settings, None if losses is None else validate_losses(losses))
    order = {name: i for i, name in enumerate(LOSS_NAMES)}
    return {
        setting: {loss: dict(per_loss[loss]) for loss in sorted(per_loss, key=order.get)}
        for setting, per_loss in settings.items()
        if per_loss
    }


def aggregate(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean and (sample) std over seeds of every numeric column, one row per loss in LOSS_NAMES order; a grid
    study's summary (a ``setting`` column) one row per setting and loss, the settings in their order."""
    keys = ["setting", "loss"] if "setting" in summary.columns else ["loss"]
    groups = summary.drop(columns=["seed"]).groupby(keys, sort=False)
    mean, std = groups.mean(numeric_only=True), groups.std(numeric_only=True, ddof=1)
    table = mean.join(std.add_suffix("_std"))
    table.insert(0, "num_seeds", summary.groupby(keys, sort=False)["seed"].count())
    table = table.reset_index()
    position = table["loss"].map({name: i for i, name in enumerate(LOSS_NAMES)})
    if "setting" in keys:
        settings = {s: i for i, s in enumerate(dict.fromkeys(summary["setting"]))}
        position = position + len(LOSS_NAMES) * table["setting"].map(settings)
    return table.iloc[np.argsort(position.to_numpy(), kind="stable")].reset_index(drop=True)


def run_study(
    dataset: str = "cifar10-features",
    losses: Optional[Iterable[str]] = None,
    seeds: Sequence[int] = (0,),
    profile: str = "book",
    out: os.PathLike = "runs/study",
    protocol: Optional[str] = None,
    grid=None,
    device: str = "auto",
    resume: bool = False,
    progress: bool = True,
    figures: bool = True,
    workers=1,
    **overrides,
) -> pd.DataFrame:
    """Train every loss in ``losses`` for every seed with one configuration; write the output folder.

    ``losses`` ``None``: all seven (a grid study: all of the grid's). ``protocol`` is ``"closed"``,
    ``"zero-shot"`` or ``"coarse-to-fine"`` (:attr:`TrainConfig.protocol`, :mod:`vgteach.protocols`): which
    classes train and which the evaluation split scores (``None``: the dataset's own split, ``"closed"``
    except for CUB-200 and Cars196); a protocol the dataset cannot support fails at once, before loading.
    ``grid`` (``"robustness"``, ``"temperature"`` or a dict ``{setting: {loss: loss_kwargs}}``, see
    :mod:`vgteach.training.grids`) runs each loss under every setting of the grid; the tables get a
    ``setting`` column, and a loss the grid does not run is a ``ValueError``. ``overrides`` are
    :class:`~vgteach.training.TrainConfig` fields (``backbone``, ``epochs``, ``batch_size``, ``data_root``,
    …) applied on top of ``profile`` (``loss_kwargs`` only without a grid). ``workers`` runs that many
    (setting, loss, seed) runs at once in separate processes (``"auto"``: see :func:`study_workers`; the
    command line's default). Returns ``summary.csv`` as a DataFrame (one row per loss and seed, and setting).

    ``workers`` > 1 *spawns* processes, which import the calling script again: a script that calls
    ``run_study(workers=2)`` needs the ``if __name__ == "__main__":`` guard (notebooks and the command line
    do not).
    """
    seeds = validate_seeds(seeds)
    if grid is not None and "loss_kwargs" in overrides:
        raise ValueError("a grid study sets each loss's loss_kwargs itself: give grid or loss_kwargs, not both")
    settings = validate_grid(grid, losses) if grid is not None else None
    losses = grid_losses(settings) if settings else validate_losses(losses)
    out = Path(out)
    base = make_config(profile, dataset=dataset, protocol=protocol, loss=losses[0], device=device, **overrides)
    data = load_data(base, progress)
    out.mkdir(parents=True, exist_ok=True)
    tic = time.perf_counter()
    jobs = study_jobs(base, losses, seeds, settings, out)
    workers = study_workers(workers, len(jobs), device)
    results = run_jobs(jobs, data, resume, progress, workers)
    if not dist.is_main_process():
        return pd.DataFrame()
    history, summary = collect_results(results, jobs, settings is not None)
    by_loss = aggregate(summary)
    atomic_write_csv(history, out / "history.csv")
    atomic_write_csv(summary, out / "summary.csv")
    atomic_write_csv(by_loss, out / "summary_by_loss.csv")
    meta = study_metadata(base, losses, seeds, profile, time.perf_counter() - tic, workers, grid, settings)
    atomic_write_text(out / "study.json", json.dumps(meta, indent=1))
    if figures and settings is None:
        write_report(out, history, summary, by_loss, meta)
    elif figures:
        write_grid_report(out, history, summary, by_loss, meta)
    return summary


def study_jobs(base: TrainConfig, losses, seeds, settings: Optional[dict], out: Path) -> list:
    """``(setting, config, folder)`` of every run: each loss and seed, and each setting of a grid (``settings``;
    ``None`` without one), which is a study folder of its own (``runs/<setting>/runs/<loss>-seed<s>``)."""
    if settings is None:
        return [(None, base.replace(loss=loss, seed=seed), out) for loss in losses for seed in seeds]
    return [
        (setting, base.replace(loss=loss, seed=seed, loss_kwargs=kwargs), out / "runs" / setting)
        for setting, per_loss in settings.items()
        for loss, kwargs in per_loss.items()
        for seed in seeds
    ]


def run_jobs(jobs: list, data, resume: bool, progress: bool, workers: int) -> list:
    """The ``(history, summary row)`` of every job of :func:`study_jobs`, in their order: one after the other, or
    ``workers`` at once (:func:`run_parallel`)."""
    if workers == 1:
        return [run_one(config, folder, data, resume, progress) for _, config, folder in jobs]
    return run_parallel([(config, folder) for _, config, folder in jobs], data, resume, progress, workers)


def collect_results(results: list, jobs: list, grid: bool) -> tuple:
    """``(history, summary)``: the runs' histories in one table and their summary rows in another, each with a
    ``setting`` column in a ``grid`` study."""
    histories, summaries = [list(column) for column in zip(*results)]
    if grid:
        histories = [h.assign(setting=job[0]) for h, job in zip(histories, jobs)]
        summaries = [{"setting": job[0], **row} for row, job in zip(summaries, jobs)]
    return pd.concat(histories, ignore_index=True), pd.DataFrame(summaries)


def study_metadata(
    base: TrainConfig, losses, seeds, profile: str, wall_time: float, workers: int = 1, grid=None, settings=None
) -> dict:
    """``study.json``: the command, the configuration (all but loss and seed, and a grid's loss_kwargs), the
    protocol's classes, a grid's name and ``settings`` (setting → loss → loss_kwargs), versions, hardware."""
    dropped = ("loss", "seed") if settings is None else ("loss", "seed", "loss_kwargs")
    return {
        "command": " ".join(["vgteach", *sys.argv[1:]])
        if Path(sys.argv[0]).name in ("vgteach", "__main__.py")
        else None,
        "profile": profile,
        "losses": list(losses),
        "seeds": list(seeds),
        "config": {k: v for k, v in base.to_dict().items() if k not in dropped},
        "protocol": base.protocol_split().describe(),
        **(
            {}
            if settings is None
            else {"grid": {"name": grid if isinstance(grid, str) else None, "settings": settings}}
        ),
        "wall_time_s": round(wall_time, 2),
        "workers": workers,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
        "hardware": {
            "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(),
            "cpu_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
    }
