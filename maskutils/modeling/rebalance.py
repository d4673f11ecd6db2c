"""Bias mitigation by rebalancing the training data over group x class cells.

A cell is one class within one group (e.g. female x cloth, or female/child x cloth when balancing
by gender and age). Two remedies, alone or together:

- oversample: every cell is raised towards the largest cell of its class by repeating its own
  images (augmentation makes the repeats differ), at most `cap` times its own size; heavy
  repetition of a dozen images overfits, so the cap leaves the rest to reweighting.
- reweight: each image's loss is weighted by the inverse frequency of its cell (normalised to
  mean 1). This balances classes too, so the train stage's class weights are turned off.

Either way an epoch draws as many images as the unbalanced data has (`Trainer(epoch_size=)`):
the remedy changes what the model sees, not how long it trains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

METHODS = ("none", "reweight", "oversample", "both")


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


def rebalance(manifest: pd.DataFrame, rows: np.ndarray, y: np.ndarray, plan: dict, seed: int):
    """(training rows, possibly with repeats; loss weight per row or None) for a mitigation plan
    {"method", "by", "oversample_cap"}."""
    method = plan["method"]
    if method == "none":
        return rows, None
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
