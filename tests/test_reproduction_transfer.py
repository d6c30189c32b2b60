"""Transfer (vgteach.reproduction.transfer_correlations, DESIGN.md §5): Spearman ρ between a training-split
measure and zero-shot retrieval across runs, against a hand calculation, with a bootstrap over losses."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from vgteach.reproduction import ROTH, transfer_correlations

# three losses, two seeds each; ranks by hand:
#   run          a/0  a/1  b/0  b/1  c/0  c/1
#   measure       1    2    3    4    5    6    -> ranks 1..6
#   recall@1     .9   .7   .8   .5   .6   .4    -> ranks 6 4 5 2 3 1
#   d = rank difference: -5 -2 -2 2 2 5, Σd² = 66, ρ = 1 − 6·66 / (6·(6² − 1)) = −31/35
TINY = pd.DataFrame(
    {
        "loss": ["a", "a", "b", "b", "c", "c"],
        "seed": [0, 1, 0, 1, 0, 1],
        "train_spectral_decay": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "recall@1": [0.9, 0.7, 0.8, 0.5, 0.6, 0.4],
    }
)


def study(n_losses=7, seeds=(0, 1, 2), slope=-1.0, seed=0):
    """Runs whose recall@1 falls (slope < 0) with a training measure, plus noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_losses):
        for s in seeds:
            x = i + rng.normal(0, 0.3)
            rows.append(
                {"loss": f"loss{i}", "seed": s, "train_spectral_decay": x, "recall@1": slope * x + rng.normal(0, 1)}
            )
    return pd.DataFrame(rows)


def one(frame, measure="train_spectral_decay", target="recall@1", **options):
    return transfer_correlations(frame, measures=(measure,), targets=(target,), **options).iloc[0]


def test_rho_matches_the_hand_calculation():
    row = one(TINY, n_boot=50)
    assert row["rho"] == pytest.approx(1 - 6 * 66 / (6 * (6**2 - 1))) == pytest.approx(-31 / 35)
    assert (row["runs"], row["losses"]) == (6, 3)
    assert row["Roth et al."] == "agrees: negative, as Roth et al. report" or "includes 0" in row["Roth et al."]


def test_the_bootstrap_resamples_whole_losses():
    """Redo the resampling by hand: draw 3 of the 3 losses with replacement, keep both seeds of each."""
    row = one(TINY, n_boot=300, seed=7)
    rng = np.random.default_rng(7)
    members = {loss: TINY.index[TINY["loss"] == loss] for loss in ("a", "b", "c")}
    values = []
    for _ in range(300):
        drawn = np.concatenate([members["abc"[i]] for i in rng.integers(0, 3, 3)])
        x, y = TINY.loc[drawn, "train_spectral_decay"], TINY.loc[drawn, "recall@1"]
        if len(drawn) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
            values.append(spearmanr(x, y)[0])
    low, high = np.percentile(values, [2.5, 97.5])
    assert (row["low"], row["high"]) == pytest.approx((low, high))
    skipped = 300 - len(values)
    assert (f"{skipped} of 300 resamples could not be ranked" in row["reason"]) if skipped else row["reason"] == ""


def test_the_bootstrap_is_deterministic_under_a_seed_and_its_interval_holds_rho():
    frame = study()
    first, again, other = (one(frame, seed=seed, n_boot=500) for seed in (1, 1, 2))
    assert (first["low"], first["high"]) == (again["low"], again["high"])
    assert (first["low"], first["high"]) != (other["low"], other["high"])
    assert first["low"] <= first["rho"] <= first["high"] and first["rho"] < 0
    table = transfer_correlations(frame, measures=("train_spectral_decay",), targets=("recall@1",), n_boot=200)
    assert list(table.columns) == ["measure", "target", "rho", "low", "high", "runs", "losses", "Roth et al.", "reason"]


def test_the_sign_is_compared_with_roth_et_al():
    assert ROTH["train_spectral_decay"] < 0 < ROTH["train_pi_ratio"]
    agrees = one(study(slope=-1.0), n_boot=200)["Roth et al."]
    disagrees = one(study(slope=1.0), n_boot=200)["Roth et al."]
    assert agrees.startswith("agrees: negative") and disagrees.startswith("disagrees: Roth et al. report a negative")
    pi = one(study(slope=1.0).rename(columns={"train_spectral_decay": "train_pi_ratio"}), "train_pi_ratio", n_boot=50)
    assert pi["Roth et al."].startswith("agrees: positive")
    intra = one(study().rename(columns={"train_spectral_decay": "train_intra"}), "train_intra", n_boot=50)
    assert intra["Roth et al."] == ""


def test_degenerate_inputs_give_nan_with_a_reason():
    constant = one(TINY.assign(train_spectral_decay=1.0))
    assert np.isnan(constant["rho"]) and "same in every run" in constant["reason"]
    two = one(TINY.iloc[:2])
    assert np.isnan(two["rho"]) and "2 runs with both values: at least 3" in two["reason"]
    gaps = TINY.copy()
    gaps.loc[[0, 3], "recall@1"] = np.nan
    holed = one(gaps, n_boot=50)
    assert holed["runs"] == 4 and not np.isnan(holed["rho"]) and "2 run(s) without a value left out" in holed["reason"]
    empty = one(TINY.assign(**{"recall@1": np.nan}))
    assert np.isnan(empty["rho"]) and empty["runs"] == 0
    missing = one(TINY, "train_pi_ratio")
    assert np.isnan(missing["rho"]) and "no column 'train_pi_ratio'" in missing["reason"]
    alone = one(TINY.assign(loss="a", seed=range(6)))
    assert alone["rho"] == pytest.approx(-31 / 35) and np.isnan(alone["low"]) and "one loss" in alone["reason"]
    default = transfer_correlations(TINY, n_boot=10)  # every default measure and target; most columns absent
    assert len(default) == 8 and default["rho"].notna().sum() == 1


def test_bad_input():
    with pytest.raises(ValueError, match="summary"):
        transfer_correlations(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="several rows"):
        transfer_correlations(pd.concat([TINY, TINY]))
    with pytest.raises(TypeError, match="measures"):
        transfer_correlations(TINY, measures="train_intra")
    with pytest.raises(ValueError, match="targets is empty"):
        transfer_correlations(TINY, targets=())
    with pytest.raises(ValueError, match="n_boot"):
        transfer_correlations(TINY, n_boot=0)
    with pytest.raises(TypeError, match="seed"):
        transfer_correlations(TINY, seed=0.5)
