"""Tests of vgteach.retrieval: a loop-and-sort reference, chunking, ties, PML's AccuracyCalculator, faiss."""

import math
import sys

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from vgteach import retrieval
from vgteach.retrieval import retrieval_metrics

KS = (1, 2, 4, 8)
RETRIEVAL_KEYS = [f"recall@{k}" for k in KS] + ["r_precision", "map@r"]


def reference_metrics(x, y, ks=KS, seed=0, nmi=True):
    """Musgrave et al. 2020, written out: full ranking per query by (-similarity, index), python loops."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
    z = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = z @ z.T
    n = len(y)
    hits, r_precisions, average_precisions = {k: [] for k in ks}, [], []
    for q in range(n):
        ranked = sorted((j for j in range(n) if j != q), key=lambda j: (-s[q, j], j))
        rel = [bool(y[j] == y[q]) for j in ranked]
        r = sum(rel)
        if r == 0:
            continue
        for k in ks:
            hits[k].append(any(rel[:k]))
        r_precisions.append(sum(rel[:r]) / r)
        average_precisions.append(sum(sum(rel[:i]) / i for i in range(1, r + 1) if rel[i - 1]) / r)
    mean = lambda v: sum(v) / len(v) if v else 0.0  # noqa: E731
    out = {f"recall@{k}": mean(hits[k]) for k in ks}
    out["r_precision"], out["map@r"] = mean(r_precisions), mean(average_precisions)
    if nmi:
        clusters = KMeans(
            n_clusters=len(set(y.tolist())), n_init=retrieval.KMEANS_N_INIT, random_state=seed
        ).fit_predict(z)
        out["nmi"] = normalized_mutual_info_score(y, clusters)
    out["num_queries"] = len(r_precisions)
    return out


def random_set(seed, n=60, dim=5, classes=6, singletons=3, dtype=torch.float64):
    """Clustered points with uneven class sizes and a few singleton classes."""
    g = torch.Generator().manual_seed(seed)
    weights = torch.rand(classes, generator=g) + 0.2
    labels = torch.multinomial(weights, n - singletons, replacement=True, generator=g)
    labels = torch.cat([labels, torch.arange(classes, classes + singletons)])
    centers = torch.randn(classes + singletons, dim, generator=g, dtype=dtype)
    x = centers[labels] + 0.8 * torch.randn(n, dim, generator=g, dtype=dtype)
    return x, labels


def assert_close(ours, expected, tol=1e-12):
    assert set(ours) == set(expected)
    assert ours["num_queries"] == expected["num_queries"]
    for key, value in expected.items():
        assert isinstance(ours[key], int if key == "num_queries" else float), key
        assert ours[key] == pytest.approx(value, abs=tol), key


@pytest.mark.parametrize("seed", range(5))
def test_matches_reference(seed):
    x, y = random_set(seed, n=40 + 10 * seed, classes=3 + seed, singletons=seed % 3)
    assert_close(retrieval_metrics(x, y), reference_metrics(x, y))


def test_k_larger_than_gallery_and_unsorted_ks():
    x, y = random_set(7, n=12, classes=3, singletons=1)
    ks = (50, 3, 1, 11)
    assert_close(retrieval_metrics(x, y, ks=ks), reference_metrics(x, y, ks=ks))
    assert retrieval_metrics(x, y, ks=ks, nmi=False)["recall@50"] == 1.0


@pytest.mark.parametrize("chunk_size", [1, 7, 13])
def test_chunk_size_does_not_change_results(chunk_size):
    x, y = random_set(3, n=80, classes=5)
    assert retrieval_metrics(x, y, chunk_size=chunk_size) == retrieval_metrics(x, y, chunk_size=4096)


def test_tie_broken_by_index_decides_recall_at_1():
    # rows 0, 1, 2 are the same point; with ties ranked by index, query 0's first neighbour is row 1
    x = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    first_is_other_class = retrieval_metrics(x, torch.tensor([0, 1, 0, 1]), ks=(1,), nmi=False)
    first_is_same_class = retrieval_metrics(x, torch.tensor([0, 0, 1, 1]), ks=(1,), nmi=False)
    assert first_is_other_class["recall@1"] == 1 / 4  # only query 2 (first neighbour row 0) hits
    assert first_is_same_class["recall@1"] == 2 / 4  # queries 0 and 1 hit each other


@pytest.mark.parametrize("chunk_size", [3, 1024])
def test_many_exact_ties_match_reference(chunk_size):
    # one-hot rows, scaled: every similarity is exactly 0 or 1, so ties are everywhere (inside and at the cut)
    g = torch.Generator().manual_seed(0)
    x = torch.eye(4, dtype=torch.float64)[torch.randint(0, 4, (40,), generator=g)]
    x = x * torch.randint(1, 4, (40, 1), generator=g)
    y = torch.randint(0, 5, (40,), generator=g)
    ks = (1, 2, 3, 5, 16)
    ours = retrieval_metrics(x, y, ks=ks, chunk_size=chunk_size, nmi=False, use_faiss=False)
    assert_close(ours, reference_metrics(x, y, ks=ks, nmi=False))


def test_ties_inside_the_top_k_are_ordered_by_index():
    # two groups of 6 identical points; each query's top R = 5 is its own group, tied, with no tie at the cut
    x = torch.eye(2)[torch.tensor([0] * 6 + [1] * 6)]
    y = torch.tensor([0, 1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1])
    ours = retrieval_metrics(x, y, ks=(1, 2), chunk_size=1, nmi=False)
    assert_close(ours, reference_metrics(x, y, ks=(1, 2), nmi=False))


def test_topk_by_index_equals_stable_sort():
    g = torch.Generator().manual_seed(0)
    sim = torch.randint(0, 4, (30, 500), generator=g).double()  # few distinct values: ties everywhere
    for k in (1, 7, 120, 499):
        expected = sim.sort(dim=1, descending=True, stable=True)[1][:, :k]
        assert torch.equal(retrieval._topk_by_index(sim, k), expected)


@pytest.mark.parametrize("n, k", [(97, 1), (97, 9), (1000, 2), (1003, 40), (1003, 300), (5000, 100)])
def test_two_level_topk_finds_the_top_values(n, k):
    sim = torch.randn(16, n, generator=torch.Generator().manual_seed(n + k))
    values, columns = retrieval._topk(sim, k)
    assert torch.equal(values, sim.topk(k, dim=1).values)
    assert torch.equal(sim.gather(1, columns), values)


@pytest.mark.parametrize("distinct", [4, None], ids=["ties everywhere", "random"])
def test_numpy_selection_equals_stable_sort(monkeypatch, distinct):
    """The CPU selection for large k (argpartition, then one sort of value-and-column keys) orders like a
    full stable sort, ties at the cut-off and −0.0 = +0.0 included, also in several slices of rows."""
    monkeypatch.setattr(retrieval, "_NUMPY_BLOCK", 3 * 400)  # three rows per slice
    g = torch.Generator().manual_seed(1)
    if distinct:
        sim = (torch.randint(0, distinct, (10, 400), generator=g) - 1.0) * 0.25
        sim[sim == 0] = torch.tensor([0.0, -0.0])[torch.randint(0, 2, ((sim == 0).sum(),), generator=g)]
    else:
        sim = torch.randn(10, 400, generator=g)
    sim[torch.arange(10), torch.arange(10)] = -float("inf")
    for k in (17, 200, 399):
        assert retrieval._one_level(400, k + 1)
        expected = sim.sort(dim=1, descending=True, stable=True)[1][:, :k]
        assert torch.equal(retrieval._topk_by_index(sim.clone(), k), expected), k


def test_large_classes_in_float32_match_reference():
    """Few large classes (k > N / 25) in float32: the CPU search takes the NumPy selection; exact ties too."""
    x, y = random_set(11, n=150, classes=2, singletons=1, dtype=torch.float32)
    assert_close(retrieval_metrics(x, y, chunk_size=64), reference_metrics(x, y), tol=1e-9)
    x = torch.eye(3)[y % 3] * (1 + torch.arange(150) % 4)[:, None]  # ties everywhere, at the cut-off too
    assert_close(retrieval_metrics(x, y, nmi=False), reference_metrics(x, y, nmi=False))


def test_matches_pytorch_metric_learning():
    from pytorch_metric_learning.distances import CosineSimilarity
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
    from pytorch_metric_learning.utils.inference import CustomKNN

    x, y = random_set(11, n=200, dim=16, classes=10, singletons=4, dtype=torch.float32)
    calculator = AccuracyCalculator(
        include=("precision_at_1", "r_precision", "mean_average_precision_at_r"),
        k="max_bin_count",
        knn_func=CustomKNN(CosineSimilarity()),
    )
    pml = calculator.get_accuracy(x, y)  # no reference given: query = reference, ref_includes_query=True
    ours = retrieval_metrics(x, y, nmi=False)
    assert ours["recall@1"] == pytest.approx(pml["precision_at_1"], abs=1e-6)
    assert ours["r_precision"] == pytest.approx(pml["r_precision"], abs=1e-6)
    assert ours["map@r"] == pytest.approx(pml["mean_average_precision_at_r"], abs=1e-6)


def test_faiss_matches_torch():
    pytest.importorskip("faiss")
    x, y = random_set(5, n=300, dim=16, classes=12, singletons=2, dtype=torch.float32)
    ours = retrieval_metrics(x, y, nmi=False, use_faiss=False, ks=(1, 5, 20))
    assert retrieval_metrics(x, y, nmi=False, use_faiss=True, ks=(1, 5, 20), chunk_size=64) == ours


def test_faiss_auto_threshold(monkeypatch):
    pytest.importorskip("faiss")
    x, y = random_set(2, n=50, dtype=torch.float32)
    assert not retrieval._wants_faiss("auto", x)
    monkeypatch.setattr(retrieval, "FAISS_AUTO_MIN_PAIRS", 0)
    assert retrieval._wants_faiss("auto", x)
    assert retrieval_metrics(x, y, nmi=False) == retrieval_metrics(x, y, nmi=False, use_faiss=False)


def test_missing_faiss_raises_with_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # makes `import faiss` raise ImportError
    x, y = random_set(0, n=20)
    with pytest.raises(ImportError, match="pip install faiss-cpu"):
        retrieval_metrics(x, y, use_faiss=True)
    assert retrieval_metrics(x, y, nmi=False) == retrieval_metrics(x, y, nmi=False, use_faiss=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    x, y = random_set(4, n=500, dim=32, classes=20, dtype=torch.float32)
    on_cuda = retrieval_metrics(x.cuda(), y.cuda(), nmi=False)
    on_cpu = retrieval_metrics(x, y, nmi=False, use_faiss=False)
    for key, value in on_cpu.items():
        assert on_cuda[key] == pytest.approx(value, abs=1e-6), key


def test_nmi_perfect_clusters_and_switch_off():
    centers = torch.eye(4, dtype=torch.float64) * 10
    y = torch.arange(40) % 4
    x = centers[y] + 0.01 * torch.randn(40, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out = retrieval_metrics(x, y)
    assert out["nmi"] == pytest.approx(1.0, abs=1e-12)
    assert out["recall@1"] == out["r_precision"] == out["map@r"] == 1.0
    assert "nmi" not in retrieval_metrics(x, y, nmi=False)


def test_no_query_with_a_positive_gives_defined_zeros():
    x = torch.randn(6, 3)
    out = retrieval_metrics(x, torch.arange(6), nmi=False)
    assert out["num_queries"] == 0
    assert all(out[key] == 0.0 and not math.isnan(out[key]) for key in RETRIEVAL_KEYS)
    single = retrieval_metrics(torch.randn(1, 3), torch.tensor([2]))
    assert single["num_queries"] == 0 and single["recall@1"] == 0.0 and not math.isnan(single["nmi"])


@pytest.mark.parametrize(
    "embeddings, labels, kwargs, error, match",
    [
        (torch.tensor([[0.0, float("nan")], [1.0, 0.0]]), torch.tensor([0, 0]), {}, ValueError, "NaN"),
        (torch.randn(4, 3), torch.tensor([0, 0, 1]), {}, ValueError, "length"),
        (torch.randn(4, 3), torch.tensor([0.0, 0.0, 1.0, 1.0]), {}, TypeError, "integer dtype"),
        (torch.randn(4), torch.tensor([0, 0, 1, 1]), {}, ValueError, "2-D"),
        (torch.randn(4, 3), torch.tensor([0, 0, 1, 1]), {"ks": (0,)}, ValueError, "ks"),
        (torch.randn(4, 3), torch.tensor([0, 0, 1, 1]), {"ks": ()}, ValueError, "ks"),
        (torch.randn(4, 3), torch.tensor([0, 0, 1, 1]), {"ks": (1.5,)}, ValueError, "ks"),
        (torch.randn(4, 3), torch.tensor([0, 0, 1, 1]), {"ks": 1}, ValueError, "ks"),
        (torch.randn(4, 3), torch.tensor([0, 0, 1, 1]), {"chunk_size": 0}, ValueError, "chunk_size"),
        (torch.randn(4, 3), torch.tensor([0, 0, 1, 1]), {"use_faiss": "yes"}, ValueError, "use_faiss"),
        ([[0.0, 1.0]], torch.tensor([0]), {}, TypeError, "embeddings"),
    ],
)
def test_bad_input_is_named(embeddings, labels, kwargs, error, match):
    with pytest.raises(error, match=match):
        retrieval_metrics(embeddings, labels, **kwargs)


def test_numpy_input_and_grad_tensors():
    x, y = random_set(1, n=30)
    expected = retrieval_metrics(x, y)
    assert retrieval_metrics(x.numpy(), y.numpy()) == expected
    assert retrieval_metrics(x.clone().requires_grad_(), y) == expected
    with pytest.raises(TypeError, match="integer dtype"):
        retrieval_metrics(x.numpy(), y.numpy().astype(np.float32))


def test_kmeans_nmi_is_retrieval_metrics_nmi_and_checks_restarts():
    rng = np.random.default_rng(4)
    y = np.repeat(np.arange(5), 12)
    x = rng.standard_normal((5, 8))[y] + 0.6 * rng.standard_normal((60, 8))
    assert retrieval.kmeans_nmi(x, y, seed=2) == pytest.approx(retrieval_metrics(x, y, seed=2)["nmi"])
    assert retrieval.kmeans_nmi(3.0 * x, y, seed=2) == pytest.approx(retrieval.kmeans_nmi(x, y, seed=2))  # cosine
    with pytest.raises(ValueError, match="n_init"):
        retrieval.kmeans_nmi(x, y, n_init=0)
