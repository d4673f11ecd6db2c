"""Stratified train/val/test split and k-fold assignment that keep near-duplicate groups whole."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold


def parts(fraction: float) -> int:
    """A share taken as one fold of round(1/share): 0.2 -> 1 part in 5."""
    return max(2, int(round(1.0 / fraction)))


def check_size(labels, groups, test_fraction: float, val_fraction: float, folds: int) -> None:
    """Raises ValueError, saying how many images each split needs, when the dataset is too small:
    each class needs an image in train, validation (when val_fraction > 0) and test, and each
    split enough duplicate groups for its folds."""
    labels, groups = np.asarray(labels), np.asarray(groups)
    per_class = 3 if val_fraction > 0 else 2
    n_test, n_val = parts(test_fraction), parts(val_fraction) if val_fraction > 0 else 0
    pool = max(n_val, folds)
    need = max(n_test, int(np.ceil(pool * n_test / (n_test - 1))))
    classes, counts = np.unique(labels, return_counts=True)
    n_groups = len(np.unique(groups))
    small = [f"{c} ({n})" for c, n in zip(classes, counts) if n < per_class]
    if not small and n_groups >= need:
        return
    raise ValueError(
        f"too few images to split: {len(labels)} images in {n_groups} duplicate groups "
        f"({', '.join(f'{c} {n}' for c, n in zip(classes, counts))}). The test split "
        f"(split.test_fraction {test_fraction}: 1 part in {n_test}) needs {n_test} groups; "
        + (
            f"validation (split.val_fraction {val_fraction}) needs {n_val} groups of the rest; "
            if n_val
            else ""
        )
        + f"split.folds {folds} needs {folds} groups of the rest: {need} groups in all, and "
        f"every class {per_class} images (one each for train"
        + (", validation" if n_val else "")
        + " and test)"
        + (f"; too few in: {', '.join(small)}" if small else "")
        + ". Add images, or lower split.folds and raise the fractions."
    )


def one_fold(labels, groups, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of about `fraction` of the rows, stratified by label, whole groups only."""
    n_splits, n_groups = parts(fraction), len(np.unique(groups))
    if n_groups < n_splits:
        raise ValueError(
            f"too few images to split: a share of {fraction:.2f} is 1 part in {n_splits}, which "
            f"needs {n_splits} duplicate groups; there are {n_groups}. Add images, or raise "
            "split.test_fraction / split.val_fraction"
        )
    with warnings.catch_warnings():  # tiny classes: sklearn warns, the split is still group-safe
        warnings.simplefilter("ignore", UserWarning)
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        _, idx = next(iter(cv.split(np.zeros(len(labels)), labels, groups)))
    mask = np.zeros(len(labels), dtype=bool)
    mask[idx] = True
    return mask


def fold_ids(labels, groups, folds: int, seed: int) -> np.ndarray:
    """Fold number (0..folds-1) per row: stratified by label, every group inside one fold."""
    out = np.full(len(labels), -1, dtype=int)
    if len(np.unique(groups)) < folds or np.unique(labels, return_counts=True)[1].max() < folds:
        raise ValueError(
            f"split.folds={folds} needs at least {folds} images of one class (in separate "
            f"duplicate groups) in the training pool; it has {len(labels)} images"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        for k, (_, idx) in enumerate(cv.split(np.zeros(len(labels)), labels, groups)):
            out[idx] = k
    return out


def assign(
    manifest: pd.DataFrame,
    test_fraction: float,
    val_fraction: float,
    folds: int,
    seed: int,
    plant_bias: dict | None = None,
) -> pd.DataFrame:
    """Adds `split` (train / val / test / excluded) and `fold` (-1 for test rows).

    Rows with `cue` set (the planted spurious cue) may only be in the training pool, and so may
    every row of their duplicate group. `plant_bias` ({"where": {column: value}, "keep": f})
    keeps only a fraction f of the matching pool rows for training; the rest become `excluded`:
    never trained on, but still given a fold, so k-fold predicts them out of fold and the bias
    audit sees the whole under-represented cell.
    """
    df = manifest.copy()
    labels, groups = df["label"].astype(str).to_numpy(), df["dup_group"].to_numpy()
    check_size(labels, groups, test_fraction, val_fraction, folds)
    forced = (
        df["cue"].fillna(False).astype(bool).to_numpy() if "cue" in df else np.zeros(len(df), bool)
    )
    forced = np.isin(groups, groups[forced])
    split = np.array(["train"] * len(df), dtype=object)
    free = np.flatnonzero(~forced)
    fraction = min(0.9, test_fraction * len(df) / max(1, len(free)))
    test = one_fold(labels[free], groups[free], fraction, seed)
    split[free[test]] = "test"
    if plant_bias and plant_bias.get("where") and plant_bias.get("keep", 1.0) < 1.0:
        split[_planted_drop(df, split, plant_bias, seed)] = "excluded"
    pool = np.flatnonzero(split != "test")
    trainable = np.flatnonzero(split == "train")
    if val_fraction > 0:
        val = one_fold(labels[trainable], groups[trainable], val_fraction, seed + 1)
        split[trainable[val]] = "val"
    fold = np.full(len(df), -1, dtype=int)
    fold[pool] = fold_ids(labels[pool], groups[pool], folds, seed + 2)
    df["split"], df["fold"] = split, fold
    return df


def _planted_drop(df: pd.DataFrame, split: np.ndarray, plant: dict, seed: int) -> np.ndarray:
    match = split == "train"
    for column, value in plant["where"].items():
        if column not in df.columns:
            raise KeyError(
                f"split.plant_bias.where.{column}: the manifest has no column {column!r}"
            )
        match &= df[column].astype(str).to_numpy() == str(value)
    rows = np.flatnonzero(match)
    rng = np.random.default_rng(seed + 3)
    n_keep = int(round(plant["keep"] * len(rows)))
    return np.setdiff1d(rows, rng.choice(rows, n_keep, replace=False)) if len(rows) else rows
