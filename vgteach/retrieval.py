"""Retrieval metrics: leave-one-out cosine kNN within one evaluation set (DESIGN.md §3).

Every sample is a query; the gallery is the same set without the query itself. Neighbours are ranked by
cosine similarity of the L2-normalised embeddings, largest first, and equal similarities are ranked by
gallery index, lower first (so the result never depends on how ``topk`` happens to order ties). The exact
search runs in torch, ``chunk_size`` queries at a time (memory O(chunk_size × N)), on the embeddings'
device; for large galleries on the CPU it can use faiss (``IndexFlatIP``, also exact). With few large
classes (every query needs its top R, R > N / 25: e.g. CIFAR-10's test split, R = 999) float32 rows on the
CPU are selected by NumPy (``argpartition``, then a sort of the R), 2-3x faster than ``topk`` there.

Reference: K. Musgrave, S. Belongie, S.-N. Lim, "A Metric Learning Reality Check", ECCV 2020 — R-precision
and MAP@R, and why recall@1 alone hides differences between losses.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ._validation import validate_batch, validate_positive_int

# "auto" switches to faiss when N * N exceeds this (N > 20,000) and the embeddings are on the CPU.
# Measured on 2 CPU cores, D = 128 (R = 99, as in bench/bench_retrieval.py): the torch path is as fast as
# faiss up to N ~ 15,000 (0.28 s each at N = 10,000) and faiss is ~1.25x faster at N = 40,000; faiss also
# needs less memory, while the torch path holds a [chunk_size, N] block.
FAISS_AUTO_MIN_PAIRS = 400_000_000
KMEANS_N_INIT = 4  # k-means restarts for NMI (sklearn keeps the best inertia)
_NUMPY_BLOCK = 1 << 22  # entries of one slice of rows in _topk_numpy (32 MiB of int64 positions)


def retrieval_metrics(
    embeddings, labels, ks=(1, 2, 4, 8), *, nmi=True, chunk_size=1024, use_faiss="auto", seed=0
) -> dict:
    r"""Leave-one-out retrieval metrics of ``embeddings`` [N, D] with class ``labels`` [N].

    Each sample :math:`q` queries all other samples, ranked by cosine similarity
    :math:`s_{qj} = z_q \cdot z_j` with :math:`z = e / \lVert e \rVert`, largest first; equal
    similarities are ranked by index (lower first). Let :math:`R_q` be the number of *other* samples with
    the label of :math:`q` and :math:`\mathrm{rel}_q(i) = 1` if the :math:`i`-th neighbour shares it.
    Queries with :math:`R_q = 0` (singleton classes) have nothing to retrieve and are excluded from the
    averages below.

    - ``recall@K`` — fraction of queries with at least one relevant item among the top :math:`K`
      (the "Recall@K" of the deep metric learning literature; with :math:`K = 1` it equals
      precision@1).
    - ``r_precision`` — mean over queries of :math:`\frac{1}{R}\sum_{i=1}^{R} \mathrm{rel}(i)`.
    - ``map@r`` — mean over queries of :math:`\frac{1}{R}\sum_{i=1}^{R} P(i)\,\mathrm{rel}(i)`, where
      :math:`P(i)` is the precision among the top :math:`i` (Musgrave et al. 2020). Unlike recall@1 it
      rewards ranking *all* same-class items first, so it sees how well classes are clustered.
    - ``nmi`` — normalised mutual information between the labels and a k-means clustering of all
      :math:`z` in float64 (K = number of classes, sklearn ``KMeans(n_init=4, random_state=seed)`` and
      ``normalized_mutual_info_score``). It uses every sample, singletons included.
    - ``num_queries`` — the number of queries averaged over (samples with :math:`R_q \ge 1`).

    An all-zero embedding has similarity 0 to everything. ``nmi`` does not depend on the queries: when
    every label is distinct (or N = 1), k-means gives each sample its own cluster and ``nmi`` is a
    trivial 1.0.

    Parameters
    ----------
    embeddings : torch.Tensor or numpy.ndarray, shape [N, D], floating
        Need not be normalised; rows are L2-normalised here. Half precision is computed in float32.
    labels : torch.Tensor or numpy.ndarray, shape [N], integer
        Class ids.
    ks : sequence of positive int
        The K of ``recall@K``. K larger than N − 1 means "the whole gallery".
    nmi : bool
        Compute ``nmi`` (k-means is the slow part on large sets); the key is absent when False.
    chunk_size : int
        Queries per block in the exact search: memory is O(chunk_size × N).
    use_faiss : bool or "auto"
        True: search with faiss ``IndexFlatIP`` (float32, CPU). "auto": faiss when it is installed, the
        embeddings are on the CPU and N² > ``FAISS_AUTO_MIN_PAIRS`` (4·10⁸, i.e. N > 20,000). Both
        searches are exact; results agree except where float32 rounding reorders near-equal
        similarities. faiss breaks ties by index only among the neighbours it returns, not at the cut-off.
    seed : int
        ``random_state`` of k-means.

    Returns
    -------
    dict
        ``{"recall@1": float, ..., "r_precision": float, "map@r": float, "nmi": float,
        "num_queries": int}``. If no query has a same-class neighbour the retrieval metrics are 0.0
        and ``num_queries`` is 0 (never NaN).

    Notes
    -----
    Ties are exact equality of the computed similarities (e.g. duplicated embeddings); near-equal values
    are ordered as computed, so float32 and float64 inputs, or CPU and CUDA, can differ there. The torch
    search takes the top k + 1 of each row (k = the larger of max ``ks`` and the block's largest R), redoes
    rows whose k-th and (k + 1)-th values are equal with a full stable sort, and orders equal values inside
    the top k by index. ``recall@1``, ``r_precision`` and ``map@r`` equal ``precision_at_1``,
    ``r_precision`` and ``mean_average_precision_at_r`` of pytorch-metric-learning's
    ``AccuracyCalculator(k="max_bin_count")`` with query = reference (tested), which returns NaN where
    this returns 0.0. This docstring is the reference definition of the retrieval columns of the trainer's
    history and of ``vgteach diagnose`` (DESIGN.md §3), hence its length; the code is a few named steps.

    References
    ----------
    K. Musgrave, S. Belongie, S.-N. Lim. "A Metric Learning Reality Check". ECCV 2020.
    """
    embeddings, labels = validate_batch(_to_torch(embeddings), _to_torch(labels))
    ks = _validate_ks(ks)
    _validate_options(chunk_size, use_faiss)
    z = _unit(embeddings)
    labels = torch.unique(labels, return_inverse=True)[1]  # class ids 0..C-1
    search = _faiss_search(z) if _wants_faiss(use_faiss, z) else _torch_search(z, chunk_size)
    out, num_queries = _ranking_metrics(search, labels, ks, chunk_size)
    if nmi:
        out["nmi"] = _nmi(z, labels, seed)
    out["num_queries"] = num_queries
    return out


def _ranking_metrics(search, labels: Tensor, ks: tuple, chunk_size: int) -> tuple[dict, int]:
    """``({"recall@K": ..., "r_precision": ..., "map@r": ...}, number of queries)``: every query with a
    same-class neighbour searches its top k, ``chunk_size`` queries at a time."""
    other = torch.bincount(labels)[labels] - 1  # R_q: other members of q's class
    queries = torch.nonzero(other > 0).squeeze(1)
    scores = [torch.zeros(0, len(ks) + 2, dtype=torch.float64, device=labels.device)]
    for start in range(0, len(queries), chunk_size):
        q = queries[start : start + chunk_size]
        k = min(max(max(ks), int(other[q].max())), len(labels) - 1)
        relevant = labels[search(q, k)] == labels[q, None]  # [chunk, k], neighbours in rank order
        scores.append(_per_query(relevant, other[q], ks))
    # one sum over all queries at the end: the result does not depend on chunk_size, bit for bit
    means = (torch.cat(scores).sum(dim=0) / max(len(queries), 1)).tolist()
    out = {f"recall@{K}": v for K, v in zip(ks, means)}
    out["r_precision"], out["map@r"] = means[-2], means[-1]
    return out, len(queries)


def _per_query(relevant: Tensor, r: Tensor, ks) -> Tensor:
    """[hit@K for K in ks..., R-precision, AP@R] of each query (rows) from its relevance row, float64.

    ``found[:, i]`` = number of relevant items in the top i + 1, so P(i + 1) = found[:, i] / (i + 1);
    R-precision reads ``found`` at column R − 1 and AP@R sums P(i)·rel(i) over the columns i ≤ R (the same
    values whatever the row width).
    """
    rank = torch.arange(1, relevant.shape[1] + 1, device=relevant.device)
    found = relevant.cumsum(dim=1)
    found_at_r = found.gather(1, (r - 1)[:, None]).squeeze(1)
    counted = relevant & (rank <= r[:, None])  # relevant and within the top R
    r = r.double()
    columns = [relevant[:, :K].any(dim=1).double() for K in ks]
    columns.append(found_at_r / r)
    columns.append(torch.where(counted, found / rank.double(), 0.0).sum(dim=1) / r)
    return torch.stack(columns, dim=1)


def _torch_search(z: Tensor, chunk_size: int):
    """Return ``search(q, k)``: indices [len(q), k] of each query's k nearest others, in rank order."""
    buffer = z.new_empty(min(chunk_size, len(z)), len(z))  # reused: a fresh [chunk, N] each time page-faults

    def search(q: Tensor, k: int) -> Tensor:
        sim = torch.matmul(z[q], z.T, out=buffer[: len(q)])  # [chunk, N]
        sim[torch.arange(len(q), device=z.device), q] = -float("inf")  # exclude self
        return _topk_by_index(sim, k)

    return search


def _topk_by_index(sim: Tensor, k: int) -> Tensor:
    """Columns of the k largest values per row, largest first, equal values by column index.

    A top-k search returns equal values in arbitrary order; inside the top k a stable sort fixes that.
    At the cut-off (the k-th value equals the (k+1)-th: the top k is ambiguous) the row is redone with a
    full stable sort, O(N log N) but only for those rows. Needs k < N (self, at -inf, is last). float32
    rows on the CPU with a large k (few large classes) go to :func:`_topk_numpy`, the rest to :func:`_topk`.
    """
    if sim.device.type == "cpu" and sim.dtype == torch.float32 and _one_level(sim.shape[1], k + 1):
        index, cut_tie = _topk_numpy(sim, k)
    else:
        values, index = _topk(sim, k + 1)
        cut_tie = values[:, k - 1] == values[:, k]
        index = _order_ties_by_index(values[:, :k], index[:, :k])
    if cut_tie.any():
        rows = torch.nonzero(cut_tie).squeeze(1)
        index[rows] = sim[rows].sort(dim=1, descending=True, stable=True)[1][:, :k]
    return index


def _one_level(n: int, k: int) -> bool:
    """Whether the top k of N is a sizeable share (k > N / 25): :func:`_topk`'s groups would hold < 5."""
    return math.isqrt(n // k) < 5


def _topk(sim: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The values of ``sim.topk(k, dim=1)`` and columns holding them, found in two levels.

    Split the columns into g interleaved groups {r, r + g, r + 2g, ...} of b ~ sqrt(N / k) and keep the
    k groups with the largest maxima: any value outside them is <= each of those k maxima, so it cannot
    be above the k-th largest. Then take the top k of those k·b candidates (plus the N - g·b leftover
    columns). Among equal values the columns may differ from ``topk``'s; the caller orders ties itself.
    On the CPU it pays from b = 5 on: 1.2x-2x faster than one ``topk`` (N = 10,000, k = 100: b = 10).
    """
    n = sim.shape[1]
    b = math.isqrt(n // k)
    if _one_level(n, k):
        return sim.topk(k, dim=1)
    g = n // b
    group_max = sim[:, : g * b].unflatten(1, (b, g)).amax(dim=1)  # [rows, g]
    groups = group_max.topk(k, dim=1).indices
    arange = partial(torch.arange, device=sim.device)
    cols = torch.cat(
        [
            (groups[:, :, None] + g * arange(b)).flatten(1),  # members of the k best groups
            arange(g * b, n).expand(len(sim), -1),
        ],
        dim=1,
    )  # leftover columns
    values, pos = sim.gather(1, cols).topk(k, dim=1)
    return values, cols.gather(1, pos)


def _topk_numpy(sim: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """:func:`_topk_by_index` of float32 rows on the CPU for a large k: ``(columns [rows, k], cut_tie [rows])``.

    NumPy's ``argpartition`` finds each row's k + 1 largest (a linear selection); only those are sorted,
    as uint64 keys whose high 32 bits order the values (largest first, see :func:`_descending_keys`) and
    whose low 32 bits are the column, so that one ``sort`` puts equal values in column order. ``cut_tie``
    marks rows whose k-th and (k + 1)-th values are equal. On one core 2-3x faster than ``topk`` (a heap)
    at N = 10,000, k = 1,000. Rows go to NumPy in slices of at most :data:`_NUMPY_BLOCK` entries, which
    bounds the int64 positions ``argpartition`` returns.
    """
    n = sim.shape[1]
    keys = []
    for rows in sim.split(max(1, _NUMPY_BLOCK // n)):
        part = torch.from_numpy(np.argpartition(rows.numpy(), n - k - 1, axis=1)[:, n - k - 1 :])  # unordered
        key = _descending_keys(rows.gather(1, part).numpy()) | part.numpy().astype(np.uint64)
        key.sort(axis=1)
        keys.append(key)
    key = np.concatenate(keys)
    value_bits = key >> np.uint64(32)
    columns = (key[:, :k] & np.uint64(0xFFFFFFFF)).astype(np.int64)
    return torch.from_numpy(columns), torch.from_numpy(value_bits[:, k - 1] == value_bits[:, k])


def _descending_keys(values: np.ndarray) -> np.ndarray:
    """uint64 keys whose high 32 bits sort float32 ``values`` largest first (low 32 bits: 0).

    IEEE bit patterns order non-negative floats like unsigned integers, and negative ones in reverse:
    flipping the 31 value bits of the non-negative ones and keeping the negative ones makes the unsigned
    order exactly the descending order of the values (−inf last). Adding +0.0 first turns −0.0 into +0.0,
    which must tie with it.
    """
    bits = (values + np.float32(0.0)).view(np.uint32)
    flip = ((bits >> np.uint32(31)) - np.uint32(1)) & np.uint32(0x7FFFFFFF)  # 0x7FFFFFFF where ≥ 0, else 0
    return (bits ^ flip).astype(np.uint64) << np.uint64(32)


def _order_ties_by_index(values: Tensor, index: Tensor) -> Tensor:
    """``index`` with equal ``values`` (rows sorted descending) put in ascending index order.

    Only rows with a tie are touched: sort them by index, then stably by value.
    """
    rows = torch.nonzero((values[:, 1:] == values[:, :-1]).any(dim=1)).squeeze(1)
    if len(rows):
        by_index = index[rows].argsort(dim=1)
        tied_values, tied_index = values[rows].gather(1, by_index), index[rows].gather(1, by_index)
        index[rows] = tied_index.gather(1, tied_values.argsort(dim=1, descending=True, stable=True))
    return index


def _faiss_search(z: Tensor):
    """Like :func:`_torch_search` with a faiss ``IndexFlatIP`` (exact inner product, float32, CPU)."""
    faiss = _import_faiss()
    device = z.device
    z = np.ascontiguousarray(z.detach().cpu().numpy(), dtype=np.float32)
    index = faiss.IndexFlatIP(z.shape[1])
    index.add(z)

    def search(q: Tensor, k: int) -> Tensor:
        q = q.cpu()
        values, found = (torch.from_numpy(a) for a in index.search(z[q.numpy()], k + 1))
        # Drop the query itself by index (a tie may put it anywhere); if it is missing, drop the last one.
        is_self = found == q[:, None]
        drop = torch.where(is_self.any(dim=1), is_self.int().argmax(dim=1), k)
        keep = torch.arange(k + 1) != drop[:, None]
        values, found = values[keep].view(-1, k), found[keep].view(-1, k)
        return _order_ties_by_index(values, found).to(device)

    return search


def kmeans_nmi(embeddings, labels, *, n_init: int = KMEANS_N_INIT, seed: int = 0) -> float:
    r"""NMI between ``labels`` and a k-means clustering (K = number of classes) of the L2-normalised
    ``embeddings``: the ``nmi`` of :func:`retrieval_metrics`, alone.

    sklearn ``KMeans(n_clusters=K, n_init=n_init, random_state=seed)`` keeps the restart with the lowest
    inertia. ``n_init`` trades time for a better clustering: k-means costs O(n_init · iterations · N K D),
    so with many classes (K = 1,000) one restart is what a report can afford (``vgteach diagnose`` uses 1);
    the training evaluation keeps :data:`KMEANS_N_INIT` = 4.
    """
    embeddings, labels = validate_batch(_to_torch(embeddings), _to_torch(labels))
    n_init = validate_positive_int(n_init, "n_init")
    z = _unit(embeddings)
    return _nmi(z, torch.unique(labels, return_inverse=True)[1], seed, n_init)


def _unit(embeddings: Tensor) -> Tensor:
    """L2-normalised rows, detached, in float32 or wider."""
    return F.normalize(embeddings.detach().to(torch.promote_types(embeddings.dtype, torch.float32)), dim=1)


def _nmi(z: Tensor, labels: Tensor, seed: int, n_init: int = KMEANS_N_INIT) -> float:
    """NMI between ``labels`` (class ids 0..C-1) and k-means (K = number of classes) on ``z``."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    y = labels.cpu().numpy()
    n_classes = int(y.max()) + 1
    # float64: sklearn's float32 path upcasts the distances chunk by chunk, twice as slow (K = 1,000)
    clusters = KMeans(n_clusters=n_classes, n_init=n_init, random_state=seed).fit_predict(z.double().cpu().numpy())
    return float(normalized_mutual_info_score(y, clusters))


def _wants_faiss(use_faiss, z: Tensor) -> bool:
    if use_faiss != "auto":
        return use_faiss
    if z.device.type != "cpu" or len(z) ** 2 <= FAISS_AUTO_MIN_PAIRS:
        return False
    try:
        _import_faiss()
    except ImportError:
        return False
    return True


def _import_faiss():
    try:
        import faiss
    except ImportError as error:
        raise ImportError(
            "use_faiss=True needs faiss: install it with `pip install faiss-cpu` "
            "(or use use_faiss=False for the exact torch search)"
        ) from error
    return faiss


def _to_torch(x):
    return torch.as_tensor(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x


def _validate_ks(ks) -> tuple:
    if not isinstance(ks, (tuple, list, range)) or len(ks) == 0:
        raise ValueError(f"ks must be a non-empty sequence of positive integers, got {ks!r}")
    return tuple(dict.fromkeys(validate_positive_int(k, f"every k in ks={ks!r}") for k in ks))  # drop repeats


def _validate_options(chunk_size, use_faiss) -> None:
    validate_positive_int(chunk_size, "chunk_size")
    if not (isinstance(use_faiss, bool) or use_faiss == "auto"):
        raise ValueError(f"use_faiss must be True, False or 'auto', got {use_faiss!r}")
