"""What the trade-off chapter reads off the studies that vary a setting: the InfoNCE experiment (two
readings of "compact" on the closed-set reference runs, then the temperature sweep of InfoNCE and SupCon)
and the robustness grid (each loss's main hyper-parameter at half, default and double).

Every direction the chapter states about them (which loss aims its pull where, whether a gap is within
the seeds' noise, at which temperature it closes, which verdict flips) is computed here::

    from vgteach import results
    from vgteach.results import sweeps
    sweeps.readings_table(results.load("cifar10").history)    # two readings of "compact"
    sweep = results.load("temperature").summary
    sweeps.sweep_means(sweep, "far_pull_share")  # τ × loss: where InfoNCE and SupCon aim their pull
    sweeps.first_level_tau(sweep, "ratio")       # where the two losses' ratios become level

A grid study's ``summary.csv`` has one row per loss, seed and ``setting``; a ``history.csv`` one row per
loss, seed and epoch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..figures.studies import tau_of
from ..losses import LOSS_NAMES
from ..reproduction import SETTINGS
from ..reproduction.verdicts import VERDICT_COLORS, measured_as
from .prose import mean_sd
from .tradeoff import _check, _numbers, label

#: the two losses of the InfoNCE experiment: one temperature, one denominator apart
SWEEP_LOSSES = ("infonce", "supcon")


# ------------------------------------------------------------------------- the InfoNCE experiment, part 1
def last_epochs(history: pd.DataFrame, column: str = "intra") -> pd.DataFrame:
    """Each run's last evaluated epoch (the last with a value of ``column``): one row per (loss, seed)."""
    _check(history, "history", ("epoch", column))
    evaluated = history[_numbers(history, column).notna()]
    keys = ["loss", "seed"] if "seed" in history.columns else ["loss"]
    return evaluated.loc[evaluated.groupby(keys)["epoch"].idxmax()]


def start_means(history: pd.DataFrame, columns=("intra", "inter", "ratio")) -> dict:
    """The untrained head's mean over seeds of each column (epoch 0; the same head for every loss of a seed)."""
    _check(history, "history", ("epoch", *columns))
    start = history[history["epoch"] == 0]
    return {column: float(_numbers(start, column).mean()) for column in columns}


def final_means(history: pd.DataFrame, column: str) -> pd.Series:
    """Each loss's mean over seeds of ``column`` at its runs' last evaluated epoch."""
    last = last_epochs(history, column)
    means = _numbers(last, column).groupby(last["loss"]).mean()
    return means.reindex([name for name in LOSS_NAMES if name in means.index])


READINGS = (("intra", "intra"), ("inter", "inter"), ("ratio", "intra / inter"))


def readings_table(history: pd.DataFrame, losses=SWEEP_LOSSES, columns=READINGS) -> pd.DataFrame:
    """The two readings of "compact" before and after training: the untrained head's row, then each loss's
    last evaluated epoch; each cell the mean ± sd over seeds at three significant digits."""
    columns = [tuple(column) for column in columns]
    _check(history, "history", ("epoch", *(column for column, _ in columns)))
    start = history[history["epoch"] == 0]
    first = start[start["loss"] == start["loss"].iloc[0]]  # one untrained head per seed
    rows = {"untrained head (epoch 0)": {h: _cell(_numbers(first, c)) for c, h in columns}}
    for loss in losses:
        runs = history[history["loss"] == loss]
        if runs.empty:
            raise ValueError(f"the history has no runs of {loss!r}")
        rows[f"{label(loss)}, trained"] = {h: _cell(_numbers(last_epochs(runs, c), c)) for c, h in columns}
    return pd.DataFrame.from_dict(rows, orient="index")


def _cell(values: pd.Series) -> str:
    values = values.dropna()
    return mean_sd(values.mean(), values.std(ddof=1) if len(values) > 1 else None)


# ------------------------------------------------------------------- the InfoNCE experiment, parts 2 and 3
def with_tau(summary: pd.DataFrame) -> pd.DataFrame:
    """The temperature study's rows with a ``tau`` column read from ``setting`` (``"tau=0.1"`` -> 0.1)."""
    _check(summary, "summary", ("setting",))
    return summary.assign(tau=summary["setting"].map(tau_of))


def sweep_point(summary: pd.DataFrame, tau: float, losses=SWEEP_LOSSES) -> pd.DataFrame:
    """The runs of ``losses`` at temperature ``tau`` (a ValueError if the sweep has none there)."""
    rows = with_tau(summary)
    rows = rows[np.isclose(rows["tau"], tau) & rows["loss"].isin(losses)]
    if rows.empty:
        raise ValueError(f"the sweep has no run at τ = {tau:g}; it has {sorted(with_tau(summary)['tau'].unique())}")
    return rows.drop(columns="tau")


def sweep_means(summary: pd.DataFrame, column: str, losses=SWEEP_LOSSES) -> pd.DataFrame:
    """``column``'s mean over seeds: one row per temperature (increasing), one column per loss."""
    rows = with_tau(summary)
    _check(rows, "summary", (column,))
    rows = rows[rows["loss"].isin(losses)]
    table = _numbers(rows, column).groupby([rows["tau"], rows["loss"]]).mean().unstack("loss")
    return table.reindex(columns=[loss for loss in losses if loss in table.columns]).sort_index()


def sweep_gaps(summary: pd.DataFrame, column: str, a: str = "infonce", b: str = "supcon") -> pd.DataFrame:
    """``a``'s minus ``b``'s ``column``, seed by seed: one row per temperature, one column per seed."""
    rows = with_tau(summary)
    _check(rows, "summary", ("seed", column))
    values = _numbers(rows, column).groupby([rows["tau"], rows["seed"], rows["loss"]]).mean().unstack("loss")
    for loss in (a, b):
        if loss not in values.columns:
            raise ValueError(f"the sweep has no runs of {loss!r}")
    return (values[a] - values[b]).unstack("seed").sort_index()


def gap_within_noise(
    summary: pd.DataFrame, column: str, tau: float, a: str = "infonce", b: str = "supcon", factor: float = 2.0
) -> bool:
    """Whether ``a`` and ``b`` are level on ``column`` at temperature ``tau``: the difference of their means
    over seeds is at most ``factor`` × the pooled seed standard deviation of the two (DESIGN §5's noise)."""
    point = sweep_point(summary, tau, (a, b))
    _check(point, "summary", (column,))
    stats = _numbers(point, column).groupby(point["loss"]).agg(["mean", "var", "count"])
    for loss in (a, b):
        if loss not in stats.index:
            raise ValueError(f"the sweep has no runs of {loss!r} at τ = {tau:g}")
    if (stats["count"] < 2).any():
        raise ValueError("seed noise needs at least two seeds of each loss")
    weights = stats["count"] - 1
    pooled = float(np.sqrt((weights * stats["var"]).sum() / weights.sum()))
    return bool(abs(stats.loc[a, "mean"] - stats.loc[b, "mean"]) <= factor * pooled)


def pushed_text(share: float) -> str:
    """``"pushes no positive pair apart"`` or ``"pushes 7 % of its positive pairs apart"`` (a share in [0, 1])."""
    if not np.isfinite(share):
        return "was not measured"
    if share == 0:
        return "pushes no positive pair apart"
    return f"pushes {share:.0%} of its positive pairs apart".replace("%", " %")


def first_level_tau(summary: pd.DataFrame, column: str = "ratio", a: str = "infonce", b: str = "supcon"):
    """The smallest temperature of the sweep at which ``a`` and ``b`` are level on ``column``
    (:func:`gap_within_noise`): where the gap first closes; ``None`` if they are level nowhere."""
    taus = sorted(with_tau(summary)["tau"].unique())
    for tau in taus:
        if gap_within_noise(summary, column, tau, a, b):
            return float(tau)
    return None


# ---------------------------------------------------------------------------------------- robustness
def robustness_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`~vgteach.reproduction.score_robustness` as the chapter shows it: the claim, the measure it
    is read on, the verdict at each setting and whether it holds (``"robust"`` or ``"flips at high"``)."""
    if not isinstance(table, pd.DataFrame) or "robustness" not in table.columns:
        raise ValueError("table must be score_robustness(...)'s result")
    settings = [setting for setting in SETTINGS if setting in table.columns]
    view = pd.DataFrame(
        {
            "claim": table["claim"],
            # named as the reproduction chapter's verdict table names them, so the rows can be matched
            "measure": [
                measured_as(column, kind)
                for column, kind in zip(table["measurement"].str.split(":").str[0], _reading_kinds(table))
            ],
            **{setting: table[setting] for setting in settings},
            "holds": [_holds(row, settings) for _, row in table.iterrows()],
        }
    )
    return view


def _reading_kinds(table: pd.DataFrame) -> list:
    """Each row's reading of "compact" (``absolute``/``relative``, or ``""``), where the table has them."""
    if "reading kind" not in table.columns:
        return [""] * len(table)
    return [kind if isinstance(kind, str) else "" for kind in table["reading kind"]]


def _holds(row, settings) -> str:
    if row["robustness"] in ("robust", "not testable"):
        return row["robustness"]
    base = "default" if "default" in settings else settings[0]
    flipped = [setting for setting in settings if setting != base and row[setting] != row[base]]
    return "flips at " + " and ".join(flipped)


def styled_verdicts(view: pd.DataFrame):
    """:func:`robustness_view` (or any table of verdicts) with each verdict cell on its colour."""

    def colour(value):
        shade = VERDICT_COLORS.get(value)
        return f"background-color: {shade}" if shade else ""

    columns = [column for column in view.columns if column in SETTINGS or column == "verdict"]
    return (
        view.style.map(colour, subset=columns)
        .set_table_styles([{"selector": "td", "props": [("padding", "0.1em 0.45em")]}])
        .hide(axis="index")
    )


def robust_count(table: pd.DataFrame) -> tuple:
    """``(robust claims, testable claims)`` of :func:`~vgteach.reproduction.score_robustness`."""
    testable = table[table["robustness"] != "not testable"]
    return int(testable["robust"].sum()), len(testable)
