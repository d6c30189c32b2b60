"""The reproduction chapter's verdicts as a reader reads them (DESIGN.md §5): one table, claims by studies.

:func:`~vgteach.reproduction.score_studies` scores every claim on every study in one long table (a row per
study and claim). A reader wants the opposite shape: one row per claim, one column per study, the verdict
coloured, and the evidence that decided it folded away beside the claim. :func:`verdict_table` draws that
(HTML, shown the same in the book, Jupyter and Colab); :func:`verdict_counts` and :func:`counts_text` give the
tallies the chapter's takeaways quote; :func:`signing_change` says what signed compaction changed on a study
(the old rule gave a run whose intra rises the epoch its rise settled); :func:`studies_table` says what
each study is, and :mod:`.words` reads the verdicts in sentences.

One module per job: :mod:`.table` (the table and its tallies), :mod:`.signing`, :mod:`.studies`,
:mod:`.words`; every public name is importable from here::

    from vgteach import results
    from vgteach.reproduction import score_studies
    from vgteach.reproduction.verdicts import verdict_table

    scored = score_studies({name: results.load(name) for name in ("cifar10", "zero-shot")})
    verdict_table(scored)          # last expression of a cell: the table, then the evidence per claim
"""

from .signing import SigningChange, signing_change, unsigned_compaction_epochs
from .studies import STUDY_DATA, studies_table
from .table import (
    MEASURED_AS,
    STUDY_TITLES,
    UNSIGNED_RULE,
    VERDICT_COLORS,
    VerdictTable,
    claims_with,
    column_of,
    counts_text,
    measured_as,
    robustness_note,
    studies_of,
    verdict_counts,
    verdict_grid,
    verdict_of,
    verdict_table,
)
from .words import (
    agreement_text,
    claim_names,
    consensus_text,
    counts_table,
    flip_settings,
    part_text,
    robustness_text,
    tally_text,
)

__all__ = [
    "MEASURED_AS",
    "STUDY_DATA",
    "STUDY_TITLES",
    "UNSIGNED_RULE",
    "VERDICT_COLORS",
    "SigningChange",
    "VerdictTable",
    "agreement_text",
    "claim_names",
    "claims_with",
    "column_of",
    "consensus_text",
    "counts_table",
    "counts_text",
    "flip_settings",
    "measured_as",
    "part_text",
    "robustness_note",
    "robustness_text",
    "signing_change",
    "studies_of",
    "studies_table",
    "tally_text",
    "unsigned_compaction_epochs",
    "verdict_counts",
    "verdict_grid",
    "verdict_of",
    "verdict_table",
]
