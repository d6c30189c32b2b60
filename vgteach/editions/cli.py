"""``vgteach colab``: write (or ``--check``) the Colab edition of the book, ``colab/``, from ``notebooks/``.

vgteach colab            # from a clone of the repository: colab/<name>.ipynb and colab/student/<lab>.ipynb
vgteach colab --check    # exit status 1 and the stale files if the committed copies are not up to date
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def find_repository(repo=None) -> Path:
    """The checkout of the book: ``repo``, else the one vgteach is installed from (``pip install -e``), else
    the current folder. ``ValueError`` when none holds ``notebooks/`` and ``book/``."""
    import vgteach

    candidates = [Path(repo)] if repo else [Path(vgteach.__file__).resolve().parents[1], Path.cwd()]
    for candidate in candidates:
        if (candidate / "notebooks").is_dir() and (candidate / "book").is_dir():
            return candidate
    raise ValueError(
        f"{'--repo ' + str(repo) if repo else 'no checkout of the book found'}: the editions are generated from the "
        f"notebooks of a clone of {vgteach.REPOSITORY_URL} (pip install -e . there, or pass --repo PATH)"
    )


def add_colab_parser(commands) -> None:
    colab = commands.add_parser("colab", help="write the Colab edition (colab/) of every notebook of the book")
    colab.add_argument("--repo", help="the clone of the book (default: the one vgteach is installed from)")
    colab.add_argument("--check", action="store_true", help="write nothing; exit 1 if colab/ is not up to date")


def write_all(root: Path, out: Path) -> list:
    from .colab import write_colab_editions
    from .labs import write_student_editions

    return write_colab_editions(root, out) + write_student_editions(root, out / "student")


def colab_command(args) -> int:
    from .colab import COLAB_FOLDER

    root = find_repository(args.repo)
    committed = root / COLAB_FOLDER
    if not args.check:
        written = write_all(root, committed)
        print(f"wrote {len(written)} notebooks in {committed}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = write_all(root, Path(tmp))
        stale = []
        for path in fresh:
            relative = path.relative_to(tmp)
            old = committed / relative
            if not old.exists() or old.read_bytes() != path.read_bytes():
                stale.append(str(Path(COLAB_FOLDER) / relative))
    for name in stale:
        print(f"stale: {name}", file=sys.stderr)
    if stale:
        print("vgteach colab: run `vgteach colab` and commit colab/", file=sys.stderr)
    return 1 if stale else 0
