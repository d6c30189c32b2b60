"""What a run's history says: its speeds relative to the untrained head, and its summary.

    summarize(result.history, wall_time)      # the last epoch's metrics + the speeds below
    convergence_epoch(history)                # first evaluated epoch with 90 % of the R@1 gain

Every speed is read on the evaluated epochs only (:meth:`~vgteach.training.config.TrainConfig.evaluated_epochs`,
DESIGN.md §3): epoch 0, the untrained head, is the reference, and a speed is only as fine as the schedule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def evaluated_values(history: pd.DataFrame, column: str):
    """``(epochs, values)`` of the evaluated epochs of ``column``, in epoch order, starting at epoch 0;
    ``None`` when ``column`` was never evaluated (e.g. on a non-main rank)."""
    if column not in history:
        return None
    rows = history.dropna(subset=[column]).sort_values("epoch")
    if rows.empty:
        return None
    if rows["epoch"].iloc[0] != 0:
        raise ValueError(
            f"history has no {column!r} at epoch 0 (the untrained head): speeds are relative "
            "to it, and the trainer always evaluates it"
        )
    return rows["epoch"].to_numpy(), rows[column].to_numpy(dtype=float)


def first_evaluated_epoch(history: pd.DataFrame, column: str, reached) -> float:
    """The first evaluated epoch whose value satisfies ``reached(values, start, final)`` (NaN if none)."""
    found = evaluated_values(history, column)
    if found is None:
        return float("nan")
    epochs, values = found
    hits = np.flatnonzero(reached(values, values[0], values[-1]))
    return int(epochs[hits[0]]) if len(hits) else float("nan")


def convergence_epoch(history: pd.DataFrame, column: str = "recall@1") -> int:
    """First evaluated epoch t that has made 90 % of the run's gain in R@1 over the untrained head.

    .. math:: t^* = \\min\\{t \\text{ evaluated} : R_t - R_0 \\ge 0.9\\,(R_T - R_0)\\}

    with :math:`R_0` the untrained head's R@1 (epoch 0, before the first update) and :math:`R_T` the
    final epoch's (DESIGN.md §3, "speeds"). Relative to epoch 0, so a dataset on which R@1 starts high
    (digits) does not make every loss "converge" at epoch 0. Only as fine as the evaluation schedule
    (:func:`~vgteach.training.config.evaluation_epochs`).

    No gain (:math:`R_T = R_0`), or a loss (:math:`R_T < R_0`): the rule holds at t = 0 and the result is
    0 — there is no improvement to wait for. Read it together with the change :math:`R_T - R_0`.
    ``column`` selects another "higher is better" metric (``map_convergence_epoch`` uses ``"map@r"``).
    NaN when the history has no evaluation of ``column``.
    """
    return first_evaluated_epoch(history, column, lambda v, start, final: v - start >= 0.9 * (final - start))


def map_convergence_epoch(history: pd.DataFrame) -> int:
    """:func:`convergence_epoch` on MAP@R, which scores the whole ranking: it still moves on easy data
    where R@1 is nearly saturated before training (digits, R@1 ≈ 0.98 at epoch 0)."""
    return convergence_epoch(history, "map@r")


def intra_change(history: pd.DataFrame, column: str = "intra") -> float:
    """``intra`` at the final epoch minus ``intra`` at epoch 0 (the untrained head), DESIGN.md §3.

    Negative: the loss compacted its classes; positive: it spread them (InfoNCE can). NaN without
    evaluations. ``column`` selects another measure (:func:`ratio_change` uses ``"ratio"``).
    """
    found = evaluated_values(history, column)
    return float("nan") if found is None else float(found[1][-1] - found[1][0])


def ratio_change(history: pd.DataFrame) -> float:
    """``ratio`` = intra/inter at the final epoch minus at epoch 0 (DESIGN.md §5: "compact" relative to the
    spread of the class means). An untrained head on uncentred features bunches the whole cloud around one
    direction (small intra *and* small inter), so a rising intra can still be a falling ratio."""
    return intra_change(history, "ratio")


def compaction_epoch(history: pd.DataFrame, column: str = "intra") -> float:
    """First evaluated epoch t whose ``intra`` has settled to within 10 % of its fall; NaN unless it falls.

    .. math:: t^* = \\min\\{t \\text{ evaluated} : v_t - v_T \\le 0.1\\,(v_0 - v_T)\\},
              \\quad \\text{defined only when } v_T < v_0

    with :math:`v_t` the intra-class variance at epoch t, :math:`v_0` the untrained head's and
    :math:`v_T` the final one (DESIGN.md §3). Signed: only a loss that compacts its classes has a
    compaction epoch. A run whose ``intra`` rises or stays (:func:`intra_change` ≥ 0) gets NaN, read as
    "does not compact" — DESIGN.md §5 ranks it slower than any run that compacts, since a loss that spreads
    its classes cannot "compact quickly". NaN also when the history has no evaluation of ``intra``.
    ``column`` selects another measure (:func:`ratio_compaction_epoch` uses ``"ratio"``).

    As DESIGN.md §3 writes it, without an absolute value: an epoch whose intra has already fallen *below*
    its final value (an overshoot that later relaxes) has compacted at least as much as the run ever does,
    so it counts — the same one-sided rule as :func:`convergence_epoch`'s 90 % of the gain.
    """
    found = evaluated_values(history, column)
    if found is None or not found[1][-1] < found[1][0]:
        return float("nan")
    return first_evaluated_epoch(history, column, lambda v, start, final: v - final <= 0.1 * (start - final))


def ratio_compaction_epoch(history: pd.DataFrame) -> float:
    """:func:`compaction_epoch` on ``ratio`` = intra/inter: the first evaluated epoch within 10 % of the
    ratio's fall, NaN unless the ratio falls (:func:`ratio_change` < 0)."""
    return compaction_epoch(history, "ratio")


def summarize(history: pd.DataFrame, wall_time: float) -> dict:
    """The last epoch's row (always evaluated) plus the speeds relative to epoch 0 (``convergence_epoch``,
    ``map_convergence_epoch``, ``compaction_epoch``, ``intra_change``, ``ratio_compaction_epoch``,
    ``ratio_change``) and the greediness summaries."""
    last = history.iloc[-1].to_dict()
    summary = dict(last)
    trained = history[history["epoch"] >= 1]
    summary.update(
        convergence_epoch=convergence_epoch(history),
        map_convergence_epoch=map_convergence_epoch(history),
        compaction_epoch=compaction_epoch(history),
        intra_change=intra_change(history),
        ratio_compaction_epoch=ratio_compaction_epoch(history),
        ratio_change=ratio_change(history),
        loss_decay_rate=float(trained["loss_decay"].mean()) if len(trained) else 0.0,
        active_ratio_mean=float(trained["active_ratio"].mean()) if len(trained) else float(last["active_ratio"]),
        wall_time_s=wall_time,
    )
    summary["epoch"] = int(last["epoch"])
    return summary
