"""Files that appear whole or not at all: every result, table, checkpoint and cache entry vgteach writes.

Each writer puts its bytes in a temporary file beside the target and then renames it onto the target
(``os.replace``, atomic on one file system): a reader, or a study resumed after a kill, sees the old file or
the new one, never half of one, and a failed write leaves no temporary behind.

    atomic_write_text(out / "report.md", text)
    atomic_write_csv(history, out / "history.csv")
    atomic_savez(folder / "final.npz", projection=points)
    atomic_torch_save(checkpoint, folder / "checkpoint.pt")
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Optional

import numpy as np
import torch


def _file_mode() -> int:
    """The mode ``open()`` would give a new file (0o666 less the umask); ``mkstemp``'s own is 0o600."""
    umask = os.umask(0o22)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(file)`` on a fresh temporary file in ``path``'s folder, then rename it onto ``path``.

    The folder must exist. On any error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: os.PathLike, text: str) -> Path:
    """Write ``text`` as UTF-8, atomically."""
    return atomic_write(path, lambda file: file.write(text.encode("utf-8")))


def atomic_write_csv(frame, path: os.PathLike) -> Path:
    """A DataFrame without its index, six significant digits (far below any difference the study can
    resolve, and half the file size), atomically."""
    return atomic_write_text(path, frame.to_csv(index=False, float_format="%.6g"))


def atomic_savez(path: os.PathLike, **arrays) -> Path:
    """``np.savez_compressed(path, **arrays)``, atomically."""
    return atomic_write(path, lambda file: np.savez_compressed(file, **arrays))


def atomic_torch_save(obj, path: os.PathLike) -> Path:
    """``torch.save(obj, path)``, atomically (read it back with ``torch.load(..., weights_only=True)``)."""
    return atomic_write(path, lambda file: torch.save(obj, file))


def run_folder(out: os.PathLike, loss: str, seed: int) -> Path:
    """Where a study keeps one (loss, seed) run: ``out/runs/<loss>-seed<seed>``."""
    return Path(out) / "runs" / f"{loss}-seed{seed}"


def out_folder_problem(out) -> Optional[str]:
    """Why ``out`` cannot become an output folder (one line, starting ``--out OUT:``), or None: it is a file,
    its nearest existing ancestor is not a folder, or no file can be created there. Checked by creating a
    temporary file in that ancestor (``os.access`` says yes to root on a read-only folder); nothing is
    left behind. ``vgteach study`` and ``vgteach diagnose`` ask before any work."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        return f"--out {out}: exists and is not a folder"
    ancestor = next(p for p in [path, *path.parents] if p.exists())
    if not ancestor.is_dir():
        return f"--out {out}: {ancestor} is not a folder"
    try:
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except OSError as error:
        return f"--out {out}: cannot write in {ancestor} ({error.strerror or error})"
    return None
