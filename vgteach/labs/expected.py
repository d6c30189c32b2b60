"""The numbers the labs print, for the instructors' guide: computed, committed, and quoted by generated text.

    numbers = expected_numbers("book")      # trains what Labs 2 and 3 train (a few CPU minutes)
    write_expected(numbers)                 # vgteach/labs/expected_book.json, committed
    update_guide(guide_text)                # the guide's generated blocks, from that file and LABS

``vgteach lab expected`` does all three (``--no-train``: only the guide). The guide
(``book/instructors.md``) types none of these numbers: it holds *generated blocks*, each between
``<!-- generated: NAME -->`` and ``<!-- end generated: NAME -->``, whose text :func:`guide_blocks` writes —
the labs' costs (from :data:`~vgteach.labs.exercises.LABS`) and the expected numbers (from the committed
file). ``tests/test_editions.py`` checks that regenerating them changes nothing, and asserts the guide's
sentences about the numbers on the committed file.

The runs are those of the lab notebooks' cells, each distinct configuration trained once: Lab 2's two runs
are Lab 3's Contrastive and Triplet runs (``run_study`` builds its configurations as ``chapter_config``
does), and the knob's middle margin is Triplet's default. Lab 2's measurements are the library's versions
of the functions the students write, on the embeddings and the batch of the lab's solution cell.
"""

from __future__ import annotations

import json
import platform
import re
import textwrap
import time
from pathlib import Path

#: The committed expected numbers of the ``book`` profile (the one the labs run in by default).
EXPECTED_FILE = Path(__file__).with_name("expected_book.json")
#: Lab 3's study (its ``LOSSES``) and the knob its solution turns (Triplet's margin α, default 0.2).
STUDY_LOSSES = ("contrastive", "triplet", "infonce", "supcon")
KNOB_MARGINS = (0.05, 0.2, 0.8)
TRIPLET_MARGIN = 0.2
#: Lab 2's runs, and its GREEDINESS batch: the first ``PER_CLASS`` evaluation samples of every class.
LAB2_LOSSES = ("contrastive", "triplet")
PER_CLASS = 6
#: Lab 3's study table, as the lab prints it (``summary.set_index("loss")[columns].round(3)``).
STUDY_COLUMNS = ("recall@1", "map@r", "intra", "inter", "ratio", "active_ratio", "grad_gini")


# ---------------------------------------------------------------------------------------- computing
def expected_numbers(
    profile: str = "book", device: str = "cpu", losses=STUDY_LOSSES, margins=KNOB_MARGINS, progress: bool = False
) -> dict:
    """Train what Labs 2 and 3 train in ``profile`` and return the numbers their cells print.

    Parameters
    ----------
    profile : str
        ``"smoke"``, ``"book"`` (the labs' default) or ``"paper"``.
    device : str
        Where to train: ``"cpu"`` by default, as the guide quotes (another device or thread count can
        differ in the last digit).
    losses, margins : sequence
        Lab 3's study losses and the Triplet margins of its knob (fewer for a quick test). Lab 2's runs
        are the study's Contrastive and Triplet, so ``losses`` must hold both.
    progress : bool
        Print a line per training.

    Returns
    -------
    dict
        ``profile``, ``device``, ``versions``, ``cpu_seconds`` (per lab: the CPU time of the trainings the
        lab's cells run) and the three tables ``lab2_runs``, ``lab3_study``, ``lab3_knob`` as lists of rows,
        unrounded; JSON-ready (:func:`write_expected`).
    """
    from ..training import chapter_config, train

    losses = tuple(losses)
    margins = tuple(_margin(m) for m in margins)
    if not set(LAB2_LOSSES) <= set(losses):
        raise ValueError(f"losses must include Lab 2's runs {LAB2_LOSSES}, got {losses}")
    if not margins:
        raise ValueError("margins is empty: the knob needs at least one Triplet margin")
    jobs = [(loss, None) for loss in losses] + [("triplet", m) for m in margins if m != TRIPLET_MARGIN]
    runs, cpu = {}, {}
    for loss, margin in jobs:
        kwargs = {} if margin is None else {"margin": margin}
        if progress:
            print(f"training {loss}{f' {kwargs}' if kwargs else ''} in the {profile} profile …", flush=True)
        tic = time.process_time()
        runs[loss, margin] = train(
            chapter_config(profile, loss, device=device, keep_embeddings=True, loss_kwargs=kwargs), progress=False
        )
        cpu[loss, margin] = time.process_time() - tic

    def knob_key(margin):
        return ("triplet", None if margin == TRIPLET_MARGIN else margin)

    return {
        "profile": profile,
        "device": device,
        "versions": _versions(),
        "cpu_seconds": {
            "lab2_diagnostics": sum(cpu[loss, None] for loss in LAB2_LOSSES),
            "lab3_tradeoff": sum(cpu[loss, None] for loss in losses) + sum(cpu[knob_key(m)] for m in margins),
        },
        "lab2_runs": [lab2_row(loss, runs[loss, None]) for loss in LAB2_LOSSES],
        "lab3_study": [study_row(loss, runs[loss, None]) for loss in losses],
        "lab3_knob": [knob_row(m, runs[knob_key(m)]) for m in margins],
    }


def _margin(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"a Triplet margin is a positive number, got {value!r}")
    return float(value)


def _versions() -> dict:
    import torch

    from .. import __version__

    return {"vgteach": __version__, "torch": torch.__version__.split("+")[0], "python": platform.python_version()}


def lab2_row(loss: str, run) -> dict:
    """What Lab 2's solution cell prints for one run: its own measurements, then the run's history."""
    import torch

    from ..diagnostics import gini, per_sample_grad_norms, variance_stats
    from ..retrieval import retrieval_metrics

    labels = torch.as_tensor(run.eval_labels)
    final = torch.as_tensor(run.embeddings[max(run.embeddings)]).float()
    batch = torch.cat([torch.nonzero(labels == c).flatten()[:PER_CLASS] for c in labels.unique()])
    variance = variance_stats(final, labels)
    counts = _triplet_loss(TRIPLET_MARGIN).compute(final[batch], labels[batch])
    norms = per_sample_grad_norms(run.loss_fn, final[batch], labels[batch])
    last = run.history.iloc[-1]
    return {
        "loss": loss,
        "ratio": variance["intra"] / variance["inter"],
        "recall@1": retrieval_metrics(final, labels, ks=(1,), nmi=False)["recall@1"],
        "active_triplets": int(counts.num_active) / int(counts.num_terms),
        "gini": gini(norms),
        "history_ratio": float(last["ratio"]),
        "history_recall@1": float(last["recall@1"]),
    }


def _triplet_loss(margin: float):
    from ..losses import build_loss

    return build_loss("triplet", margin=margin)


def study_row(loss: str, run) -> dict:
    """One row of Lab 3's study table (the run's summary, as ``run_study`` writes it)."""
    return {"loss": loss, **{column: float(run.summary[column]) for column in STUDY_COLUMNS}}


def knob_row(margin: float, run) -> dict:
    """One row of the table of Lab 3's knob solution (Triplet at margin ``margin``)."""
    from ..training.speeds import convergence_epoch

    return {
        "margin": margin,
        "recall@1": float(run.summary["recall@1"]),
        "intra": float(run.summary["intra"]),
        "active_ratio": float(run.history["active_ratio"].iloc[-1]),
        "convergence_epoch": int(convergence_epoch(run.history)),
    }


def write_expected(numbers: dict, path=EXPECTED_FILE) -> Path:
    """Write ``numbers`` (:func:`expected_numbers`) as indented JSON; returns the path."""
    path = Path(path)
    path.write_text(json.dumps(numbers, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_expected(path=EXPECTED_FILE) -> dict:
    """The committed expected numbers (:data:`EXPECTED_FILE`)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------------- the guide
#: The guide's line width (its hand-written paragraphs wrap there too).
GUIDE_WIDTH = 105


def _paragraph(text: str) -> str:
    return textwrap.fill(text, GUIDE_WIDTH, break_long_words=False, break_on_hyphens=False)


def _table(header: tuple, rows: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _minutes(seconds: float) -> str:
    """A compute time as the guide says it: "under a minute", "about a minute", "about 3 minutes"."""
    minutes = round(seconds / 60)
    if seconds < 45:
        return "under a minute"
    return "about a minute" if minutes <= 1 else f"about {minutes} minutes"


#: Small counts as the guide's prose writes them.
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _word(count: int) -> str:
    return WORDS[count] if 0 <= count < len(WORDS) else str(count)


def _hours(minutes: int) -> str:
    """Student time in words, to the half hour: "about five and a half hours"."""
    whole, half = divmod(round(minutes / 30), 2)
    if whole == 0:
        return "about half an hour"
    return f"about {_word(whole)}{' and a half' if half else ''} hour{'s' if whole + half > 1 else ''}"


def costs_block(numbers: dict) -> str:
    """The guide's "What the labs cost": per lab, teaching and exercise minutes, the compute among them,
    the points; and what they add up to."""
    from .exercises import LABS

    rows = []
    for lab in LABS.values():
        stretch = sum(exercise.minutes for exercise in lab.exercises if exercise.stretch)
        minutes = f"{lab.exercise_minutes} min" + (
            f" ({lab.exercise_minutes - stretch} without the stretch goal)" if stretch else ""
        )
        cpu = numbers["cpu_seconds"].get(lab.name)
        compute = _minutes(cpu) if cpu is not None else _minutes(0)
        code = sum(test.points for exercise in lab.exercises for test in exercise.tests)
        written = sum(exercise.written for exercise in lab.exercises)
        rows.append((lab.title, f"{lab.teaching} min", minutes, compute, f"{code:g} + {written:g}"))
    table = _table(("lab", "teaching", "exercises", "of which compute", "points: code + written"), rows)
    total = sum(lab.teaching + lab.exercise_minutes for lab in LABS.values())
    sessions = len(LABS)
    verdict = "fit" if total <= sessions * 90 else "do **not** fit"
    together = (
        f"Together that is {_hours(total)} of student work: {_word(sessions)} labs {verdict} "
        f"{_word(sessions)} 90-minute sessions."
    )
    return f"{table}\n\n{_paragraph(together)}"


def expected_block(numbers: dict) -> str:
    """The guide's "Expected numbers": the tables the instructor edition prints, from ``numbers``."""
    versions = numbers["versions"]
    lab2 = [
        (
            row["loss"],
            f"{row['ratio']:.3f}",
            f"{row['recall@1']:.3f}",
            f"{row['active_triplets']:.3f}",
            f"{row['gini']:.3f}",
        )
        for row in numbers["lab2_runs"]
    ]
    study = [(row["loss"], *(f"{row[c]:.3f}" for c in STUDY_COLUMNS)) for row in numbers["lab3_study"]]
    knob = [
        (
            f"{row['margin']:g}",
            f"{row['recall@1']:.3f}",
            f"{row['intra']:.3f}",
            f"{row['active_ratio']:.3f}",
            row["convergence_epoch"],
        )
        for row in numbers["lab3_knob"]
    ]
    return "\n\n".join(
        [
            _paragraph(
                f"Computed by `vgteach lab expected` in the `{numbers['profile']}` profile on the "
                f"{numbers['device'].upper()} (vgteach {versions['vgteach']}, PyTorch {versions['torch']}); "
                "another machine, version or thread count can differ in the last digit — running the "
                "instructor edition prints yours."
            ),
            _paragraph(
                f"**Lab 2, {{ref}}`lab2-runs`** (the final evaluation embeddings; for the last two a "
                f"class-balanced batch, {PER_CLASS} samples a class):"
            ),
            _table(("loss", "intra/inter", "R@1", "active triplets", "Gini"), lab2),
            "**Lab 3, the study** (one seed; `summary` of `run_study`):",
            _table(("loss", "R@1", "MAP@R", "intra", "inter", "ratio", "active ratio", "Gini"), study),
            "**Lab 3, {ref}`lab3-knob`** (the solution's knob, the triplet margin):",
            _table(("margin", "R@1", "intra", "active ratio", "convergence epoch"), knob),
        ]
    )


def guide_blocks(numbers: dict) -> dict:
    """Name -> text of every generated block of the guide."""
    return {"costs": costs_block(numbers), "expected-numbers": expected_block(numbers)}


def _block_pattern(name: str) -> re.Pattern:
    """A generated block: its opening comment line, its text, its closing comment line."""
    name = re.escape(name)
    return re.compile(rf"(^<!-- generated: {name}\b[^\n]*-->\n)(.*?)(^<!-- end generated: {name} -->$)", re.S | re.M)


def update_guide(text: str, numbers: dict | None = None) -> str:
    """``text`` (the guide) with every generated block rewritten from ``numbers`` (default: the committed
    file). ``ValueError`` when a block's markers are missing."""
    numbers = read_expected() if numbers is None else numbers
    for name, block in guide_blocks(numbers).items():
        pattern = _block_pattern(name)
        if not pattern.search(text):
            raise ValueError(
                f"the guide has no generated block {name!r}: '<!-- generated: {name} … -->' … "
                f"'<!-- end generated: {name} -->'"
            )
        text = pattern.sub(lambda match, block=block: f"{match.group(1)}\n{block}\n\n{match.group(3)}", text)
    return text
