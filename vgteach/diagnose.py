r"""``vgteach diagnose``: the book's lenses on *your* embeddings — VARIANCE, geometry, retrieval, GREEDINESS.

    vgteach diagnose embeddings.npy labels.csv --out runs/diagnose     # the command line
    vgteach diagnose features.npz --out runs/diagnose                  # one file holding both
    metrics = diagnose("embeddings.npy", "labels.csv", out="runs/diagnose")   # the same from Python
    metrics = diagnose(z, y)                                           # arrays in, a dict out, no files

Inputs (:func:`read_inputs`): ``.npy``, ``.npz``, ``.pt`` (tensors only, read with ``weights_only=True``),
``.csv``/``.tsv``/``.txt``; embeddings ``[N, D]``, labels ``[N]`` (integers or strings). One file may
hold both: an ``.npz`` or a ``.pt`` dict with ``embeddings`` and ``labels`` entries, a ``.pt`` tuple
``(embeddings, labels)``, or a table with a header naming a ``label`` column. Nothing is ever unpickled.

Output folder, written all-or-nothing (a temporary folder beside ``out``, renamed at the end)::

    report.md       the tables below and the figures, readable on GitHub
    metrics.json    every number, for scripts
    variance.png    per-class spread, centroid spacing, spread vs the nearest other class
    retrieval.png   recall@K
    greediness.png  what each of the seven losses would do on these embeddings
    projection.png  the first two principal components of a class-stratified sample

Scale (goal: 100,000 × 512 embeddings with 1,000 classes in ≤ 3 min and ≤ 3 GB on 2 CPU cores, measured
by ``bench/bench_diagnose.py``): retrieval is exact and chunked (faiss when installed), VARIANCE uses every
sample, and the pair-based geometry and NMI's k-means run on a class-stratified sample of at most
:data:`SAMPLE_SIZE` embeddings (stated in the report); k-means restarts four times up to
:data:`KMEANS_RESTARTS_MAX_CLASSES` classes, once above (:func:`nmi_restarts`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .diagnostics import geometry_stats, greediness_stats, variance_stats
from .diagnostics._common import class_index, class_means, unit_float64
from .losses import LOSS_NAMES, build_loss
from .retrieval import KMEANS_N_INIT, kmeans_nmi, retrieval_metrics

#: names under which a dict-like file (npz, a .pt dict, a table's header) holds each array
EMBEDDING_KEYS = ("embeddings", "embedding", "features", "feature", "x", "z", "emb")
LABEL_KEYS = ("labels", "label", "y", "targets", "target", "class", "classes")
#: at most this many samples (class-stratified) for the pair-based geometry, NMI's k-means and the plot
SAMPLE_SIZE = 10_000
#: NMI's k-means restarts: the training evaluation's 4 up to this many classes, then one. k-means costs
#: O(restarts · iterations · N K D): at K = 1,000 on the 10,000-sample, four restarts took 2.5 minutes on
#: 2 cores (``bench/bench_diagnose.py``), one takes seconds and k-means++ seeding keeps it a good clustering.
KMEANS_RESTARTS_MAX_CLASSES = 100
PROJECTION_POINTS = 2_000
FORMATS = (".npy", ".npz", ".pt", ".pth", ".csv", ".tsv", ".txt")


class InputError(ValueError):
    """Bad input or an unwritable ``--out``: the message is one line naming the file and the problem."""


# -- reading ------------------------------------------------------------------------------------------------
def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _validate_magic(path: Path, magic: bytes, what: str) -> None:
    """np.load treats a file without its format's magic bytes as a pickle; say what it really is."""
    with open(path, "rb") as handle:
        if handle.read(len(magic)) != magic:
            raise InputError(f"{path}: not an {what} file (it does not start with {magic!r})")


def _read_npy(path: Path):
    _validate_magic(path, b"\x93NUMPY", ".npy")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise InputError(
                f"{path}: holds pickled Python objects, which vgteach does not load; save a "
                "numeric (or string) array with allow_pickle=False"
            ) from None
        raise


def _read_npz(path: Path) -> dict:
    _validate_magic(path, b"PK", ".npz (zip)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise InputError(
                f"{path}: an array in it holds pickled Python objects, which vgteach does not "
                "load; save numeric (or string) arrays with allow_pickle=False"
            ) from None
        raise


def _read_pt(path: Path):
    import pickle

    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise InputError(
            f"{path}: not a tensor file: torch.load(weights_only=True) refused it (it holds "
            "pickled Python objects); save a tensor, a dict or a tuple of tensors"
        ) from None
    if isinstance(content, (tuple, list)) and len(content) == 2 and isinstance(content[0], torch.Tensor):
        content = {"embeddings": content[0], "labels": content[1]}
    if isinstance(content, dict):
        return {str(k): v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v) for k, v in content.items()}
    if isinstance(content, torch.Tensor):
        return content.numpy()
    raise InputError(
        f"{path}: holds a {type(content).__name__}; expected a tensor, a dict of tensors or "
        "a tuple (embeddings, labels)"
    )


def _looks_numeric(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _read_table(path: Path):
    """A numeric table -> array; with a header row -> dict ``{"embeddings", "labels"}`` (or one of them).

    The first row is a header when one of its cells is not a number above a number, or when the file has
    one column whose first cell is a label name (``label``, ``y``, ...)."""
    import pandas as pd

    sep = {".csv": ",", ".tsv": "\t"}.get(path.suffix.lower(), r"\s+")
    head = pd.read_csv(path, sep=sep, header=None, nrows=2, dtype=str, keep_default_na=False)
    first, second = head.iloc[0].tolist(), head.iloc[1].tolist() if len(head) > 1 else None
    header = (
        second is not None
        and any(not _looks_numeric(a) and _looks_numeric(b) for a, b in zip(first, second))
        or (len(first) == 1 and first[0].strip().lower() in LABEL_KEYS)
    )
    frame = pd.read_csv(path, sep=sep, header=0 if header else None)
    if not header:
        return frame.to_numpy() if frame.shape[1] > 1 else frame.iloc[:, 0].to_numpy()
    label_columns = [c for c in frame.columns if str(c).strip().lower() in LABEL_KEYS]
    out = {"labels": frame.pop(label_columns[0]).to_numpy()} if label_columns else {}
    if frame.shape[1]:
        not_numeric = [str(c) for c in frame.columns if frame[c].dtype.kind not in "fiub"]
        if not_numeric:
            raise InputError(
                f"{path}: column {not_numeric[0]!r} is not numeric (embedding columns must be "
                f"numbers; name the label column one of {', '.join(LABEL_KEYS[:3])})"
            )
        out["embeddings"] = frame.to_numpy()
    return out


READERS = {
    ".npy": _read_npy,
    ".npz": _read_npz,
    ".pt": _read_pt,
    ".pth": _read_pt,
    ".csv": _read_table,
    ".tsv": _read_table,
    ".txt": _read_table,
}


def read_file(path) -> "np.ndarray | dict":
    """The content of one input file: an array, or a dict of named arrays. Any problem -> :class:`InputError`."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise InputError(f"{path}: unknown format {path.suffix!r}; use one of {', '.join(FORMATS)}")
    try:
        if path.stat().st_size == 0:
            raise InputError(f"{path}: the file is empty (0 bytes)")
        return reader(path)
    except InputError:
        raise
    except PermissionError as error:
        raise InputError(f"{path}: cannot read it ({error.strerror})") from None
    except Exception as error:  # a corrupt or foreign file: whatever the parser raised, one line
        raise InputError(f"{path}: not a readable {path.suffix} file ({_first_line(error)})") from None


def _pick(content, keys, path, what: str) -> np.ndarray:
    if not isinstance(content, dict):
        return np.asarray(content)
    lowered = {name.lower(): name for name in content}
    for key in keys:
        if key in lowered:
            return np.asarray(content[lowered[key]])
    if len(content) == 1:
        return np.asarray(next(iter(content.values())))
    raise InputError(f"{path}: holds {sorted(content)}; name the {what} one of {', '.join(keys[:3])}")


def read_inputs(embeddings, labels=None) -> tuple[np.ndarray, np.ndarray]:
    """``(embeddings, labels)`` as read from one or two files (see the module docstring), not yet checked."""
    content = read_file(embeddings)
    if labels is not None:
        return _pick(content, EMBEDDING_KEYS, embeddings, "embeddings"), _pick(
            read_file(labels), LABEL_KEYS, labels, "labels"
        )
    if not isinstance(content, dict) or len(content) < 2:
        raise InputError(
            f"{embeddings}: no labels: pass a LABELS file, or save both in one file (an .npz or "
            ".pt dict with 'embeddings' and 'labels', a table with a 'label' column)"
        )
    return _pick(content, EMBEDDING_KEYS, embeddings, "embeddings"), _pick(content, LABEL_KEYS, embeddings, "labels")


# -- checking -----------------------------------------------------------------------------------------------
def _rows(index: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(i) for i in index[:limit])
    return f"rows {shown}{', …' if len(index) > limit else ''}"


def _names(values, limit: int = 5) -> str:
    shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in values[:limit])
    return shown + (", …" if len(values) > limit else "")


def validate_inputs(embeddings, labels, names=("embeddings", "labels")):
    """Validated ``(x float32 [N, D], codes int64 [N] in 0..C−1, classes [C], warnings)``.

    Raises :class:`InputError` (one line) for: non-numeric, 1-D, 3-D or empty embeddings; NaN/Inf rows
    (how many and which); labels that are not one per row, or missing; a single class; no class with two
    samples. Classes with a single sample are *kept* (they count for VARIANCE) and reported in the
    warnings: retrieval excludes them as queries and GREEDINESS batches leave them out.
    """
    emb_name, lab_name = (str(n) for n in names)
    x, y = np.asarray(embeddings), np.asarray(labels)
    if x.dtype.kind not in "fiu":
        raise InputError(f"{emb_name}: embeddings must be numbers, got dtype {x.dtype}")
    if x.ndim != 2:
        raise InputError(f"{emb_name}: expected a 2-D array [N, D] of embeddings, got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise InputError(f"{emb_name}: no embeddings (shape {x.shape})")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise InputError(f"{lab_name}: expected one label per row (shape [N]), got shape {y.shape}")
    if len(y) != len(x):
        raise InputError(f"mismatched lengths: {emb_name} has {len(x)} rows but {lab_name} has {len(y)} labels")
    x = np.ascontiguousarray(x, dtype=np.float32)
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if len(bad):
        raise InputError(f"{emb_name}: {len(bad)} of {len(x)} rows contain NaN or Inf ({_rows(bad)})")
    import pandas as pd

    missing = np.flatnonzero(pd.isna(y))
    if len(missing):
        raise InputError(f"{lab_name}: {len(missing)} labels are missing ({_rows(missing)})")
    if y.dtype.kind == "O":
        y = y.astype(str)
    classes, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    if len(classes) < 2:
        raise InputError(
            f"{lab_name}: a single class ({_names(classes)}); VARIANCE, retrieval and GREEDINESS "
            "compare classes, so at least 2 are needed"
        )
    if (counts >= 2).sum() < 2:
        raise InputError(
            f"{lab_name}: fewer than 2 classes have 2 or more samples; retrieval and GREEDINESS "
            "need positives (same-class pairs) in at least 2 classes"
        )
    warnings = []
    single = classes[counts == 1]
    if len(single):
        warnings.append(
            f"{len(single)} classes have a single sample ({_names(single)}): kept for VARIANCE, "
            "excluded as retrieval queries and from GREEDINESS batches"
        )
    zero = np.flatnonzero(~x.any(axis=1))
    if len(zero):
        warnings.append(f"{len(zero)} all-zero embeddings ({_rows(zero)}) have no direction; kept as the zero vector")
    return x, codes.astype(np.int64).ravel(), classes, warnings


# -- computing ----------------------------------------------------------------------------------------------
def nmi_restarts(codes: np.ndarray) -> int:
    """k-means restarts for NMI: :data:`~vgteach.retrieval.KMEANS_N_INIT` (as in training) up to
    :data:`KMEANS_RESTARTS_MAX_CLASSES` classes, one above (its cost grows with the number of classes)."""
    return KMEANS_N_INIT if len(np.unique(codes)) <= KMEANS_RESTARTS_MAX_CLASSES else 1


def stratified_sample(codes: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``size`` samples, each class keeping its share (at least 2 where it has 2)."""
    n = len(codes)
    if n <= size:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    order = order[np.argsort(codes[order], kind="stable")]  # by class, random within a class
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(n) - np.repeat(starts, counts)  # position within its class
    quota = np.minimum(counts, np.maximum(2, np.floor(counts * size / n)))
    return np.sort(order[rank < np.repeat(quota, counts)])


def class_spread(x: torch.Tensor, codes: torch.Tensor) -> dict:
    """Per class: mean ||z_i − μ_c||² (its spread), its size, and the distance to the nearest other class mean."""
    z = unit_float64(x)
    inverse, counts = class_index(codes)
    mu = class_means(z, inverse, counts)
    squared = (z - mu[inverse]).pow(2).sum(dim=1)
    del z
    spread = mu.new_zeros(len(counts)).index_add_(0, inverse, squared) / counts.to(mu.dtype)
    dist = torch.cdist(mu, mu).fill_diagonal_(float("inf"))
    upper = torch.triu_indices(len(mu), len(mu), offset=1)
    return {
        "spread": spread.numpy(),
        "size": counts.numpy(),
        "nearest": dist.min(dim=1).values.numpy(),
        "nearest_class": dist.argmin(dim=1).numpy(),
        "pair_distances": dist[upper[0], upper[1]].numpy(),
        "means": mu.float(),
    }


def proxy_loss(name: str, means: torch.Tensor):
    """``build_loss(name)``; a proxy loss (ArcFace, CCL) gets the normalised class means as its proxies —
    the state its proxies converge to when they follow the classes."""
    loss_fn = build_loss(name, num_classes=means.shape[0], embedding_dim=means.shape[1])
    with torch.no_grad():
        for parameter in loss_fn.parameters():  # the proxies; none for pair losses
            parameter.copy_(torch.nn.functional.normalize(means, dim=1))
    return loss_fn


def loss_greediness(
    x, codes, means, *, losses=LOSS_NAMES, batch_size=512, batches=4, m_per_class=4, seed=0, progress=False
) -> tuple[dict, dict]:
    r"""The GREEDINESS each loss would have on these embeddings: :func:`greediness_stats` averaged over
    ``batches`` class-balanced batches (:class:`~vgteach.training.MPerClassBatches`, the trainer's sampler)
    of ``batch_size`` drawn from the classes with at least 2 samples. Returns ``(per-loss means, settings)``.

    ArcFace and CCL compare samples with proxies; here the proxies are the class means of the normalised
    embeddings (:func:`proxy_loss`), i.e. what a converged proxy reaches, so their numbers describe the
    embeddings, not an untrained random proxy matrix.
    """
    from .training.sampler import MPerClassBatches

    counts = np.bincount(codes)
    eligible = np.flatnonzero(counts[codes] >= 2)
    batch_size = min(batch_size, len(eligible))
    sampler = MPerClassBatches(torch.from_numpy(codes[eligible]), batch_size, min(m_per_class, batch_size // 2), seed)
    drawn = [torch.from_numpy(eligible)[b] for b in sampler.epoch(0)[:batches]]
    y = torch.from_numpy(codes)
    result = {}
    for name in tqdm(losses, desc="GREEDINESS", disable=not progress, leave=False):
        loss_fn = proxy_loss(name, means)
        rows = [greediness_stats(loss_fn, x[b], y[b]) for b in drawn]
        result[name] = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
    settings = {
        "batch_size": int(sampler.batch_len),
        "batches": len(drawn),
        "m_per_class": sampler.per_class,
        "classes_per_batch": sampler.classes_per_batch,
        "proxies": "class means (arcface, ccl)",
        "seed": seed,
    }
    return result, settings


def projection(x: torch.Tensor, sample: np.ndarray, points: int = PROJECTION_POINTS, seed: int = 0):
    """First two principal components of at most ``points`` normalised embeddings of ``sample``."""
    keep = np.sort(np.random.default_rng(seed).permutation(sample)[:points])
    z = unit_float64(x[torch.from_numpy(keep)])
    centred = z - z.mean(0)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    return (centred @ v[:2].T).numpy(), keep


def compute(
    x: np.ndarray,
    codes: np.ndarray,
    *,
    ks=(1, 2, 4, 8),
    losses=LOSS_NAMES,
    batch_size=512,
    batches=4,
    seed=0,
    progress=True,
) -> tuple[dict, dict]:
    """Every number of the report on checked inputs; returns ``(metrics, arrays for the figures)``."""
    xt, yt = torch.from_numpy(x), torch.from_numpy(codes)
    sample = torch.from_numpy(stratified_sample(codes, SAMPLE_SIZE, seed))
    metrics, arrays = {"sample_size": len(sample), "nmi_restarts": nmi_restarts(codes)}, {}

    def variance():
        metrics["variance"] = variance_stats(xt, yt)
        arrays.update(class_spread(xt, yt))

    def geometry():
        metrics["geometry"] = geometry_stats(xt[sample], yt[sample])

    def retrieval():
        metrics["retrieval"] = retrieval_metrics(xt, yt, ks=ks, nmi=False, seed=seed)

    def nmi():  # k-means on the sample (all of it when N <= SAMPLE_SIZE)
        metrics["retrieval"]["nmi"] = kmeans_nmi(xt[sample], yt[sample], n_init=metrics["nmi_restarts"], seed=seed)

    def greediness():
        metrics["greediness"], metrics["greediness_settings"] = loss_greediness(
            xt,
            codes,
            arrays.pop("means"),
            losses=losses,
            batch_size=batch_size,
            batches=batches,
            seed=seed,
            progress=progress,
        )

    def project():
        arrays["projection"], keep = projection(xt, sample.numpy(), seed=seed)
        arrays["projection_codes"] = codes[keep]

    stages = {
        "VARIANCE": variance,
        "geometry": geometry,
        "retrieval": retrieval,
        "NMI": nmi,
        "GREEDINESS": greediness,
        "projection": project,
    }
    timings = {}
    bar = tqdm(stages.items(), desc="diagnose", disable=not progress)
    for name, run in bar:
        bar.set_postfix_str(name)
        start = time.perf_counter()
        run()
        timings[name] = round(time.perf_counter() - start, 3)
    metrics["timings_s"] = timings
    return metrics, arrays


def diagnose(
    embeddings,
    labels=None,
    out=None,
    *,
    ks=(1, 2, 4, 8),
    losses=LOSS_NAMES,
    batch_size=512,
    batches=4,
    seed=0,
    progress=True,
) -> dict:
    r"""Diagnose embeddings: VARIANCE, geometry, retrieval and the GREEDINESS of each loss on them.

    On :math:`z_i = e_i/\lVert e_i \rVert` (DESIGN.md §3): ``variance`` is :func:`~vgteach.variance_stats`
    on all N samples (intra/inter-class variance, centroid spacing); ``geometry`` is
    :func:`~vgteach.geometry_stats` (alignment, uniformity, NC1, effective rank) on a class-stratified
    sample of at most :data:`SAMPLE_SIZE` (its pair terms are O(N²)); ``retrieval`` is
    :func:`~vgteach.retrieval_metrics` (leave-one-out R@K, R-precision, MAP@R) on all N, with ``nmi``
    from k-means on the same sample when N > :data:`SAMPLE_SIZE`; ``greediness`` is, per loss,
    :func:`~vgteach.greediness_stats` averaged over class-balanced batches (:func:`loss_greediness`;
    proxies of ArcFace/CCL = class means).

    Parameters
    ----------
    embeddings : path, numpy array or Tensor [N, D]
        A file (see :func:`read_inputs`) or the embeddings themselves.
    labels : path, array or None
        Labels [N] (integers or strings); None when ``embeddings`` is one file holding both.
    out : path or None
        Folder for ``report.md``, ``metrics.json`` and the figures, written all-or-nothing; an existing
        ``out`` must be empty or an earlier report (it is replaced). None: compute only.
    ks : tuple of int
        The K of recall@K.
    losses : tuple of str
        Which of :data:`~vgteach.LOSS_NAMES` to evaluate GREEDINESS for.
    batch_size, batches : int
        Size and number of the class-balanced batches (the paper trains with 512).
    seed : int
        Seeds the sample, the batches and k-means.
    progress : bool
        Progress bars (stderr).

    Returns
    -------
    dict
        ``input`` (sizes, singleton classes, warnings), ``variance``, ``geometry``, ``retrieval``,
        ``greediness`` (loss -> statistics), ``greediness_settings``, ``sample_size`` — what
        ``metrics.json`` holds.

    Raises
    ------
    InputError (a ValueError)
        One line naming the file and the problem, before anything is written.
    """
    if out is not None:
        validate_out(out)
    names = (str(embeddings), str(labels)) if isinstance(embeddings, (str, os.PathLike)) else ("embeddings", "labels")
    if isinstance(embeddings, (str, os.PathLike)):
        embeddings, labels = read_inputs(embeddings, labels)
    elif labels is None:
        raise InputError("labels are needed when embeddings are given as an array")
    x, codes, classes, warnings = validate_inputs(_numpy(embeddings), _numpy(labels), names)
    metrics, arrays = compute(
        x, codes, ks=ks, losses=losses, batch_size=batch_size, batches=batches, seed=seed, progress=progress
    )
    counts = np.bincount(codes)
    metrics = {
        "input": {
            "embeddings": names[0],
            "labels": names[1],
            "num_samples": len(x),
            "dim": x.shape[1],
            "num_classes": len(classes),
            "singleton_classes": int((counts == 1).sum()),
            "warnings": warnings,
        },
        **metrics,
    }
    if out is not None:
        atomic_folder(Path(out), lambda folder: write_report(folder, metrics, arrays, classes))
    return metrics


def _numpy(value):
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


# -- writing ------------------------------------------------------------------------------------------------
def validate_out(out) -> Path:
    """Fail early (before minutes of work) if ``out`` cannot become the report folder."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "metrics.json").is_file():
        raise InputError(
            f"--out {out}: a folder with other files in it; choose a new or empty folder "
            "(an earlier diagnose report is replaced)"
        )
    ancestor = next(p for p in [out, *out.parents] if p.exists())
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"--out {out}: cannot write there ({ancestor} is not a writable folder)")
    return out


def atomic_folder(out: Path, write) -> None:
    """``write(tmp)`` into a fresh folder beside ``out``, then rename it to ``out`` (replacing an earlier
    one). On any error the temporary folder is removed and ``out`` is left as it was."""
    validate_out(out)
    created = [p for p in reversed(out.parents) if not p.exists()]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", suffix=".tmp", dir=out.parent))
        umask = os.umask(0o22)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp's 0700 would become the report's mode
    except OSError as error:
        raise InputError(f"--out {out}: cannot write there ({_first_line(error)})") from None
    try:
        write(tmp)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in reversed(created):
            if folder.exists() and not any(folder.iterdir()):
                folder.rmdir()
        if isinstance(error, OSError):
            raise InputError(f"--out {out}: writing failed ({_first_line(error)})") from None
        raise


def to_json(metrics: dict) -> str:
    """``metrics.json``: NaN written as null (strict JSON)."""

    def clean(value):
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, (float, np.floating)):
            return None if math.isnan(value) else float(value)
        return value.item() if isinstance(value, np.generic) else value

    return json.dumps(clean(metrics), indent=1)


GREEDINESS_COLUMNS = ("active_ratio", "effective_active_ratio", "sample_active_ratio", "grad_gini")


def variance_figure(arrays: dict, metrics: dict, path: Path) -> None:
    """Per-class spread, the spacing of the class means, and spread against the nearest other class."""
    from .training.report import new_figure

    fig, (a, b, c) = new_figure(1, 3, figsize=(13, 3.4))
    a.hist(arrays["spread"], bins=40, color="tab:blue")
    a.axvline(metrics["variance"]["intra"], color="k", ls="--", label="intra (mean)")
    a.set(title="per-class spread  mean ‖z − μ_c‖²", xlabel="spread", ylabel="classes")
    a.legend(fontsize=8)
    b.hist(arrays["pair_distances"], bins=40, color="tab:orange")
    b.set(
        title=f"spacing: ‖μ_c − μ_c'‖ (cv {metrics['variance']['centroid_dist_cv']:.2f})",
        xlabel="distance",
        ylabel="class pairs",
    )
    c.scatter(arrays["nearest"], arrays["spread"], s=6, alpha=0.6)
    c.set(
        title="each class: spread vs nearest other class", xlabel="distance to the nearest class mean", ylabel="spread"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def retrieval_figure(metrics: dict, path: Path) -> None:
    from .training.report import new_figure

    recall = {int(k.split("@")[1]): v for k, v in metrics["retrieval"].items() if k.startswith("recall@")}
    fig, ax = new_figure(1, 1, figsize=(4, 3))
    ax.plot(list(recall), list(recall.values()), marker="o")
    ax.set(
        xscale="log",
        xticks=list(recall),
        xticklabels=[str(k) for k in recall],
        xlabel="K",
        ylabel="recall@K",
        ylim=(0, 1.02),
        title=f"leave-one-out retrieval (MAP@R {metrics['retrieval']['map@r']:.3f})",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def greediness_figure(metrics: dict, path: Path) -> None:
    """One group of bars per loss: the ratios and the Gini of its per-sample gradient norms."""
    from .training.report import new_figure

    table = metrics["greediness"]
    columns = [c for c in GREEDINESS_COLUMNS if c in next(iter(table.values()))]
    fig, ax = new_figure(1, 1, figsize=(1.3 * len(table) + 2, 3.4))
    width = 0.8 / len(columns)
    for j, column in enumerate(columns):
        ax.bar(np.arange(len(table)) + j * width, [row[column] for row in table.values()], width, label=column)
    ax.set_xticks(np.arange(len(table)) + 0.4 - width / 2, list(table))
    ax.set(ylim=(0, 1.05), title="GREEDINESS each loss would have on these embeddings")
    ax.legend(fontsize=8, ncol=len(columns), loc="upper center", bbox_to_anchor=(0.5, -0.12))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def projection_figure(arrays: dict, codes_of_points: np.ndarray, path: Path) -> None:
    from .training.report import new_figure

    fig, ax = new_figure(1, 1, figsize=(4.5, 4.5))
    cmap = "tab10" if codes_of_points.max() < 10 else ("tab20" if codes_of_points.max() < 20 else "hsv")
    ax.scatter(*arrays["projection"].T, c=codes_of_points, cmap=cmap, s=4)
    ax.set(title="a stratified sample, first two principal components", xticks=[], yticks=[])
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _table(rows: dict, columns) -> list[str]:
    """Markdown table: one row per key of ``rows``, 4 significant digits."""
    lines = ["| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in rows.items():
        lines.append(
            f"| {name} | "
            + " | ".join(f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c]) for c in columns)
            + " |"
        )
    return lines


def _class_lines(arrays: dict, classes: np.ndarray, limit: int = 5) -> list[str]:
    """The most spread classes and the closest pairs of class means, by name."""
    spread, nearest, partner = arrays["spread"], arrays["nearest"], arrays["nearest_class"]
    lines = ["| most spread classes | spread | size | nearest class (distance) |", "|---|---|---|---|"]
    for c in np.argsort(-spread)[:limit]:
        lines.append(
            f"| {classes[c]} | {spread[c]:.4g} | {arrays['size'][c]} | {classes[partner[c]]} ({nearest[c]:.4g}) |"
        )
    return lines


def report_text(metrics: dict, arrays: dict, classes: np.ndarray) -> str:
    """``report.md``: the numbers of ``metrics`` with the figures and a line on how to read each part."""
    info, settings = metrics["input"], metrics["greediness_settings"]
    sample = metrics["sample_size"]
    sampled = f"a class-stratified sample of {sample:,}" if sample < info["num_samples"] else "all samples"
    greedy = next(iter(metrics["greediness"].values()))
    columns = [
        c
        for c in (
            "loss",
            "active_ratio",
            "effective_active_ratio",
            "sample_active_ratio",
            "grad_norm_mean",
            "grad_gini",
        )
        if c in greedy
    ]
    lines = [
        "# vgteach diagnose",
        "",
        f"`{info['embeddings']}` ({info['num_samples']:,} × {info['dim']}) with labels `{info['labels']}` "
        f"({info['num_classes']:,} classes). Every number is on the L2-normalised embeddings z = e/‖e‖ "
        "(DESIGN.md §3); `metrics.json` holds them all.",
        "",
        *[f"> **warning:** {w}" for w in info["warnings"]],
        "",
        "## VARIANCE",
        "",
        *_table({"all samples": metrics["variance"]}, list(metrics["variance"])),
        "",
        "`intra`: mean over classes of mean ‖z − μ_c‖²; `inter`: mean ‖μ_c − μ_c'‖² over class pairs; "
        "`centroid_dist_cv`: how uneven the spacing of the class means is.",
        "",
        "![VARIANCE](variance.png)",
        "",
        *_class_lines(arrays, classes),
        "",
        "## Geometry",
        "",
        *_table({sampled: metrics["geometry"]}, list(metrics["geometry"])),
        "",
        "Alignment and uniformity (Wang & Isola 2020, lower = tighter positives / more evenly spread), "
        "NC1 (Papyan et al. 2020, → 0 as classes collapse onto their means), effective rank (Roy & Vetterli "
        "2007).",
        "",
        "## Retrieval",
        "",
        *_table({"leave-one-out": metrics["retrieval"]}, list(metrics["retrieval"])),
        "",
        f"Cosine kNN, each sample queries all others; classes with one sample are not queries. NMI: k-means "
        f"with K = number of classes on {sampled}, best of {metrics['nmi_restarts']} restart(s).",
        "",
        "![retrieval](retrieval.png)",
        "",
        "## GREEDINESS each loss would have on these embeddings",
        "",
        *_table(metrics["greediness"], columns[1:]),
        "",
        f"Means over {settings['batches']} class-balanced batches of {settings['batch_size']} "
        f"({settings['classes_per_batch']} classes × {settings['m_per_class']}), default hyper-parameters; "
        "ArcFace's and CCL's proxies are the class means (the state converged proxies reach). "
        "`active_ratio`: share of the loss's terms still pushing; `sample_active_ratio`: share of samples with "
        "a gradient; `grad_gini`: inequality of the per-sample gradient norms (high = few large updates).",
        "",
        "![GREEDINESS](greediness.png)",
        "",
        "## 2-D projection",
        "",
        "![projection](projection.png)",
        "",
    ]
    return "\n".join(lines)


def write_report(folder: Path, metrics: dict, arrays: dict, classes: np.ndarray) -> None:
    """Figures, ``report.md`` and ``metrics.json`` into ``folder``."""
    variance_figure(arrays, metrics, folder / "variance.png")
    retrieval_figure(metrics, folder / "retrieval.png")
    greediness_figure(metrics, folder / "greediness.png")
    projection_figure(arrays, arrays["projection_codes"], folder / "projection.png")
    (folder / "report.md").write_text(report_text(metrics, arrays, classes), encoding="utf-8")
    (folder / "metrics.json").write_text(to_json(metrics), encoding="utf-8")
