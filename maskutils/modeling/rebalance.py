"""Bias mitigation by rebalancing the training data over group x class cells.

A cell is one class within one group (e.g. female x cloth, or female/child x cloth when balancing
by gender and age). Two remedies, alone or together:

- oversample: every cell is raised towards the largest cell of its class by repeating its own
  images (augmentation makes the repeats differ), at most `cap` times its own size; heavy
  repetition of a dozen images overfits, so the cap leaves the rest to reweighting.
- reweight: each image's loss is weighted by the inverse frequency of its cell (normalised to
  mean 1). This balances classes too, so the train stage's class weights are turned off.

Two more aim at the cells the model serves worst, named in the plan (`cells`: found per fold
without the audited rows by `fairness.worst_cells`):

- worst_reweight: class-balanced loss weights, times `boost` for the rows of those cells;
- worst_oversample: those cells' rows repeated to about `boost` times their number.

Either way an epoch draws as many images as the unbalanced data has (`Trainer(epoch_size=)`):
the remedy changes what the model sees, not how long it trains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

METHODS = ("none", "reweight", "oversample", "both", "worst_reweight", "worst_oversample")
#: the methods that target named (group, class) cells
WORST = ("worst_reweight", "worst_oversample")


def group_keys(rows: pd.DataFrame, by: list[str]) -> np.ndarray:
    """Each row's group: its values of the `by` columns joined (several: their intersection);
    None where any of them is missing."""
    parts = [rows[a] for a in by]
    missing = np.zeros(len(rows), dtype=bool)
    for s in parts:
        missing |= s.isna().to_numpy()
    keys = ["|".join(map(str, t)) for t in zip(*parts)] if parts else [""] * len(rows)
    return np.array([None if m else k for k, m in zip(keys, missing)], dtype=object)


def cells(manifest: pd.DataFrame, rows: np.ndarray, y: np.ndarray, by: list[str]) -> np.ndarray:
    """A cell code per row in `rows`: its class and its values of the `by` attributes."""
    parts = [pd.Series(y[rows]).astype(str).to_numpy()]
    parts += [manifest[a].astype(str).to_numpy()[rows] for a in by]
    keys = pd.Series(["|".join(t) for t in zip(*parts)])
    return pd.factorize(keys, sort=True)[0]


def oversample(
    rows: np.ndarray, y: np.ndarray, cell: np.ndarray, cap: float, seed: int
) -> np.ndarray:
    """`rows` plus repeats drawn from small cells, each towards its class's largest cell."""
    rng = np.random.default_rng(seed)
    extra = []
    for c in np.unique(cell):
        members = rows[cell == c]
        cls = y[members[0]]
        largest = np.bincount(cell[y[rows] == cls]).max()
        want = min(largest, int(np.floor(cap * len(members)))) - len(members)
        if want > 0:
            extra.append(rng.choice(members, want, replace=True))
    return np.concatenate([rows, *extra]) if extra else rows


def inverse_frequency(cell: np.ndarray) -> np.ndarray:
    """One weight per row: 1 / (its cell's size), scaled to mean 1."""
    counts = np.bincount(cell)
    w = 1.0 / counts[cell]
    return w * len(w) / w.sum()


def in_cells(manifest: pd.DataFrame, rows: np.ndarray, y: np.ndarray, plan: dict) -> np.ndarray:
    """Per row of `rows`: whether it is in one of the plan's `cells` ([group, class code])."""
    keys = group_keys(manifest.iloc[rows], plan["by"])
    wanted = {(g, int(c)) for g, c in plan["cells"]}
    return np.array([(k, int(c)) in wanted for k, c in zip(keys, y[rows])], dtype=bool)


def for_fold(plan: dict | None, fold: int) -> dict | None:
    """A plan with `cells_by_fold` narrowed to one fold's `cells`; any other plan as it is."""
    if not plan or "cells_by_fold" not in plan:
        return plan
    by_fold = {str(k): v for k, v in plan["cells_by_fold"].items()}
    if str(fold) not in by_fold:
        raise KeyError(
            f"the mitigation plan names no cells for fold {fold} (it has {list(by_fold)})"
        )
    rest = {k: v for k, v in plan.items() if k != "cells_by_fold"}
    return {**rest, "cells": by_fold[str(fold)]}


def worst(manifest: pd.DataFrame, rows: np.ndarray, y: np.ndarray, plan: dict, seed: int):
    """`rebalance` for the WORST methods."""
    chosen = in_cells(manifest, rows, y, plan)
    if plan["method"] == "worst_oversample":
        rng = np.random.default_rng(seed)
        members = rows[chosen]
        want = int(np.floor((plan["boost"] - 1) * len(members)))
        extra = rng.choice(members, want, replace=True) if want > 0 else members[:0]
        return np.concatenate([rows, extra]), None
    counts = np.bincount(y[rows])
    w = 1.0 / counts[y[rows]] * np.where(chosen, plan["boost"], 1.0)
    return rows, w * len(w) / w.sum()


def rebalance(manifest: pd.DataFrame, rows: np.ndarray, y: np.ndarray, plan: dict, seed: int):
    """(training rows, possibly with repeats; loss weight per row or None) for a mitigation plan
    {"method", "by", "oversample_cap"}, or for a WORST method {"method", "by", "cells",
    "boost"}."""
    method = plan["method"]
    if method == "none":
        return rows, None
    if method in WORST:
        return worst(manifest, rows, y, plan, seed)
    if method in ("oversample", "both"):
        rows = oversample(
            rows, y, cells(manifest, rows, y, plan["by"]), plan["oversample_cap"], seed
        )
    weights = (
        inverse_frequency(cells(manifest, rows, y, plan["by"]))
        if method in ("reweight", "both")
        else None
    )
    return rows, weights
