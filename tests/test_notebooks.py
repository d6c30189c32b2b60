"""Every chapter of the book runs, top to bottom, in the ``smoke`` profile (papermill).

One test per notebook listed in ``_toc.yml``. papermill injects ``PROFILE = "smoke"`` after the cell tagged
``parameters`` (the committed notebooks say ``"book"``, which is what the book build executes). The kernel
is the Python running pytest: a kernelspec pointing at ``sys.executable`` is written to a temporary
Jupyter data directory, so a ``python3`` kernel from another environment can never be picked up. Its
matplotlib backend is the inline one, as in the book build, so every figure is really drawn; it uses one
OpenMP thread unless ``$OMP_NUM_THREADS`` says otherwise.
A failing chapter names the cell: its index, its first lines and the error.

Also checked, without executing anything: the structure every chapter promises (a single ``parameters``
cell, the Colab install line with the repository URL of ``_config.yml``, no committed outputs).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
KERNEL_NAME = "vgteach-test"
SMOKE = {"PROFILE": "smoke"}
CELL_TIMEOUT_S = 300


def toc_notebooks() -> list[str]:
    """The notebooks the book builds, in book order (``notebooks/<name>`` entries of ``_toc.yml``)."""
    yaml = pytest.importorskip("yaml")
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]
    return [Path(file).name for file in files if file.startswith("notebooks/")]


CHAPTERS = toc_notebooks()


def read_notebook(name: str) -> dict:
    return json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


# ------------------------------------------------------------------------------- structure (fast)
def test_toc_lists_every_notebook_and_only_existing_ones():
    on_disk = sorted(path.stem for path in NOTEBOOKS.glob("*.ipynb"))
    assert sorted(CHAPTERS) == on_disk


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_structure(name):
    import yaml

    notebook = read_notebook(name)
    cells = notebook["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert cells[0]["cell_type"] == "markdown" and source(cells[0]).startswith("# "), "first cell: the title"
    assert sum(source(cell).startswith("# ") for cell in cells if cell["cell_type"] == "markdown") == 1

    # committed without outputs
    for index, cell in enumerate(code):
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None, f"code cell {index} has outputs"

    # first code cell: the Colab-only install, from the repository of _config.yml
    repository = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["url"]
    install = source(code[0])
    assert 'if "google.colab" in sys.modules:' in install
    assert f"git+{repository}" in install

    # exactly one parameters cell, with the two parameters and nothing heavier
    tagged = [cell for cell in code if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    namespace: dict = {}
    exec(source(tagged[0]), namespace)                                   # noqa: S102 — two assignments
    assert {key for key in namespace if not key.startswith("__")} == {"PROFILE", "DEVICE"}
    assert namespace["PROFILE"] == "book" and namespace["DEVICE"] == "auto"


# ------------------------------------------------------------------------------- execution (papermill)
@pytest.fixture(scope="session")
def kernel_name(tmp_path_factory):
    """A kernelspec for this interpreter in a private Jupyter data directory (first on JUPYTER_PATH)."""
    pytest.importorskip("papermill")
    pytest.importorskip("ipykernel")
    data_dir = tmp_path_factory.mktemp("jupyter")
    spec_dir = data_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    # - the inline backend, as in the book build: figures are really drawn (a TeX error in a label only
    #   shows when drawing), whatever MPLBACKEND the shell running pytest has (e.g. Agg on CI machines);
    # - one OpenMP thread unless told otherwise: the smoke runs train tiny models, and on a busy 2-core
    #   machine torch's second thread spinning at barriers made chapters 5-10x slower (30 s instead of 5).
    env = {"MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"Python ({sys.executable})", "language": "python", "env": env}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    previous = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(data_dir), *([previous] if previous else [])])
    yield KERNEL_NAME
    if previous is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = previous


def describe_failure(error) -> str:
    """Which cell failed (index in the executed notebook, papermill's injected cell included), its first
    lines, and the error."""
    head = "\n    ".join(str(getattr(error, "source", "")).splitlines()[:6])
    return (f"cell {getattr(error, 'cell_index', '?')} (execution count {getattr(error, 'exec_count', '?')}) "
            f"failed:\n    {head}\n{getattr(error, 'ename', type(error).__name__)}: {getattr(error, 'evalue', error)}")


@pytest.mark.notebook
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_runs_in_smoke_profile(name, kernel_name, tmp_path):
    import papermill

    output = tmp_path / f"{name}.ipynb"
    try:
        papermill.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(output), parameters=SMOKE,
                                   kernel_name=kernel_name, cwd=str(NOTEBOOKS), progress_bar=False,
                                   execution_timeout=CELL_TIMEOUT_S)
    except papermill.PapermillExecutionError as error:
        pytest.fail(f"notebooks/{name}.ipynb: {describe_failure(error)}", pytrace=False)
    executed = json.loads(output.read_text(encoding="utf-8"))
    injected = [cell for cell in executed["cells"] if "injected-parameters" in cell["metadata"].get("tags", [])]
    assert len(injected) == 1 and 'PROFILE = "smoke"' in source(injected[0])


def test_papermills_injected_cell_is_hidden_in_the_book(tmp_path):
    """book/_ext/hide_papermill_cells.py tags papermill's injected cell remove-cell (and nothing else)."""
    import importlib.util

    papermill = pytest.importorskip("papermill")
    spec = importlib.util.spec_from_file_location("hide_papermill_cells", REPO / "book" / "_ext" / "hide_papermill_cells.py")
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)

    prepared = tmp_path / "prepared.ipynb"
    papermill.execute_notebook(str(NOTEBOOKS / f"{CHAPTERS[0]}.ipynb"), str(prepared), parameters=SMOKE,
                               prepare_only=True, kernel_name="python3", progress_bar=False)
    cells = json.loads(extension.hide_injected_cells(prepared.read_text(encoding="utf-8")))["cells"]
    removed = [cell for cell in cells if "remove-cell" in cell["metadata"].get("tags", [])]
    assert len(removed) == 1 and "injected-parameters" in removed[0]["metadata"]["tags"]
    assert 'PROFILE = "smoke"' in source(removed[0])
    untouched = (NOTEBOOKS / f"{CHAPTERS[0]}.ipynb").read_text(encoding="utf-8")
    assert extension.hide_injected_cells(untouched) == untouched
