r"""Self-checks for the book's labs: compare a student's function with vgteach on random batches.

Every ``check_*`` function calls the student's function on a fixed set of small random batches (with a
few awkward ones at the end: embeddings that are not unit-length, a class with a single sample, a batch
without negatives, one without positives), compares the result with the library's, and returns a
:class:`CheckResult`: truthy when everything matched, and printed as a short, friendly message that says
*which* batch failed, what was expected, and what usually causes that mistake.

>>> from vgteach.labs import check_contrastive
>>> def my_contrastive(embeddings, labels, margin=1.0):
...     ...                                   # the student's code
>>> check_contrastive(my_contrastive)         # ✅ or ❌ with a hint

Loss checks compare both the value and the gradient ∂L/∂e (autograd through the student's code), in
float64, so a loss that is right "on paper" but cuts the gradient (``.item()``, NumPy) is caught too.
The definitions checked against are those of DESIGN.md §2–3 (the project's reading of Zeng et al.,
"Variance & Greediness", ICASSP 2026).

The package, in reading order:

* :mod:`~vgteach.labs.kit`: :class:`CheckResult`, the ``@grader`` decorator, the one call into student
  code (``call_student``), the comparisons and the shared messages;
* :mod:`~vgteach.labs.batches`: the random batches (:func:`make_cases`) and the seed they are drawn with;
* :mod:`~vgteach.labs.lab1_losses`, :mod:`~vgteach.labs.lab2_diagnostics`, :mod:`~vgteach.labs.lab3_tradeoff`:
  the checks of each lab (Lab 1's loss checks also grade the loss chapters' "write the loss" exercises);
* :mod:`~vgteach.labs.pair_chapters`, :mod:`~vgteach.labs.proxy_chapters`: the prediction and reasoning
  exercises of the loss chapters; :mod:`~vgteach.labs.tradeoff_chapter`: those of the trade-off chapter.

For courses (``vgteach lab student|instructor|grade``, see the instructors' guide):

* :mod:`~vgteach.labs.exercises`: the labs' exercises in order, their minutes, points, hints and hidden
  tests; :mod:`~vgteach.labs.hints`: ``hint = hints("lab1_losses")``, then ``hint(2)``;
* :mod:`~vgteach.labs.grade` runs submissions (each through :mod:`~vgteach.labs.sandbox`, with the hidden
  tests of :mod:`~vgteach.labs.hidden` and the library-call watch of :mod:`~vgteach.labs.watch`) into a CSV.
* :mod:`~vgteach.labs.expected`: the numbers the labs print in the ``book`` profile, committed, and the
  guide's tables written from them (``vgteach lab expected``).
"""

# LOSS_NAMES, build_loss, the tolerances, the messages and LOSS_HINTS stay importable from vgteach.labs, as
# before the split (tests use them), without joining __all__: hence the noqa
from ..losses import LOSS_NAMES, build_loss  # noqa: F401
from .batches import Case, make_cases, seeded
from .hints import hints
from .kit import ATOL, NOT_ANSWERED, NOT_WRITTEN, RTOL, CheckResult  # noqa: F401
from .lab1_losses import (
    LOSS_HINTS,  # noqa: F401
    check_arcface,
    check_ccl,
    check_contrastive,
    check_infonce,
    check_loss,
    check_npair,
    check_squared_distances,
    check_supcon,
    check_triplet,
)
from .lab2_diagnostics import check_gini, check_grad_norms, check_recall_at_k, check_triplet_active, check_variance
from .lab3_tradeoff import check_compaction_epoch, check_convergence_epoch
from .pair_chapters import TERM_KEYS, check_active_prediction, check_gradient_prediction, term_keys
from .proxy_chapters import (
    FLOOR_BATCHES,
    PUSH_BATCHES,
    arcface_silent_angle,
    ccl_gradient_parts,
    check_floors,
    check_no_collapse,
    check_pull_dominates,
    check_pushed_positives,
    check_silent_angle,
    pushed_positives,
)
from .tradeoff_chapter import check_spearman_by_hand, check_transfer_prediction

__all__ = [
    "CheckResult",
    "Case",
    "make_cases",
    "seeded",
    "hints",
    "check_loss",
    "check_contrastive",
    "check_triplet",
    "check_npair",
    "check_infonce",
    "check_arcface",
    "check_supcon",
    "check_ccl",
    "check_squared_distances",
    "check_variance",
    "check_recall_at_k",
    "check_triplet_active",
    "check_grad_norms",
    "check_gini",
    "check_convergence_epoch",
    "check_compaction_epoch",
    "TERM_KEYS",
    "term_keys",
    "check_active_prediction",
    "check_gradient_prediction",
    "arcface_silent_angle",
    "check_silent_angle",
    "FLOOR_BATCHES",
    "check_floors",
    "check_no_collapse",
    "PUSH_BATCHES",
    "pushed_positives",
    "check_pushed_positives",
    "ccl_gradient_parts",
    "check_pull_dominates",
    "check_transfer_prediction",
    "check_spearman_by_hand",
]
