"""``vgteach diagnose``, step 1: read the embeddings and labels, and refuse bad input in one line.

Formats (:func:`read_inputs`): ``.npy``, ``.npz``, ``.pt`` (tensors only, read with ``weights_only=True``),
``.csv``/``.tsv``/``.txt``; embeddings ``[N, D]``, labels ``[N]`` (integers or strings). One file may
hold both: an ``.npz`` or a ``.pt`` dict with ``embeddings`` and ``labels`` entries, a ``.pt`` tuple
``(embeddings, labels)``, or a table with a header naming a ``label`` column. Nothing is ever unpickled.
Every problem is an :class:`InputError` whose message is one line naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

#: names under which a dict-like file (npz, a .pt dict, a table's header) holds each array
EMBEDDING_KEYS = ("embeddings", "embedding", "features", "feature", "x", "z", "emb")
LABEL_KEYS = ("labels", "label", "y", "targets", "target", "class", "classes")
FORMATS = (".npy", ".npz", ".pt", ".pth", ".csv", ".tsv", ".txt")


class InputError(ValueError):
    """Bad input or an unwritable ``--out``: the message is one line naming the file and the problem."""


# -- reading ------------------------------------------------------------------------------------------------
def first_line(error: BaseException) -> str:
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
        raise InputError(f"{path}: not a readable {path.suffix} file ({first_line(error)})") from None


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


# -- validating ---------------------------------------------------------------------------------------------
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
    warnings: retrieval excludes them as queries and GREEDINESS batches leave them out. One-column
    embeddings (D = 1) are kept with a warning too (the report has no 2-D projection then).
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
    return x, codes.astype(np.int64).ravel(), classes, input_warnings(x, classes, counts)


def input_warnings(x: np.ndarray, classes: np.ndarray, counts: np.ndarray) -> list[str]:
    """What the report and the command line warn about valid input: classes with a single sample, one-column
    embeddings, all-zero embeddings."""
    warnings = []
    single = classes[counts == 1]
    if len(single):
        warnings.append(
            f"{len(single)} classes have a single sample ({_names(single)}): kept for VARIANCE, "
            "excluded as retrieval queries and from GREEDINESS batches"
        )
    if x.shape[1] == 1:
        warnings.append(
            "the embeddings have a single column: normalised, each is +1 or −1 (or 0), so only their sign "
            "counts; no 2-D projection"
        )
    zero = np.flatnonzero(~x.any(axis=1))
    if len(zero):
        warnings.append(f"{len(zero)} all-zero embeddings ({_rows(zero)}) have no direction; kept as the zero vector")
    return warnings


def _numpy(value):
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def load_inputs(embeddings, labels=None) -> tuple:
    """``(x, codes, classes, info)`` from files (:func:`read_inputs`) or arrays/tensors, validated
    (:func:`validate_inputs`); ``info`` is the report's ``input`` section: the names, N, D, the number of
    classes and of single-sample classes, the warnings."""
    from_files = isinstance(embeddings, (str, os.PathLike))
    names = (str(embeddings), str(labels)) if from_files else ("embeddings", "labels")
    if from_files:
        embeddings, labels = read_inputs(embeddings, labels)
    elif labels is None:
        raise InputError("labels are needed when embeddings are given as an array")
    x, codes, classes, warnings = validate_inputs(_numpy(embeddings), _numpy(labels), names)
    info = {
        "embeddings": names[0],
        "labels": names[1],
        "num_samples": len(x),
        "dim": x.shape[1],
        "num_classes": len(classes),
        "singleton_classes": int((np.bincount(codes) == 1).sum()),
        "warnings": warnings,
    }
    return x, codes, classes, info
