"""The three labs' exercises as a course needs them: order, minutes, points, hints and the hidden tests.

One :class:`Lab` per lab notebook (``notebooks/<name>.ipynb``), its :class:`Exercise` s in the notebook's
order (``Exercise n`` in every edition, and ``hint(n)``). An exercise is graded two ways:

* its **hidden tests** (:class:`HiddenTest`): a check of :mod:`vgteach.labs` run by ``vgteach lab grade`` on
  the student's function, on batches drawn with a fresh seed, worth ``points``; the function may not call
  what it is asked to write (``forbidden``: modules, or single functions as ``"module:name"``);
* its **written part**, ``written`` points graded by hand with ``rubric``.

The minutes are what a student needs (reading, writing, running), measured compute included; the
lab notebooks' front matter and the instructors' guide quote them (``tests/test_editions.py`` checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .lab1_losses import DISTANCES_HINT, LOSS_HINTS
from .lab2_diagnostics import ACTIVE_HINT, GINI_HINT, GRAD_NORMS_HINT, RECALL_HINT, VARIANCE_HINT
from .lab3_tradeoff import COMPACTION_HINT, CONVERGENCE_HINT

#: What a loss exercise may not call: the library's losses (and what they are built from).
LOSSES = ("vgteach.losses",)
#: What a diagnostic may not call: the library's diagnostics and retrieval.
DIAGNOSTICS = ("vgteach.diagnostics", "vgteach.retrieval")


@dataclass(frozen=True)
class HiddenTest:
    """One auto-graded part: ``check(student's function, **kwargs)`` under a fresh seed, worth ``points``."""

    function: str  # the name the student's function has in the notebook
    check: str  # a check of vgteach.labs, by name
    points: float
    kwargs: dict = field(default_factory=dict)

    @property
    def description(self) -> str:
        arguments = "".join(f", {key}={value!r}" for key, value in self.kwargs.items())
        return f"{self.check}({self.function}{arguments})"


@dataclass(frozen=True)
class Exercise:
    """One exercise of a lab (see the module docstring)."""

    label: str  # the {exercise}'s :label: in the lab notebook
    title: str
    minutes: int  # student time, compute included
    hint: str  # what hint(n) prints
    tests: tuple = ()  # HiddenTest, …
    written: float = 0  # points graded by hand
    rubric: str = ""  # what the written part is graded on
    forbidden: tuple = ()  # modules / "module:function" the graded functions may not call
    homework: bool = False  # in the one-session track: done after class
    stretch: bool = False

    @property
    def points(self) -> float:
        return sum(test.points for test in self.tests) + self.written

    @property
    def functions(self) -> tuple:
        return tuple(dict.fromkeys(test.function for test in self.tests))


@dataclass(frozen=True)
class Lab:
    """One lab notebook: its exercises in order, and its teaching minutes and measured compute."""

    name: str  # notebooks/<name>.ipynb
    title: str
    teaching: int  # minutes of explanation and discussion led by the instructor
    compute: int  # minutes the machine works (book profile, 2 CPU cores), already inside the exercise minutes
    exercises: tuple

    @property
    def exercise_minutes(self) -> int:
        return sum(exercise.minutes for exercise in self.exercises)

    @property
    def points(self) -> float:
        return sum(exercise.points for exercise in self.exercises)

    def number(self, label: str) -> int:
        """``n`` of ``Exercise n`` for a label."""
        for number, exercise in enumerate(self.exercises, start=1):
            if exercise.label == label:
                return number
        raise KeyError(f"{self.name} has no exercise {label!r}")


LAB1 = Lab(
    "lab1_losses",
    "Lab 1: losses from scratch",
    teaching=15,
    compute=1,
    exercises=(
        Exercise(
            "lab1-distances",
            "Squared distances",
            10,
            DISTANCES_HINT,
            (HiddenTest("my_squared_distances", "check_squared_distances", 1),),
            forbidden=LOSSES + ("torch.functional:cdist",),
        ),
        Exercise(
            "lab1-contrastive",
            "Contrastive loss",
            20,
            LOSS_HINTS["contrastive"],
            (HiddenTest("my_contrastive", "check_contrastive", 2),),
            forbidden=LOSSES,
        ),
        Exercise(
            "lab1-triplet",
            "Batch-all triplet loss",
            25,
            LOSS_HINTS["triplet"],
            (HiddenTest("my_triplet", "check_triplet", 2),),
            forbidden=LOSSES,
            homework=True,
        ),
        Exercise(
            "lab1-infonce",
            "Supervised InfoNCE",
            25,
            LOSS_HINTS["infonce"],
            (HiddenTest("my_infonce", "check_infonce", 2),),
            forbidden=LOSSES,
            homework=True,
        ),
        Exercise(
            "lab1-supcon",
            "SupCon (stretch)",
            25,
            LOSS_HINTS["supcon"] + " For the question: the positives of an anchor share one softmax.",
            (HiddenTest("my_supcon", "check_supcon", 2),),
            written=1,
            rubric="the smallest value is log |P(i)|, with the reason: the positives' probabilities sum to at "
            "most 1, so the mean of their logs is at most log(1/|P(i)|).",
            forbidden=LOSSES,
            homework=True,
            stretch=True,
        ),
    ),
)

LAB2 = Lab(
    "lab2_diagnostics",
    "Lab 2: measuring geometry and greediness",
    teaching=10,
    compute=1,
    exercises=(
        Exercise(
            "lab2-variance",
            "Intra- and inter-class variance",
            15,
            VARIANCE_HINT,
            (HiddenTest("my_variance", "check_variance", 2),),
            forbidden=DIAGNOSTICS,
        ),
        Exercise(
            "lab2-recall",
            "Recall@K",
            15,
            RECALL_HINT,
            (
                HiddenTest("my_recall_at_k", "check_recall_at_k", 1, {"k": 1}),
                HiddenTest("my_recall_at_k", "check_recall_at_k", 1, {"k": 4}),
            ),
            forbidden=DIAGNOSTICS,
            homework=True,
        ),
        Exercise(
            "lab2-active",
            "Counting active triplets",
            15,
            ACTIVE_HINT,
            (HiddenTest("my_triplet_counts", "check_triplet_active", 2),),
            written=1,
            rubric="an anchor with |P(a)| positives and |N(a)| negatives has |P(a)|·|N(a)| valid triplets.",
            forbidden=LOSSES + DIAGNOSTICS,
            homework=True,
        ),
        Exercise(
            "lab2-grads",
            "Per-sample gradient norms",
            10,
            GRAD_NORMS_HINT,
            (HiddenTest("my_grad_norms", "check_grad_norms", 2),),
            forbidden=DIAGNOSTICS,  # the loss itself is given: calling it is the exercise
            homework=True,
        ),
        Exercise(
            "lab2-gini",
            "The Gini coefficient",
            10,
            GINI_HINT,
            (HiddenTest("my_gini", "check_gini", 2),),
            forbidden=DIAGNOSTICS,
        ),
        Exercise(
            "lab2-runs",
            "Contrastive against triplet",
            25,
            "the cell above trained both losses: run.eval_labels and run.embeddings[max(run.embeddings)] are the "
            "final evaluation embeddings; take 6 samples per class for the batch of 60, and call your own "
            "my_variance, my_recall_at_k, my_triplet_counts, my_grad_norms (with run.loss_fn) and my_gini.",
            written=3,
            rubric="1 point: the four measurements made with the student's own functions for both losses; "
            "1 point: they agree with the runs' history (intra/inter ratio, R@1) to the printed digits; "
            "1 point: a correct reading (the classes of the contrastive run are tighter, the triplet run has the "
            "higher Gini: few but large updates), or an honest note where the numbers say otherwise.",
            homework=True,
        ),
    ),
)

LAB3 = Lab(
    "lab3_tradeoff",
    "Lab 3: the trade-off, hands on",
    teaching=10,
    compute=3,
    exercises=(
        Exercise(
            "lab3-predict",
            "Predictions",
            10,
            "read the gradients of the loss chapters: which losses pull every positive pair all the time, "
            "which ones stop once a margin or a floor is reached?",
            written=2,
            rubric="graded on the reasoning, not on being right: 0.5 point per prediction with a reason drawn "
            "from the losses' gradients.",
            homework=True,
        ),
        Exercise(
            "lab3-epochs",
            "Convergence and compaction epochs",
            20,
            "convergence: " + CONVERGENCE_HINT + " Compaction: " + COMPACTION_HINT,
            (
                HiddenTest("my_convergence_epoch", "check_convergence_epoch", 2),
                HiddenTest("my_compaction_epoch", "check_compaction_epoch", 2),
            ),
            forbidden=("vgteach.training.speeds",),
        ),
        Exercise(
            "lab3-plot",
            "Plot the trade-off",
            25,
            "history[history['loss'] == name] is one loss's run; drop the rows without 'intra' (epochs that "
            "were not evaluated) before plotting; axvline marks an epoch.",
            written=3,
            rubric="1 point: intra against the epoch for the four losses, compaction epochs marked; 1 point: "
            "the trade-off scatter (an efficiency axis against final intra), labelled; 1 point: the predictions "
            "compared with it in a sentence or two.",
            homework=True,
        ),
        Exercise(
            "lab3-knob",
            "Temperature or margin",
            30,
            "chapter_config(PROFILE, 'triplet', …, loss_kwargs={'margin': 0.05}) and train(config, "
            "progress=False); three values spread by a factor of 4 or more move the run visibly.",
            written=3,
            rubric="1 point: three runs of one knob with the four measurements tabulated; 1 point: the table "
            "read correctly; 1 point: an answer to whether the knob moves the loss to another loss's place, "
            "with the numbers.",
            homework=True,
        ),
        Exercise(
            "lab3-verdict",
            "Verdict on a claim",
            20,
            "five sentences: the measurement, your numbers, holds or not here, why it could differ on a "
            "fine-grained dataset, what you would run next.",
            written=4,
            rubric="1 point each: the right measurement for the claim; the student's own numbers; a verdict "
            "that follows from them; a credible next step (more seeds, epochs, another dataset) with its reason.",
            homework=True,
        ),
    ),
)

#: The labs, in course order, by notebook name.
LABS = {lab.name: lab for lab in (LAB1, LAB2, LAB3)}


def get_lab(name: str) -> Lab:
    """The :class:`Lab` of a lab notebook's name (``"lab1_losses"``; ``"lab1"`` and ``1`` work too)."""
    for number, lab in enumerate(LABS.values(), start=1):
        if str(name) in (lab.name, lab.name.split("_")[0], str(number)):
            return lab
    raise ValueError(f"unknown lab {name!r}; valid: {', '.join(LABS)}")
