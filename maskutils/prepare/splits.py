"""Stratified train/val/test split and k-fold assignment that keep near-duplicate groups whole."""

from __future__ import annotations

import numpy as np
import pandas as pd

from maskutils.prepare.group_kfold import stratified_group_folds


def one_fold(labels, groups, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of about `fraction` of the rows, stratified by label, whole groups only."""
    n_splits = max(2, int(round(1.0 / fraction)))
    return stratified_group_folds(labels, groups, n_splits, seed) == 0


def fold_ids(labels, groups, folds: int, seed: int) -> np.ndarray:
    """Fold number (0..folds-1) per row: stratified by label, every group inside one fold."""
    if len(np.unique(groups)) < folds or np.unique(labels, return_counts=True)[1].max() < folds:
        raise ValueError(
            f"split.folds={folds} needs at least {folds} images of one class (in separate "
            f"duplicate groups) in the training pool; it has {len(labels)} images"
        )
    return stratified_group_folds(labels, groups, folds, seed)


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
