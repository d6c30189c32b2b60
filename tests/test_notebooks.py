"""Every chapter of the book runs, top to bottom, in the ``smoke`` profile (papermill).

One test per notebook listed in ``_toc.yml``. papermill injects ``PROFILE = "smoke"`` after the cell tagged
``parameters`` (the committed notebooks say ``"book"``, which is what the book build executes). The kernel
is the Python running pytest: a kernelspec pointing at ``sys.executable`` is written to a temporary
Jupyter data directory, so a ``python3`` kernel from another environment can never be picked up. Its
matplotlib backend is the inline one, as in the book build, so every figure is really drawn; it uses one
OpenMP thread unless ``$OMP_NUM_THREADS`` says otherwise.
A failing chapter names the cell: its index, its first lines and the error.

Also checked, without executing anything: the structure every chapter promises (a single ``parameters``
cell with PROFILE, DEVICE, DATASET, BACKBONE and DOWNLOAD, the Colab install line with
``vgteach.REPOSITORY_URL``, the URL of ``_config.yml``, no committed outputs), that live trainings take the
chapter's data from its parameters, and that reference results come from the package.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from pathlib import Path

import pytest

from vgteach import REPOSITORY_URL

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
KERNEL_NAME = "vgteach-test"
SMOKE = {"PROFILE": "smoke"}
#: the parameters cell of every chapter, as committed (what the book build executes)
PARAMETERS = {"PROFILE": "book", "DEVICE": "auto", "DATASET": None, "BACKBONE": None, "DOWNLOAD": False}
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

    notebook = read_notebook(name)
    cells = notebook["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert cells[0]["cell_type"] == "markdown" and source(cells[0]).startswith("# "), "first cell: the title"
    assert sum(source(cell).startswith("# ") for cell in cells if cell["cell_type"] == "markdown") == 1

    # committed without outputs
    for index, cell in enumerate(code):
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None, f"code cell {index} has outputs"

    # first code cell: the Colab-only install, from the package's one repository URL (also _config.yml's)
    install = source(code[0])
    assert 'if "google.colab" in sys.modules:' in install
    assert install.count("git+") == 1 and f'git+{REPOSITORY_URL}"' in install

    # exactly one parameters cell, with the five parameters and nothing heavier
    tagged = [cell for cell in code if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    namespace: dict = {}
    exec(source(tagged[0]), namespace)  # noqa: S102 — five assignments
    assert {key: value for key, value in namespace.items() if not key.startswith("__")} == PARAMETERS


def test_repository_url_is_the_books():
    import yaml

    assert yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["url"] == REPOSITORY_URL


def calls(code: str, names: set) -> list:
    """The ``ast.Call`` nodes of ``code`` (IPython magics read as ``pass``) whose function is in ``names``."""
    lines = [re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in code.splitlines()]
    tree = ast.parse("\n".join(lines))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in names
    ]


def is_literal(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_takes_its_data_from_the_parameters_and_the_package(name):
    """Live trainings run on the profile's data (chapter_config with DATASET/BACKBONE/DOWNLOAD/DEVICE),
    never on a hard-coded dataset; reference results come from vgteach.results (a chapter opened alone on
    Colab has no results/ folder beside it)."""
    code = "\n".join(source(cell) for cell in read_notebook(name)["cells"] if cell["cell_type"] == "code")
    for call in calls(code, {"chapter_config"}):
        given = {keyword.arg: getattr(keyword.value, "id", None) for keyword in call.keywords}
        for parameter in ("DATASET", "BACKBONE", "DOWNLOAD", "DEVICE"):
            assert given.get(parameter.lower()) == parameter, (
                f"chapter_config(...) lacks {parameter.lower()}={parameter}"
            )
    for call in calls(code, {"make_config", "run_study", "load_inputs", "train"}):
        dataset = [keyword.value for keyword in call.keywords if keyword.arg == "dataset"]
        if getattr(call.func, "id", None) == "load_inputs" and call.args:
            dataset.append(call.args[0])
        assert not any(is_literal(node) for node in dataset), f"hard-coded dataset in {ast.unparse(call)}"
    assert not calls(code, {"make_config"}), "live trainings use chapter_config(PROFILE, ...)"
    assert "../results" not in code, "reference results come from vgteach.results (no results/ folder on Colab)"


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
    env = {
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({sys.executable})",
        "language": "python",
        "env": env,
    }
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
    return (
        f"cell {getattr(error, 'cell_index', '?')} (execution count {getattr(error, 'exec_count', '?')}) "
        f"failed:\n    {head}\n{getattr(error, 'ename', type(error).__name__)}: {getattr(error, 'evalue', error)}"
    )


@pytest.mark.notebook
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_runs_in_smoke_profile(name, kernel_name, tmp_path, monkeypatch):
    import papermill
    from test_book_style import check_glued_prose

    from vgteach.results.myst import GLUE_LOG_ENV

    output = tmp_path / f"{name}.ipynb"
    monkeypatch.setenv(GLUE_LOG_ENV, str(tmp_path / "glued.jsonl"))  # the kernel logs what it glues
    try:
        papermill.execute_notebook(
            str(NOTEBOOKS / f"{name}.ipynb"),
            str(output),
            parameters=SMOKE,
            kernel_name=kernel_name,
            cwd=str(NOTEBOOKS),
            progress_bar=False,
            execution_timeout=CELL_TIMEOUT_S,
        )
    except papermill.PapermillExecutionError as error:
        pytest.fail(f"notebooks/{name}.ipynb: {describe_failure(error)}", pytrace=False)
    executed = json.loads(output.read_text(encoding="utf-8"))
    injected = [cell for cell in executed["cells"] if "injected-parameters" in cell["metadata"].get("tags", [])]
    assert len(injected) == 1 and 'PROFILE = "smoke"' in source(injected[0])
    check_glued_prose(name, tmp_path / "glued.jsonl")  # issue 21: the glued text reads as written


def test_papermills_injected_cell_is_hidden_in_the_book(tmp_path):
    """book/_ext/hide_papermill_cells.py tags papermill's injected cell remove-cell (and nothing else)."""
    import importlib.util

    papermill = pytest.importorskip("papermill")
    spec = importlib.util.spec_from_file_location(
        "hide_papermill_cells", REPO / "book" / "_ext" / "hide_papermill_cells.py"
    )
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)

    prepared = tmp_path / "prepared.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{CHAPTERS[0]}.ipynb"),
        str(prepared),
        parameters=SMOKE,
        prepare_only=True,
        kernel_name="python3",
        progress_bar=False,
    )
    cells = json.loads(extension.hide_injected_cells(prepared.read_text(encoding="utf-8")))["cells"]
    tagged_before = {
        cell.get("id")
        for cell in json.loads(prepared.read_text(encoding="utf-8"))["cells"]
        if "remove-cell" in cell["metadata"].get("tags", [])
    }
    removed = [
        cell
        for cell in cells
        if "remove-cell" in cell["metadata"].get("tags", []) and cell.get("id") not in tagged_before
    ]
    assert len(removed) == 1 and "injected-parameters" in removed[0]["metadata"]["tags"]
    assert 'PROFILE = "smoke"' in source(removed[0])
    untouched = (NOTEBOOKS / f"{CHAPTERS[0]}.ipynb").read_text(encoding="utf-8")
    assert extension.hide_injected_cells(untouched) == untouched
