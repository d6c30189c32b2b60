"""Regenerate the shipped CIFAR-10 features (``vgteach/data/cifar10_features.npz``, DESIGN.md §6).

    python scripts/make_cifar10_features.py [--data-root ../shared/data] [--train-per-class 1000]
                                            [--test-per-class 300] [--dim 128]

1. Frozen ImageNet EfficientNet-Lite0 features (1280-d) of all 50,000 training and 10,000 test JPEGs of
   ``DATA_ROOT/cifar10`` (extracted once through :func:`vgteach.inputs.load_inputs` and cached on disk).
2. PCA fit on all 50,000 training features (scikit-learn, full SVD: deterministic), ``--dim`` components.
3. A class-balanced subset: the first ``--train-per-class`` / ``--test-per-class`` images of every class in
   ImageFolder order (file names are in CIFAR's own, unsorted order), projected and stored as float16.
4. kNN retrieval (leave-one-out cosine, :func:`vgteach.retrieval.retrieval_metrics`) on the subset's test
   rows, with the shipped features and with the full 1280-d features of the same images, stored in the
   file's ``meta`` and printed.

The file is written atomically (temporary file, then ``os.replace``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.decomposition import PCA

from vgteach.data.cifar10_features import DIM, PATH
from vgteach.inputs import first_per_class, load_inputs
from vgteach.retrieval import retrieval_metrics

REPO = Path(__file__).resolve().parents[1]


def knn_figures(x: np.ndarray, y: np.ndarray) -> dict:
    metrics = retrieval_metrics(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y), ks=(1,), nmi=False)
    return {"recall@1": round(metrics["recall@1"], 4), "map@r": round(metrics["map@r"], 4)}


def atomic_savez(path: Path, **arrays) -> None:
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez_compressed(file, **arrays)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--train-per-class", type=int, default=1000)
    parser.add_argument("--test-per-class", type=int, default=300)
    parser.add_argument("--dim", type=int, default=DIM)
    parser.add_argument("--out", default=str(PATH))
    args = parser.parse_args(argv)
    start = time.time()
    full = {
        split: load_inputs("cifar10", split, backbone="efficientnet_lite0", root=args.data_root)
        for split in ("train", "test")
    }
    pca = PCA(n_components=args.dim, svd_solver="full").fit(full["train"][0].numpy())
    arrays, figures = {}, {}
    for split, per_class in (("train", args.train_per_class), ("test", args.test_per_class)):
        features, labels = full[split][0].numpy(), full[split][1].numpy()
        index = np.asarray(first_per_class(labels.tolist(), per_class), dtype=np.int64)
        projected = pca.transform(features[index]).astype(np.float16)
        arrays.update({f"x_{split}": projected, f"y_{split}": labels[index], f"index_{split}": index})
    test_index = arrays["index_test"]
    figures["shipped"] = knn_figures(arrays["x_test"], arrays["y_test"])
    figures["full_1280d"] = knn_figures(full["test"][0].numpy()[test_index], arrays["y_test"])
    meta = {
        "what": "frozen ImageNet EfficientNet-Lite0 features of real CIFAR-10 JPEGs, PCA-projected, float16",
        "command": " ".join(["python scripts/make_cifar10_features.py", *(argv if argv is not None else sys.argv[1:])]),
        "train_per_class": args.train_per_class,
        "test_per_class": args.test_per_class,
        "dim": args.dim,
        "pca_explained_variance": round(float(pca.explained_variance_ratio_.sum()), 4),
        "knn_test": figures,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "wall_time_s": round(time.time() - start, 1),
    }
    atomic_savez(
        Path(args.out),
        **arrays,
        pca_mean=pca.mean_.astype(np.float32),
        pca_components=pca.components_.astype(np.float32),
        meta=np.array(json.dumps(meta)),
    )
    size = Path(args.out).stat().st_size
    print(json.dumps(meta, indent=1))
    print(f"wrote {args.out}: {size / 2**20:.2f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
