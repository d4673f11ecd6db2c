"""Stratified train/val/test split and k-fold assignment that keep near-duplicate groups whole."""

from __future__ import annotations

import numpy as np
import pandas as pd

from maskutils.prepare.group_kfold import stratified_group_folds


def parts(fraction: float) -> int:
    """A share taken as one fold of round(1/share): 0.2 -> 1 part in 5."""
    return max(2, int(round(1.0 / fraction)))


def needs(test_fraction: float, val_fraction: float, folds: int) -> str:
    """How many images each split needs, in words (for the error of a dataset too small)."""
    n_test, n_val = parts(test_fraction), parts(val_fraction) if val_fraction > 0 else 0
    val = (
        f"validation (split.val_fraction {val_fraction}: 1 part in {n_val}) needs {n_val} of "
        "what the test split leaves; "
        if n_val
        else ""
    )
    return (
        "Each split is one part of a stratified group k-fold, which needs as many duplicate "
        "groups, and as many images of the largest class, as it has parts: the test split "
        f"(split.test_fraction {test_fraction}: 1 part in {n_test}) needs {n_test}; {val}"
        f"split.folds {folds} needs {folds} of the train+validation pool; and every class "
        f"needs {3 if n_val else 2} images (one each for train{', validation' if n_val else ''} "
        "and test). Add images, or lower split.folds and raise the fractions"
    )


def check_size(labels, groups, test_fraction: float, val_fraction: float, folds: int) -> None:
    """Raises ValueError, saying how many images each split needs, when a class is too small
    for every split to hold one of its images."""
    classes, counts = np.unique(np.asarray(labels), return_counts=True)
    per_class = 3 if val_fraction > 0 else 2
    small = [f"{c} ({n})" for c, n in zip(classes, counts) if n < per_class]
    if small:
        raise ValueError(
            f"too few images to split: {len(labels)} images; too few in {', '.join(small)}. "
            + needs(test_fraction, val_fraction, folds)
        )


def one_fold(labels, groups, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of about `fraction` of the rows, stratified by label, whole groups only."""
    n_splits, n_groups = parts(fraction), len(np.unique(groups))
    if min(n_groups, np.unique(labels, return_counts=True)[1].max()) < n_splits:
        raise ValueError(
            f"too few images to split: a share of {fraction:.2f} is 1 part in {n_splits}, which "
            f"needs {n_splits} duplicate groups and images of the largest class; there are "
            f"{n_groups} groups of {len(labels)} images"
        )
    return stratified_group_folds(labels, groups, n_splits, seed) == 0


def fold_ids(labels, groups, folds: int, seed: int) -> np.ndarray:
    """Fold number (0..folds-1) per row: stratified by label, every group inside one fold."""
    if len(np.unique(groups)) < folds or np.unique(labels, return_counts=True)[1].max() < folds:
        raise ValueError(
            f"split.folds={folds} needs at least {folds} images of one class (in separate "
            f"duplicate groups) in the train+validation pool; it has {len(labels)} images"
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
    check_size(labels, groups, test_fraction, val_fraction, folds)
    forced = (
        df["cue"].fillna(False).astype(bool).to_numpy() if "cue" in df else np.zeros(len(df), bool)
    )
    forced = np.isin(groups, groups[forced])
    try:
        split, fold = _split(
            df, labels, groups, forced, test_fraction, val_fraction, folds, seed, plant_bias
        )
    except ValueError as exc:
        raise ValueError(
            f"too few images to split: {exc}. {needs(test_fraction, val_fraction, folds)}"
        ) from None
    df["split"], df["fold"] = split, fold
    return df


def _split(df, labels, groups, forced, test_fraction, val_fraction, folds, seed, plant_bias):
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
    return split, fold


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
