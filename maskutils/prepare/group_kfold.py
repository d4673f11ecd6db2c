"""Stratified group k-fold: scikit-learn's `StratifiedGroupKFold(shuffle=True)` assignment, the
same folds, in time that stays linear in the number of groups.

scikit-learn (1.9.1) puts each group, largest class spread first, into the fold that keeps the
class shares of the folds closest (ties: the smaller fold), trying the folds one by one with a
NumPy call each, about 1 ms per group: minutes at 100k images. Here the folds are tried in one
array operation with the same floating-point steps, so the choices, ties included, are the same
(a test compares both).
"""

from __future__ import annotations

import numpy as np


def stratified_group_folds(labels, groups, n_splits: int, seed: int) -> np.ndarray:
    """Fold (0..n_splits-1) per row, as `StratifiedGroupKFold(n_splits, shuffle=True,
    random_state=seed).split(X, labels, groups)` yields them (fold k = the k-th test set)."""
    _, y_inv, y_cnt = np.unique(labels, return_inverse=True, return_counts=True)
    if np.all(n_splits > y_cnt):
        raise ValueError(
            f"n_splits={n_splits} cannot be greater than the number of members in each class."
        )
    _, g_inv, g_cnt = np.unique(groups, return_inverse=True, return_counts=True)
    if n_splits > len(g_cnt):
        raise ValueError(
            f"Cannot have number of splits n_splits={n_splits} greater than the number of "
            f"groups: {len(g_cnt)}."
        )
    counts = np.zeros((len(g_cnt), len(y_cnt)))
    np.add.at(counts, (g_inv.reshape(-1), y_inv.reshape(-1)), 1)
    perm = np.arange(len(g_cnt))
    np.random.RandomState(seed).shuffle(perm)
    counts = counts[perm]
    inv_perm = np.empty_like(perm)
    inv_perm[perm] = np.arange(perm.size)
    order = np.argsort(-np.std(counts, axis=1), kind="stable")
    per_fold = np.zeros((n_splits, len(y_cnt)))
    fold_of = np.empty(len(g_cnt), dtype=int)
    diagonal, trial = np.arange(n_splits), np.empty((n_splits, *per_fold.shape))
    for g in order:
        trial[:] = per_fold  # trial[i]: the folds with group g added to fold i
        trial[diagonal, diagonal] += counts[g]
        best = _best(_spread(trial / y_cnt), per_fold.sum(axis=1).tolist())
        per_fold[best] += counts[g]
        fold_of[g] = best
    return fold_of[inv_perm[g_inv.reshape(-1)]]


def _spread(shares: np.ndarray) -> list[float]:
    """np.mean(np.std(shares[i], axis=0)) for every i, by np.std's own steps (same floats)."""
    n = shares.shape[1]
    x = shares - shares.sum(axis=1, keepdims=True) / n
    np.multiply(x, x, out=x)
    return np.sqrt(x.sum(axis=1) / n).mean(axis=1).tolist()


def _best(evals: list[float], sizes: list[float]) -> int:
    """scikit-learn's choice: the lowest spread; one within np.isclose of the best so far
    wins when its fold is smaller."""
    best, low, low_size = 0, float("inf"), float("inf")
    for i, (e, size) in enumerate(zip(evals, sizes)):
        close = low != float("inf") and abs(e - low) <= 1e-8 + 1e-5 * abs(low)
        if e < low or (close and size < low_size):
            best, low, low_size = i, e, size
    return best
