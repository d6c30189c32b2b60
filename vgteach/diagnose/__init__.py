r"""``vgteach diagnose``: the book's lenses on *your* embeddings — VARIANCE, geometry, retrieval, GREEDINESS.

    vgteach diagnose embeddings.npy labels.csv --out runs/diagnose     # the command line
    vgteach diagnose features.npz --out runs/diagnose                  # one file holding both
    metrics = diagnose("embeddings.npy", "labels.csv", out="runs/diagnose")   # the same from Python
    metrics = diagnose(z, y)                                           # arrays in, a dict out, no files

On :math:`z_i = e_i/\lVert e_i \rVert` (DESIGN.md §3): ``variance`` is :func:`~vgteach.variance_stats`
on all N samples (intra/inter-class variance, centroid spacing); ``geometry`` is
:func:`~vgteach.geometry_stats` (alignment, uniformity, NC1, effective rank) on a class-stratified
sample of at most :data:`SAMPLE_SIZE` (its pair terms are O(N²)); ``retrieval`` is
:func:`~vgteach.retrieval_metrics` (leave-one-out R@K, R-precision, MAP@R) on all N, with ``nmi``
from k-means on the same sample when N > :data:`SAMPLE_SIZE`; ``greediness`` is, per loss,
:func:`~vgteach.greediness_stats` averaged over class-balanced batches (:func:`loss_greediness`;
proxies of ArcFace/CCL = class means).

One module per step: :mod:`~vgteach.diagnose.read` (the input formats; bad input is refused in one line,
before any work), :mod:`~vgteach.diagnose.compute` (the numbers, and the scale they are computed at) and
:mod:`~vgteach.diagnose.report` (the report folder, written all-or-nothing); the figures are
:mod:`vgteach.figures`'s.
"""

from __future__ import annotations

from pathlib import Path

from ..losses import LOSS_NAMES
from .compute import (
    KMEANS_RESTARTS_MAX_CLASSES,
    PROJECTION_POINTS,
    SAMPLE_SIZE,
    ClassSpread,
    FigureArrays,
    Projection,
    class_spread,
    loss_greediness,
    nmi_restarts,
    proxy_loss,
    sample_projection,
    stratified_sample,
)
from .compute import compute as _compute
from .read import EMBEDDING_KEYS, FORMATS, LABEL_KEYS, InputError, load_inputs, read_file, read_inputs, validate_inputs
from .report import atomic_folder, report_text, to_json, validate_out, write_report

__all__ = [
    "diagnose",
    "InputError",
    "EMBEDDING_KEYS",
    "LABEL_KEYS",
    "FORMATS",
    "read_file",
    "read_inputs",
    "validate_inputs",
    "load_inputs",
    "SAMPLE_SIZE",
    "KMEANS_RESTARTS_MAX_CLASSES",
    "PROJECTION_POINTS",
    "ClassSpread",
    "Projection",
    "FigureArrays",
    "nmi_restarts",
    "stratified_sample",
    "class_spread",
    "proxy_loss",
    "loss_greediness",
    "sample_projection",
    "validate_out",
    "atomic_folder",
    "to_json",
    "report_text",
    "write_report",
]


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
    """Diagnose embeddings: VARIANCE, geometry, retrieval and the GREEDINESS of each loss on them (what
    each number is: the module docstring).

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
    x, codes, classes, info = load_inputs(embeddings, labels)
    metrics, arrays = _compute(
        x, codes, ks=ks, losses=losses, batch_size=batch_size, batches=batches, seed=seed, progress=progress
    )
    metrics = {"input": info, **metrics}
    if out is not None:
        atomic_folder(Path(out), lambda folder: write_report(folder, metrics, arrays, classes))
    return metrics
