"""Score the paper's claims against a study's results, seed by seed and loss pair by loss pair (DESIGN.md §5).

Zeng et al. (ICASSP 2026) state their findings in words. Each :class:`Claim` turns one of their sentences
into a *direction on one measurement between two groups of losses*: "``column`` is larger for the losses
``high`` than for the losses ``low``" (e.g. ``intra``: {triplet, supcon} > {contrastive, infonce}). A claim
about one loss (N-pair's uneven spacing) compares it with *every* other loss. :data:`CLAIMS` is the one list
of the paper's claims; everything else (the findings of :func:`vgteach.results.findings`, the book's
reproduction chapter) is generated from it.

It is scored on every seed and on every **cross pair** (one loss from each side), not only on the group
means, so that a single loss cannot carry a group (:func:`score_claims`):

- ``reproduced``      the direction holds for every cross pair in every seed, **and** the group difference
                      (mean over seeds of mean(high) − mean(low)) exceeds 2× the pooled seed standard
                      deviation of the losses involved;
- ``mixed``           the group direction holds in every seed, but some cross pair does not (it reverses,
                      or ties) in some seed — the ``reversed pairs`` column names them;
- ``not reproduced``  the group direction reverses in every seed;
- ``no difference``   the two group means are equal in every seed (the measurement cannot separate them);
- ``inconclusive``    anything else: the seeds disagree, or every pair holds but the effect is within the
                      seed-to-seed noise (with a single seed the noise is unknown, so nothing is reproduced);
- ``not testable``    the summary lacks the claim's column (results written before it existed: regenerate
                      them) or one of its losses, or a value is missing; the ``evidence`` column says which.

**Signed compaction** (DESIGN §3). A run whose intra does not fall (``intra_change`` ≥ 0) does not compact:
it has no ``compaction_epoch`` (NaN) and counts as **+∞**, slower than any run that compacts. The claim knows
it (``Claim.never_when = "intra_change"``), and the sign is recomputed from ``intra_change`` for summaries
written before compaction was signed. Every comparison treats +∞ as the limit of an ever larger number M:

- a cross pair: +∞ beats any finite epoch, and two +∞ tie (so a pair does not hold where the loss said to
  compact quickly does not compact at all: a loss that spreads its classes never holds "compacts quickly");
- a group mean with k of its n losses at +∞ is ``(k/n)·M + (mean of the finite part)``, so the side with the
  larger share of non-compacting runs is the slower one, whatever the epochs; with equal shares the finite
  epochs decide;
- the effect test compares growth rates: the effect grows like ``c·M`` (c: the mean share of +∞ runs per
  seed, high minus low side) and twice the pooled seed std like ``2·sqrt(A)·M`` (A: the pooled seed variance
  of the per-run indicator "does not compact"), so the effect exceeds the noise when c > 2·sqrt(A) — when
  which losses compact does not depend on the seed; the ``effect`` column is then ±inf and the evidence
  gives c and 2·sqrt(A).

The change claims ("Contrastive and InfoNCE compact embeddings": ``intra_change``, ``ratio_change``) also
need the losses said to compact to compact (``Claim.low_negative``): a pair holds only where the low loss's
change is negative, so a loss whose intra rises cannot hold "compacts" on the absolute reading.

**Two readings of "compact"** (DESIGN §5). An untrained head on uncentred features bunches the whole cloud
around one direction (small intra *and* small inter), so a rising intra can still be a falling ratio. The
compaction claims are scored on both readings — absolute (``intra``, ``intra_change``, ``compaction_epoch``)
and relative to the spread of the class means (``ratio``, ``ratio_change``, ``ratio_compaction_epoch``) —
and the scored table's ``reading kind`` column says which each verdict uses. The trade-off's parts
(:data:`GRANULARITY`, :data:`EFFICIENCY`) are the paper's own, absolute reading.

**Protocols** (DESIGN §4). Under ``coarse-to-fine`` (trained on superclasses, measured on the fine labels)
and ``zero-shot`` (measured on unseen classes) the granularity claims read differently (:meth:`Claim.on`:
"R@1 on the fine labels", "on the unseen classes"), and their evidence says that CIFAR-10's fine labels and
unseen classes are still not a fine-grained set such as CUB-200 or Cars196. :func:`score_studies` scores
every claim on every study under its protocol in one long table.

**Robustness** (:func:`score_robustness`): each claim's verdict at every grid point of the main
hyper-parameters (``setting``: low, default, high) and ``robust`` or the setting that flips it.
**Transfer** (:func:`transfer_correlations`): Spearman ρ between the training split's VARIANCE and zero-shot
retrieval across runs, with a bootstrap interval over losses, against Roth et al. (ICML 2020).

    from vgteach.reproduction import score_claims
    table = score_claims(pd.read_csv("results/cifar10-efficientnet_lite0/summary.csv"))

One job per module: :mod:`.claims` (the claims), :mod:`.scoring` (one study's verdicts), :mod:`.robustness`,
:mod:`.transfer`, :mod:`.studies` (every study).
"""

from .claims import (
    CLAIMS,
    COMPACTING,
    EFFICIENCY,
    FINE_GRAINED_DATASETS,
    GRANULAR,
    GRANULARITY,
    NEVER,
    PROTOCOLS,
    READING_KINDS,
    TRADE_OFF_PARTS,
    Claim,
)
from .robustness import SETTINGS, score_robustness
from .scoring import (
    TIE_TOLERANCE,
    VERDICTS,
    claim_table,
    decide,
    failing_pairs,
    mean_std,
    pooled_std,
    score_claims,
    seeds_text,
    sign,
    validate_summary,
)
from .studies import STUDY_COLUMNS, score_studies
from .transfer import ROTH, TRANSFER_MEASURES, TRANSFER_TARGETS, transfer_correlations

__all__ = [
    "CLAIMS",
    "COMPACTING",
    "EFFICIENCY",
    "FINE_GRAINED_DATASETS",
    "GRANULAR",
    "GRANULARITY",
    "NEVER",
    "PROTOCOLS",
    "READING_KINDS",
    "ROTH",
    "SETTINGS",
    "STUDY_COLUMNS",
    "TIE_TOLERANCE",
    "TRADE_OFF_PARTS",
    "TRANSFER_MEASURES",
    "TRANSFER_TARGETS",
    "VERDICTS",
    "Claim",
    "claim_table",
    "decide",
    "failing_pairs",
    "mean_std",
    "pooled_std",
    "score_claims",
    "score_robustness",
    "score_studies",
    "seeds_text",
    "sign",
    "transfer_correlations",
    "validate_summary",
]
