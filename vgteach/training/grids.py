"""Grid studies: the same losses under several named hyper-parameter settings (``run_study(grid=...)``).

A grid maps each setting's name to the losses it runs and their ``loss_kwargs``::

    {"low": {"contrastive": {"margin": 0.5}, "triplet": {"margin": 0.1}, ...},
     "default": {"contrastive": {"margin": 1.0}, ...},
     "high": {...}}

Two grids ship, :data:`GRIDS`:

``robustness``   DESIGN.md §5 (after Musgrave et al.'s reality check): each loss's main hyper-parameter
                 (:data:`MAIN_HYPERPARAMETER`) at half (``low``), its default (``default``) and double
                 (``high``); every loss at the same grid point. :func:`vgteach.reproduction.score_robustness`
                 scores its summary.
``temperature``  InfoNCE and SupCon at τ ∈ {0.05, 0.1, 0.2, 0.5, 1.0} (settings ``tau=0.05`` …): the two
                 losses differ only in whether a positive competes with the anchor's other positives, so
                 the same τ isolates that difference (issue 20's InfoNCE experiment).

The defaults are read from the losses' own signatures (``vgteach.losses``), so a grid always brackets the
value a plain run uses.

>>> grid("robustness")["high"]["arcface"]
{'scale': 128.0}
>>> list(grid("temperature"))
['tau=0.05', 'tau=0.1', 'tau=0.2', 'tau=0.5', 'tau=1.0']
"""

from __future__ import annotations

import inspect

from ..losses import LOSS_NAMES, LOSSES

#: each loss's main hyper-parameter (DESIGN.md §5): contrastive m, triplet α, npair s, infonce τ, arcface s,
#: supcon τ, ccl τ
MAIN_HYPERPARAMETER = {
    "contrastive": "margin",
    "triplet": "margin",
    "npair": "scale",
    "infonce": "temperature",
    "arcface": "scale",
    "supcon": "temperature",
    "ccl": "temperature",
}
#: the robustness grid's settings and the factor each applies to the default
ROBUSTNESS_FACTORS = {"low": 0.5, "default": 1.0, "high": 2.0}
#: the temperature grid's τ values and its losses
TEMPERATURES = (0.05, 0.1, 0.2, 0.5, 1.0)
TEMPERATURE_LOSSES = ("infonce", "supcon")


def default_hyperparameter(loss: str) -> float:
    """The default value of ``loss``'s main hyper-parameter, as its class defines it (DESIGN.md §2)."""
    if loss not in MAIN_HYPERPARAMETER:
        raise ValueError(f"unknown loss {loss!r}; valid: {', '.join(LOSS_NAMES)}")
    parameter = inspect.signature(LOSSES[loss].__init__).parameters[MAIN_HYPERPARAMETER[loss]]
    return float(parameter.default)


def robustness_grid() -> dict:
    """``{"low" | "default" | "high": {loss: {main hyper-parameter: value}}}`` for every loss (DESIGN.md §5)."""
    return {
        setting: {
            loss: {MAIN_HYPERPARAMETER[loss]: factor * default_hyperparameter(loss)} for loss in MAIN_HYPERPARAMETER
        }
        for setting, factor in ROBUSTNESS_FACTORS.items()
    }


def temperature_grid() -> dict:
    """``{"tau=<τ>": {"infonce": {"temperature": τ}, "supcon": {"temperature": τ}}}`` for τ in :data:`TEMPERATURES`."""
    return {f"tau={tau}": {loss: {"temperature": tau} for loss in TEMPERATURE_LOSSES} for tau in TEMPERATURES}


#: the named grids of ``run_study(grid=...)`` and ``vgteach study --grid``
GRIDS = {"robustness": robustness_grid, "temperature": temperature_grid}


def grid(name: str) -> dict:
    """The grid ``name`` of :data:`GRIDS` (a fresh copy: changing it changes nothing here)."""
    if name not in GRIDS:
        raise ValueError(f"unknown grid {name!r}; valid: {', '.join(GRIDS)}")
    return GRIDS[name]()


def grid_losses(settings: dict) -> tuple:
    """The losses a grid runs (in any of its settings), in :data:`~vgteach.losses.LOSS_NAMES` order."""
    present = {loss for losses in settings.values() for loss in losses}
    return tuple(loss for loss in LOSS_NAMES if loss in present)


def restrict(settings: dict, losses) -> dict:
    """``settings`` with only ``losses`` in each setting (``None``: all of them); a loss the grid does not run
    is a ``ValueError`` naming the ones it does."""
    if losses is None:
        return settings
    missing = [loss for loss in losses if loss not in grid_losses(settings)]
    if missing:
        raise ValueError(f"the grid has no {missing[0]!r}; its losses: {', '.join(grid_losses(settings))}")
    return {
        setting: {loss: kwargs for loss, kwargs in per_loss.items() if loss in losses}
        for setting, per_loss in settings.items()
    }
