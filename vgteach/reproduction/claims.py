"""The paper's claims, written once: :class:`Claim` and :data:`CLAIMS` (Zeng et al., ICASSP 2026).

Each claim is one sentence of the paper read as a direction on one measurement between two groups of losses.
A claim about compacting names the *reading* of "compact" it uses (``reading_kind``): ``"absolute"``
(``intra``, ``intra_change``, ``compaction_epoch``) or ``"relative"`` to the spread of the class means
(``ratio``, ``ratio_change``, ``ratio_compaction_epoch``); both readings are in :data:`CLAIMS` (DESIGN §5).
A claim may read differently under a protocol (``protocols``; :meth:`Claim.on`): on ``coarse-to-fine``
the R@1 claim is about the fine labels the head never trained on, on ``zero-shot`` about unseen classes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

GRANULAR = ("triplet", "supcon")  # "Triplet and SCL preserve higher within-class variance"
COMPACTING = ("contrastive", "infonce")  # "Contrastive and InfoNCE compact embeddings ... quickly"
#: the two sides of the paper's efficiency–granularity trade-off (``Claim.part``; ``""``: not part of it)
TRADE_OFF_PARTS = ("", "granularity", "efficiency")
#: the two readings of "compact" (``Claim.reading_kind``; ``""``: the claim is not about compacting)
READING_KINDS = ("", "absolute", "relative")
#: the study protocols (DESIGN §4) and what every measure of a study is computed on under each
PROTOCOLS = {
    "closed": "trained and evaluated on the same classes",
    "zero-shot": "trained on some classes, every measure on the other classes: classes the head never saw",
    "coarse-to-fine": "trained on superclass labels, every measure on the fine labels inside them",
}
#: datasets whose classes are fine-grained: no caveat that a protocol is "still not fine-grained"
FINE_GRAINED_DATASETS = ("cub200", "cars196")
#: how a run that never compacts (its change ≥ 0) is described in the evidence; it counts as +∞
NEVER = "does not compact"


@dataclass(frozen=True)
class Claim:
    """One sentence of the paper as "``column`` is larger for every loss of ``high`` than for every loss
    of ``low``".

    Parameters
    ----------
    sentence : str
        The paper's words.
    column : str
        The summary column (one value per loss and seed).
    high, low : tuple of str
        The losses said to have the larger and the smaller value; ``low=None``: every other loss in the
        summary (single-loss claims).
    reading : str
        How the sentence becomes that direction.
    part : str
        ``"granularity"`` or ``"efficiency"`` for the claims whose conjunction is the paper's trade-off
        (``""`` for the others; the trade-off is read on the absolute reading, the paper's own).
    reading_kind : str
        The reading of "compact" the claim uses: ``"absolute"``, ``"relative"`` or ``""`` (not about it).
    never_when : str
        A change column (``"intra_change"``): a run whose change is ≥ 0 does not compact, so it has no value
        of ``column`` (a compaction epoch) and counts as **+∞** — slower than any run that compacts. A missing
        value of ``column`` counts as +∞ too when ``never_when`` says the run does not compact (or is absent).
    low_negative : bool
        The losses of ``low`` are said to compact: a cross pair holds only where the low loss's value is
        negative (a loss whose intra rises never holds "compacts", whatever the other side does).
    protocols : tuple of (protocol, reading, caveat)
        How the claim reads under a protocol other than ``closed`` (:meth:`on`); the caveat is appended to
        the evidence unless the dataset is fine-grained (:data:`FINE_GRAINED_DATASETS`).
    caveat : str
        Appended to the evidence of every verdict of the claim (set by :meth:`on`).
    """

    sentence: str
    column: str
    high: tuple
    low: Optional[tuple] = None
    reading: str = ""
    part: str = ""
    reading_kind: str = ""
    never_when: str = ""
    low_negative: bool = False
    protocols: tuple = ()
    caveat: str = ""

    def __post_init__(self):
        if self.part not in TRADE_OFF_PARTS:
            raise ValueError(f"part must be one of {TRADE_OFF_PARTS}, got {self.part!r}")
        if self.reading_kind not in READING_KINDS:
            raise ValueError(f"reading_kind must be one of {READING_KINDS}, got {self.reading_kind!r}")
        for entry in self.protocols:
            if len(entry) != 3 or entry[0] not in PROTOCOLS:
                raise ValueError(f"protocols holds (protocol, reading, caveat) with a protocol of {tuple(PROTOCOLS)}")

    def sides(self, losses) -> tuple:
        """``(high, low)`` for a summary holding ``losses`` (``low=None`` resolved to every other loss)."""
        low = self.low if self.low is not None else tuple(name for name in losses if name not in self.high)
        return tuple(self.high), tuple(low)

    def measurement(self, losses) -> str:
        high, low = self.sides(losses)
        return f"{self.column}: {', '.join(high)} > {', '.join(low) if self.low else 'each of ' + ', '.join(low)}"

    def on(self, protocol: str, dataset: Optional[str] = None) -> "Claim":
        """The claim as it reads on a study of ``protocol`` (``"closed"``: itself) on ``dataset``."""
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {tuple(PROTOCOLS)}, got {protocol!r}")
        for name, reading, caveat in self.protocols:
            if name == protocol:
                fine = dataset is not None and str(dataset).lower() in FINE_GRAINED_DATASETS
                return replace(self, reading=reading, caveat="" if fine else caveat)
        return self


_ON_FINE = (
    "coarse-to-fine is still not a fine-grained test: its fine labels are everyday object categories "
    "(CIFAR-10's ten), not the bird species or car models of CUB-200 and Cars196"
)
_ON_UNSEEN = (
    "zero-shot is still not a fine-grained test: the unseen classes are everyday object categories "
    "(CIFAR-10's), not the bird species or car models of CUB-200 and Cars196"
)

#: the paper's claims (sentences of its abstract, arXiv 2601.21450), written once
CLAIMS = (
    Claim(
        "Triplet and SCL preserve higher within-class variance",
        "intra",
        GRANULAR,
        COMPACTING,
        "final intra-class variance",
        part="granularity",
        reading_kind="absolute",
    ),
    Claim(
        "Triplet and SCL preserve higher within-class variance",
        "ratio",
        GRANULAR,
        COMPACTING,
        "final intra/inter: within-class variance relative to the spread of the class means",
        reading_kind="relative",
    ),
    Claim(
        "[Triplet and SCL preserve] clearer inter-class margins",
        "centroid_dist_min",
        GRANULAR,
        COMPACTING,
        "the smallest distance between two class centroids: the tightest margin",
    ),
    Claim(
        "leading to stronger top-1 retrieval in fine-grained settings",
        "recall@1",
        GRANULAR,
        COMPACTING,
        "final R@1 (our data are coarse-grained: a weaker test of the same statement)",
        protocols=(
            (
                "coarse-to-fine",
                "final R@1 on the fine labels after training on the superclasses: distinctions finer than "
                "any the head was taught",
                _ON_FINE,
            ),
            ("zero-shot", "final R@1 on the classes the head never saw", _ON_UNSEEN),
        ),
    ),
    Claim(
        "Contrastive and InfoNCE compact embeddings",
        "intra_change",
        GRANULAR,
        COMPACTING,
        "intra at the end minus at epoch 0: more negative = compacted more; contrastive and infonce must "
        "compact (a negative change)",
        reading_kind="absolute",
        low_negative=True,
    ),
    Claim(
        "Contrastive and InfoNCE compact embeddings",
        "ratio_change",
        GRANULAR,
        COMPACTING,
        "intra/inter at the end minus at epoch 0: more negative = compacted more relative to the class "
        "means; contrastive and infonce must compact (a negative change)",
        reading_kind="relative",
        low_negative=True,
    ),
    Claim(
        "Contrastive and InfoNCE compact embeddings ... quickly",
        "compaction_epoch",
        GRANULAR,
        COMPACTING,
        "first epoch within 10 % of intra's total fall: later = slower; a run whose intra does not fall "
        "does not compact and counts as slower than any run that does (+∞)",
        part="efficiency",
        reading_kind="absolute",
        never_when="intra_change",
    ),
    Claim(
        "Contrastive and InfoNCE compact embeddings ... quickly",
        "ratio_compaction_epoch",
        GRANULAR,
        COMPACTING,
        "the same on intra/inter: first epoch within 10 % of its total fall; a run whose ratio does not "
        "fall counts as slower than any run whose ratio does (+∞)",
        reading_kind="relative",
        never_when="ratio_change",
    ),
    Claim(
        "through many small updates",
        "effective_active_ratio",
        COMPACTING,
        GRANULAR,
        "many: the effective share of pairs that carry the update",
    ),
    Claim(
        "through many small updates",
        "grad_gini",
        GRANULAR,
        COMPACTING,
        "small: an even spread of per-sample gradient norms (low Gini)",
    ),
    Claim(
        "accelerating convergence",
        "convergence_epoch",
        GRANULAR,
        COMPACTING,
        "first epoch with 90 % of the run's R@1 gain: later = slower",
        part="efficiency",
    ),
    Claim(
        "accelerating convergence",
        "map_convergence_epoch",
        GRANULAR,
        COMPACTING,
        "the same on MAP@R, which still moves where R@1 starts high",
        part="efficiency",
    ),
    Claim(
        "but potentially oversimplifying class structures",
        "within_class_rank",
        GRANULAR,
        COMPACTING,
        "effective rank of each class's centred embeddings: its dimensionality",
        part="granularity",
        protocols=(
            (
                "coarse-to-fine",
                "effective rank of each fine class's centred embeddings after training on the superclasses: "
                "how much structure a loss keeps inside the classes it was told to merge",
                _ON_FINE,
            ),
            (
                "zero-shot",
                "effective rank of each unseen class's centred embeddings: how many dimensions the head "
                "keeps for classes it never saw",
                _ON_UNSEEN,
            ),
        ),
    ),
    Claim(
        "N-pair achieves a large mean separation",
        "centroid_dist_mean",
        ("npair",),
        None,
        "mean distance between class centroids, against every other loss",
    ),
    Claim(
        "but with uneven spacing",
        "centroid_dist_cv",
        ("npair",),
        None,
        "coefficient of variation of the centroid distances, against every other loss",
    ),
)

#: the columns of the trade-off's claims: granularity (kept structure) and efficiency (speed), from CLAIMS
GRANULARITY = tuple(claim.column for claim in CLAIMS if claim.part == "granularity")
EFFICIENCY = tuple(claim.column for claim in CLAIMS if claim.part == "efficiency")
