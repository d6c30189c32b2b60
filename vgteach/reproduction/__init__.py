"""Score the paper's claims against a study's results (DESIGN.md §5); see :mod:`.scoring`."""

from .scoring import (  # noqa: F401
    CLAIMS,
    COMPACTING,
    EFFICIENCY,
    GRANULAR,
    GRANULARITY,
    TIE_TOLERANCE,
    TRADE_OFF_PARTS,
    VERDICTS,
    Claim,
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
