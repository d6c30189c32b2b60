"""``vgteach diagnose``: every input format, the numbers it reports, and every bad input of issue 13.

Bad input must give exit code 2, exactly one line on stderr naming the problem, and nothing in ``--out``
(not even a temporary folder beside it). Inputs are fabricated in ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import torch

from vgteach import diagnose as diag
from vgteach import geometry_stats, greediness_stats, retrieval_metrics, variance_stats
from vgteach.cli import main
from vgteach.figures import pca_2d
from vgteach.io import out_folder_problem
from vgteach.retrieval import kmeans_nmi

NAMES = np.array(["cat", "dog", "emu", "fox"])
FAST = ["--batch-size", "16", "--batches", "2", "--no-progress"]


class NotATensor:
    """A Python object: ``torch.load(weights_only=True)`` must refuse to unpickle it."""


def clustered(n=48, dim=6, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    codes = np.arange(n) % classes
    x = rng.normal(size=(classes, dim))[codes] + 0.4 * rng.normal(size=(n, dim))
    return x.astype(np.float32), codes


@pytest.fixture
def data(tmp_path):
    x, codes = clustered()
    np.save(tmp_path / "emb.npy", x)
    (tmp_path / "labels.csv").write_text("label\n" + "\n".join(NAMES[codes]) + "\n")
    return tmp_path, x, codes


def run(args, capsys):
    code = main(["diagnose", *map(str, args), *FAST])
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines()


def metrics_of(out):
    return json.loads((out / "metrics.json").read_text())


# ----------------------------------------------------------------------------------------- what it reports
def test_report_files_and_numbers_match_the_library(data, capsys):
    folder, x, codes = data
    out = folder / "report"
    code, err = run([folder / "emb.npy", folder / "labels.csv", "--out", out], capsys)
    assert code == 0 and err == []
    assert sorted(p.name for p in out.iterdir()) == [
        "greediness.png",
        "metrics.json",
        "projection.png",
        "report.md",
        "retrieval.png",
        "variance.png",
    ]
    m = metrics_of(out)
    assert m["input"]["num_samples"] == 48 and m["input"]["num_classes"] == 4
    assert m["variance"] == pytest.approx(variance_stats(x, codes))
    assert m["geometry"] == pytest.approx(geometry_stats(x, codes))  # N <= SAMPLE_SIZE: every sample
    assert m["retrieval"] == pytest.approx(retrieval_metrics(x, codes))
    assert set(m["greediness"]) == {"contrastive", "triplet", "npair", "infonce", "arcface", "supcon", "ccl"}
    report = (out / "report.md").read_text()
    for section in ("## VARIANCE", "## Geometry", "## Retrieval", "## GREEDINESS", "projection.png"):
        assert section in report
    assert "| emu |" in report or "| cat |" in report  # classes named by their string labels


def both(x, codes):
    return {"embeddings": x, "labels": NAMES[codes]}


def save_npz(path, x, codes):
    np.savez(path, **both(x, codes))


def save_pt_dict(path, x, codes):
    torch.save({"embeddings": torch.from_numpy(x), "labels": torch.from_numpy(codes)}, path)


def save_pt_tuple(path, x, codes):
    torch.save((torch.from_numpy(x), torch.from_numpy(codes)), path)


def save_table(sep):
    def save(path, x, codes):
        rows = [sep.join(["label", *[f"f{j}" for j in range(x.shape[1])]])]
        rows += [sep.join([NAMES[c], *map(repr, map(float, row))]) for row, c in zip(x, codes)]
        path.write_text("\n".join(rows) + "\n")

    return save


@pytest.mark.parametrize(
    "name, save",
    [
        ("both.npz", save_npz),
        ("both.pt", save_pt_dict),
        ("tuple.pt", save_pt_tuple),
        ("both.csv", save_table(",")),
        ("both.tsv", save_table("\t")),
    ],
)
def test_one_file_holding_both(tmp_path, name, save):
    x, codes = clustered()
    save(tmp_path / name, x, codes)
    m = diag.diagnose(tmp_path / name, progress=False, batch_size=16, batches=1, losses=("triplet",))
    assert m["variance"]["intra"] == pytest.approx(variance_stats(x, codes)["intra"], rel=1e-6)
    assert m["input"]["num_classes"] == 4


@pytest.mark.parametrize("labels_file", ["labels.npy", "labels.txt", "labels.pt", "labels_noheader.csv"])
def test_label_files(tmp_path, labels_file):
    x, codes = clustered()
    np.save(tmp_path / "emb.npy", x)
    target = tmp_path / labels_file
    if labels_file.endswith(".npy"):
        np.save(target, NAMES[codes])  # a unicode array: strings without pickling
    elif labels_file.endswith(".pt"):
        torch.save(torch.from_numpy(codes), target)
    else:
        target.write_text("\n".join(str(c) for c in codes) + "\n")
    m = diag.diagnose(tmp_path / "emb.npy", target, progress=False, batch_size=16, batches=1, losses=("npair",))
    assert m["retrieval"]["recall@1"] == pytest.approx(retrieval_metrics(x, codes, nmi=False)["recall@1"])


def test_large_inputs_use_a_stratified_sample_for_geometry_and_nmi(monkeypatch):
    x, codes = clustered(n=120, classes=6)
    monkeypatch.setattr(diag.compute, "SAMPLE_SIZE", 40)
    m = diag.diagnose(x, codes, progress=False, batch_size=24, batches=1, losses=("supcon",))
    sample = diag.stratified_sample(codes, 40, seed=0)
    assert m["sample_size"] == len(sample) == 36  # 6 classes x floor(20 * 40 / 120)
    assert m["geometry"] == pytest.approx(geometry_stats(x[sample], codes[sample]))
    assert m["retrieval"]["nmi"] == pytest.approx(retrieval_metrics(x[sample], codes[sample])["nmi"])
    assert m["nmi_restarts"] == 4  # few classes: the training evaluation's restarts


def test_many_classes_cluster_with_one_kmeans_restart(monkeypatch):
    """Above KMEANS_RESTARTS_MAX_CLASSES classes NMI's k-means restarts once (its cost grows with K)."""
    x, codes = clustered(n=60, classes=6)
    monkeypatch.setattr(diag.compute, "KMEANS_RESTARTS_MAX_CLASSES", 5)
    m = diag.diagnose(x, codes, progress=False, batch_size=24, batches=1, losses=("supcon",))
    assert m["nmi_restarts"] == 1
    assert m["retrieval"]["nmi"] == pytest.approx(kmeans_nmi(x, codes, n_init=1))
    assert diag.nmi_restarts(np.arange(6)) == 1 and diag.nmi_restarts(np.arange(100) % 5) == 4  # at most 5: 4
    assert m["retrieval"]["recall@1"] == pytest.approx(retrieval_metrics(x, codes, nmi=False)["recall@1"])


def test_stratified_sample_keeps_each_class_share():
    codes = np.repeat(np.arange(5), [100, 50, 30, 3, 2])
    sample = diag.stratified_sample(codes, 37, seed=1)
    per_class = np.bincount(codes[sample], minlength=5)
    assert per_class.tolist() == [20, 10, 6, 2, 2]  # floor(n_c * 37 / 185), at least 2 (or all)
    assert len(np.unique(sample)) == len(sample) and np.all(np.diff(sample) > 0)
    assert len(diag.stratified_sample(codes, 1000)) == len(codes)


def test_greediness_is_greediness_stats_on_class_balanced_batches_with_class_mean_proxies():
    x, codes = clustered(n=64, classes=4)
    xt, yt = torch.from_numpy(x), torch.from_numpy(codes)
    means = torch.stack([torch.nn.functional.normalize(xt[yt == c].double(), dim=1).mean(0) for c in range(4)])
    result, settings = diag.loss_greediness(
        xt, codes, means.float(), losses=("triplet", "arcface"), batch_size=32, batches=2, seed=3
    )
    assert settings["batches"] == 2 and settings["batch_size"] == 32
    from vgteach.training.sampler import MPerClassBatches

    batches = MPerClassBatches(yt, 32, 4, seed=3).epoch(0)[:2]
    arcface = diag.proxy_loss("arcface", means.float())
    assert torch.allclose(arcface.weight, torch.nn.functional.normalize(means.float(), dim=1))
    for name, loss_fn in (("triplet", diag.proxy_loss("triplet", means)), ("arcface", arcface)):
        rows = [greediness_stats(loss_fn, xt[b], yt[b]) for b in batches]
        assert result[name]["active_ratio"] == pytest.approx(np.mean([r["active_ratio"] for r in rows]))
        assert result[name]["grad_gini"] == pytest.approx(np.mean([r["grad_gini"] for r in rows]))


def test_singleton_classes_are_kept_reported_and_not_queries(tmp_path, capsys):
    x, codes = clustered()
    labels = NAMES[codes].astype(object)
    labels[[5, 9]] = ["yak", "owl"]  # two classes of one sample each
    np.save(tmp_path / "emb.npy", x)
    np.save(tmp_path / "labels.npy", labels.astype(str))
    code, err = run([tmp_path / "emb.npy", tmp_path / "labels.npy", "--out", tmp_path / "r"], capsys)
    assert code == 0
    assert err == [
        "vgteach: warning: 2 classes have a single sample ('owl', 'yak'): kept for VARIANCE, "
        "excluded as retrieval queries and from GREEDINESS batches"
    ]
    m = metrics_of(tmp_path / "r")
    assert m["input"]["singleton_classes"] == 2 and m["variance"]["num_classes"] == 6
    assert m["retrieval"]["num_queries"] == 46
    assert "single sample" in (tmp_path / "r" / "report.md").read_text()


def test_an_earlier_report_is_replaced(data, capsys):
    folder, _, _ = data
    out = folder / "r"
    assert run([folder / "emb.npy", folder / "labels.csv", "--out", out], capsys)[0] == 0
    (out / "stale.txt").write_text("from an older version")
    assert run([folder / "emb.npy", folder / "labels.csv", "--out", out], capsys)[0] == 0
    assert not (out / "stale.txt").exists() and (out / "metrics.json").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["emb.npy", "labels.csv", "r"]


def test_a_failure_while_writing_leaves_nothing_and_keeps_the_earlier_report(data, capsys, monkeypatch):
    folder, _, _ = data
    out = folder / "r"
    assert run([folder / "emb.npy", folder / "labels.csv", "--out", out], capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def half_then_fail(tmp, *args):
        (tmp / "report.md").write_text("half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(diag, "write_report", half_then_fail)
    code, err = run([folder / "emb.npy", folder / "labels.csv", "--out", out], capsys)
    assert code == 2 and err == [f"vgteach: error: --out {out}: writing failed ([Errno 28] No space left on device)"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in folder.iterdir()) == ["emb.npy", "labels.csv", "r"]


@pytest.mark.filterwarnings("ignore:Number of distinct clusters")  # k-means on ±1: two points
def test_one_column_embeddings_give_a_report_without_the_projection(tmp_path, capsys):
    """D = 1 has no plane to project on: the report has every table, says why the projection is missing,
    and draws none (it used to end in a traceback)."""
    x, codes = clustered(dim=1)
    np.save(tmp_path / "emb.npy", x)
    np.save(tmp_path / "labels.npy", codes)
    out = tmp_path / "report"
    code, err = run([tmp_path / "emb.npy", tmp_path / "labels.npy", "--out", out], capsys)
    assert code == 0
    assert err == [
        "vgteach: warning: the embeddings have a single column: normalised, each is +1 or −1 (or 0), so only "
        "their sign counts; no 2-D projection"
    ]
    assert sorted(p.name for p in out.iterdir()) == [
        "greediness.png",
        "metrics.json",
        "report.md",
        "retrieval.png",
        "variance.png",
    ]
    report = (out / "report.md").read_text()
    assert "No projection: the embeddings have a single column (D = 1)" in report
    assert "projection.png" not in report and "## GREEDINESS" in report
    m = metrics_of(out)
    assert m["input"]["dim"] == 1 and m["variance"] == pytest.approx(variance_stats(x, codes))


def test_the_stages_hand_the_figures_their_arrays():
    """compute's stages pass values, not a shared dict: the class spreads (whose mean is ``intra``), the
    class means GREEDINESS used as proxies, and the projection of vgteach.figures.pca_2d."""
    x, codes = clustered()
    metrics, arrays = diag.compute.compute(x, codes, batch_size=16, batches=1, losses=("arcface",), progress=False)
    assert list(metrics["timings_s"]) == list(diag.compute.STAGES)
    spread = arrays.classes
    assert spread.spread.mean() == pytest.approx(metrics["variance"]["intra"])
    assert spread.size.tolist() == np.bincount(codes).tolist()
    means = torch.stack(
        [torch.nn.functional.normalize(torch.from_numpy(x[codes == c]).double()).mean(0) for c in range(4)]
    )
    torch.testing.assert_close(spread.means, means.float())
    np.testing.assert_allclose(arrays.projection.points, pca_2d(x)[0])  # N <= SAMPLE_SIZE: every sample
    assert arrays.projection.codes.tolist() == codes.tolist()


def test_diagnose_and_study_share_one_out_check(tmp_path):
    """validate_out refuses exactly what the study's --out check refuses, with its message."""
    (tmp_path / "file").write_text("")
    for out in (tmp_path / "file", tmp_path / "file" / "report", tmp_path / "new" / "report"):
        problem = out_folder_problem(out)
        if problem is None:
            assert diag.validate_out(out) == out
        else:
            with pytest.raises(diag.InputError) as error:
                diag.validate_out(out)
            assert str(error.value) == problem
    assert out_folder_problem(tmp_path / "new" / "report") is None


def test_an_out_that_cannot_be_created_even_as_root(data, capsys, monkeypatch):
    """Root ignores permission bits (os.access says yes): the check creates a file instead, made to fail
    here as on a read-only mount."""
    folder, _, _ = data

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    out = folder / "new" / "report"
    code, err = run([folder / "emb.npy", folder / "labels.csv", "--out", out], capsys)
    assert code == 2 and err == [f"vgteach: error: --out {out}: cannot write in {folder} (Permission denied)"]
    assert sorted(p.name for p in folder.iterdir()) == ["emb.npy", "labels.csv"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_out_in_a_read_only_folder(data, capsys):
    folder, _, _ = data
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, err = run([folder / "emb.npy", folder / "labels.csv", "--out", locked / "report"], capsys)
    finally:
        locked.chmod(0o700)
    assert code == 2 and len(err) == 1 and f"cannot write in {locked}" in err[0]
    assert list(locked.iterdir()) == []


# ----------------------------------------------------------------------------------------- bad input
def write(tmp_path, name, content):
    """Fabricate one input file; ``content`` is an array (npy), bytes, text, or a callable(path)."""
    path = tmp_path / name
    if callable(content):
        content(path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        np.save(path, content)
    return path


X, CODES = clustered()


def with_bad_rows(value):
    x = X.copy()
    x[[3, 7], 1] = value
    return x


BAD_INPUTS = {
    # case: (embeddings file, labels file or None, expected message after "vgteach: error: ")
    "mismatched lengths": (
        ("e.npy", X),
        ("l.npy", CODES[:-1]),
        "mismatched lengths: {e} has 48 rows but {l} has 47 labels",
    ),
    "NaN rows": (
        ("e.npy", with_bad_rows(np.nan)),
        ("l.npy", CODES),
        "{e}: 2 of 48 rows contain NaN or Inf (rows 3, 7)",
    ),
    "inf rows": (
        ("e.npy", with_bad_rows(np.inf)),
        ("l.npy", CODES),
        "{e}: 2 of 48 rows contain NaN or Inf (rows 3, 7)",
    ),
    "a single class": (
        ("e.npy", X),
        ("l.npy", np.zeros(48, int)),
        "{l}: a single class (0); VARIANCE, retrieval and GREEDINESS compare classes, so at least 2 are needed",
    ),
    "only singletons beside one class": (
        ("e.npy", X),
        ("l.npy", np.r_[np.zeros(40, int), np.arange(1, 9)]),
        "{l}: fewer than 2 classes have 2 or more samples; retrieval and GREEDINESS "
        "need positives (same-class pairs) in at least 2 classes",
    ),
    "1-D embeddings": (
        ("e.npy", X[:, 0]),
        ("l.npy", CODES),
        "{e}: expected a 2-D array [N, D] of embeddings, got shape (48,)",
    ),
    "3-D embeddings": (
        ("e.npy", X.reshape(48, 2, 3)),
        ("l.npy", CODES),
        "{e}: expected a 2-D array [N, D] of embeddings, got shape (48, 2, 3)",
    ),
    "2-D labels": (
        ("e.npy", X),
        ("l.npy", np.stack([CODES, CODES], 1)),
        "{l}: expected one label per row (shape [N]), got shape (48, 2)",
    ),
    "no rows": (("e.npy", X[:0]), ("l.npy", CODES[:0]), "{e}: no embeddings (shape (0, 6))"),
    "empty file": (("e.npy", b""), ("l.npy", CODES), "{e}: the file is empty (0 bytes)"),
    "empty labels file": (("e.npy", X), ("l.csv", ""), "{l}: the file is empty (0 bytes)"),
    "missing file": (None, ("l.npy", CODES), "{e}: no such file"),
    "a folder": (("e.npy", lambda p: p.mkdir()), ("l.npy", CODES), "{e}: not a file"),
    "unknown format": (
        ("e.h5", b"\x89HDF\r\n"),
        ("l.npy", CODES),
        "{e}: unknown format '.h5'; use one of .npy, .npz, .pt, .pth, .csv, .tsv, .txt",
    ),
    "corrupt .npy": (
        ("e.npy", b"not an array at all"),
        ("l.npy", CODES),
        "{e}: not an .npy file (it does not start with b'\\x93NUMPY')",
    ),
    "corrupt .pt": (("e.pt", b"PK\x03\x04garbage"), ("l.npy", CODES), None),
    "pickled .npy": (
        ("e.npy", lambda p: np.save(p, np.array([{"a": 1}] * 48, dtype=object), allow_pickle=True)),
        ("l.npy", CODES),
        "{e}: holds pickled Python objects, which vgteach does not load; save a "
        "numeric (or string) array with allow_pickle=False",
    ),
    "pickled .npz": (
        ("e.npz", lambda p: np.savez(p, embeddings=X, labels=np.array(list(CODES), dtype=object))),
        None,
        "{e}: an array in it holds pickled Python objects, which vgteach does not load; save numeric "
        "(or string) arrays with allow_pickle=False",
    ),
    "pickled .pt": (
        ("e.pt", lambda p: torch.save({"embeddings": torch.from_numpy(X), "meta": NotATensor()}, p)),
        None,
        "{e}: not a tensor file: torch.load(weights_only=True) refused it (it holds pickled Python "
        "objects); save a tensor, a dict or a tuple of tensors",
    ),
    "no labels": (
        ("e.npy", X),
        None,
        "{e}: no labels: pass a LABELS file, or save both in one file (an .npz or .pt "
        "dict with 'embeddings' and 'labels', a table with a 'label' column)",
    ),
    "missing labels": (
        ("e.npy", X),
        ("l.csv", "label\n" + "\n".join(["a", "b", "NA"] * 16) + "\n"),
        "{l}: 16 labels are missing (rows 2, 5, 8, 11, 14, …)",
    ),
    "non-numeric embeddings": (
        ("e.csv", "label,f0,f1\na,0.1,x\nb,0.2,y\n"),
        None,
        "{e}: column 'f1' is not numeric (embedding columns must be numbers; name the label "
        "column one of labels, label, y)",
    ),
    "string embeddings": (
        ("e.npy", np.array([["a", "b"]] * 48)),
        ("l.npy", CODES),
        "{e}: embeddings must be numbers, got dtype <U1",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, case):
    emb, lab, expected = BAD_INPUTS[case]
    e = write(tmp_path, *emb) if emb else tmp_path / "missing.npy"
    l = write(tmp_path, *lab) if lab else None
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "report"
    code, err = run([e, *([l] if l else []), "--out", out], capsys)
    assert code == 2
    assert len(err) == 1 and err[0].startswith("vgteach: error: ")
    if expected is not None:
        assert err[0] == "vgteach: error: " + expected.format(e=e, l=l)
    else:
        assert err[0].startswith(f"vgteach: error: {e}: not a readable .pt file (")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no report, no temporary folder


@pytest.mark.parametrize("case", ["a file", "under a file", "a folder with other files"])
def test_out_that_cannot_be_written(data, capsys, case):
    folder, _, _ = data
    (folder / "notes.txt").write_text("mine")
    out = {
        "a file": folder / "notes.txt",
        "under a file": folder / "notes.txt" / "report",
        "a folder with other files": folder,
    }[case]
    expected = {
        "a file": f"--out {out}: exists and is not a folder",
        "under a file": f"--out {out}: {folder / 'notes.txt'} is not a folder",
        "a folder with other files": f"--out {out}: a folder with other files in it; choose a new or empty "
        "folder (an earlier diagnose report is replaced)",
    }[case]
    before = sorted(p.name for p in folder.iterdir())
    code, err = run([folder / "emb.npy", folder / "labels.csv", "--out", out], capsys)
    assert code == 2 and err == ["vgteach: error: " + expected]
    assert sorted(p.name for p in folder.iterdir()) == before
    assert (folder / "notes.txt").read_text() == "mine"


def test_python_dash_m_vgteach_diagnose(data):
    folder, _, _ = data
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "vgteach",
            "diagnose",
            str(folder / "emb.npy"),
            str(folder / "labels.csv"),
            "--out",
            str(folder / "r"),
            *FAST,
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert (folder / "r" / "report.md").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "vgteach", "diagnose", str(folder / "labels.csv"), "--out", str(folder / "r2")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert not (folder / "r2").exists()
