"""The committed reference results, shipped inside the package, and what the chapters say about them.

>>> from vgteach import results
>>> reference = results.load("cifar10")                   # the packaged reference study (store)
>>> standing = results.ranks(reference, "supcon")          # its rank among the seven on each measure
>>> results.standing_of(standing, "intra")                 # "6th of 7 on intra (0.123 ± 0.004)" (prose)
>>> results.glue("standing", results.describe_ranks(standing, "SupCon"))  # into the book (myst)

One job per module:

- :mod:`.store`: loading the studies that ship in ``vgteach/reference_results`` (:func:`load`,
  :class:`ReferenceResults`, :data:`ALIASES`, :data:`ROOT`, :func:`curve`);
- :mod:`.standing`: where a loss stands among the study's losses (:func:`ranks`, :func:`in_top_half`);
- :mod:`.prose`: the Markdown sentences written from them (``describe_…``, :func:`rank_of`,
  :func:`standing_of`, :func:`findings`, :func:`trend_sentence`), the numbers a chapter glues
  (:func:`standing_values`, :func:`mean_sd`: mean ± sd at three significant digits) and the loss names of the book
  (:data:`LOSS_LABELS`, :func:`join_labels`);
- :mod:`.myst`: :func:`glue`, the hand-over to the book build.

The paper's claims and the trade-off's parts (:data:`GRANULARITY`, :data:`EFFICIENCY`) are defined once, in
:mod:`vgteach.reproduction`.
"""

from ..reproduction import EFFICIENCY, GRANULARITY
from .myst import glue
from .prose import (
    GLUE_KEYS,
    LOSS_LABELS,
    change_text,
    claim_sentence,
    describe_ranks,
    describe_statement,
    describe_statements,
    findings,
    join_labels,
    mean_sd,
    ordinal,
    peak_text,
    rank_of,
    setting,
    significant_places,
    standing_of,
    standing_values,
    trend_sentence,
    value_text,
)
from .standing import RANK_MEASURES, in_bottom_half, in_top_half, per_seed, ranks
from .store import ALIASES, FILES, ROOT, ReferenceResults, curve, folder, load, names, summary_of

__all__ = [
    "ALIASES",
    "EFFICIENCY",
    "FILES",
    "GLUE_KEYS",
    "GRANULARITY",
    "LOSS_LABELS",
    "RANK_MEASURES",
    "ROOT",
    "ReferenceResults",
    "change_text",
    "claim_sentence",
    "curve",
    "describe_ranks",
    "describe_statement",
    "describe_statements",
    "findings",
    "folder",
    "glue",
    "in_bottom_half",
    "in_top_half",
    "join_labels",
    "load",
    "mean_sd",
    "names",
    "ordinal",
    "peak_text",
    "per_seed",
    "rank_of",
    "ranks",
    "setting",
    "significant_places",
    "standing_of",
    "standing_values",
    "summary_of",
    "trend_sentence",
    "value_text",
]
