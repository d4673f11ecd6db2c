"""Tables and figures of the EDA report (notebooks/01_eda.ipynb), computed from prepare's
outputs."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from maskutils.core import manifest as mf
from maskutils.core.labels import CLASSES


def class_order(df: pd.DataFrame) -> list[str]:
    return [c for c in CLASSES if c in set(df["label"])]


def class_table(df: pd.DataFrame) -> pd.DataFrame:
    """Images per class and split, with totals and shares."""
    t = pd.crosstab(df["label"], df["split"]).reindex(class_order(df))
    t = t[[s for s in mf.SPLITS if s in t.columns]]
    t["total"] = t.sum(axis=1)
    t["share"] = (t["total"] / t["total"].sum()).round(3)
    return t


def attribute_tables(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """For each attribute the dataset has (gender, age, skin_tone, ...): counts per value x
    class."""
    out = {}
    for col in mf.attribute_columns(df):
        values = df[col].astype("string").fillna("(missing)")
        if values.nunique() > 20:
            continue
        out[col] = pd.crosstab(values.rename(col), df["label"]).reindex(columns=class_order(df))
    return out


def fig_class_counts(df: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(7, 3.2))
    order = class_order(df)
    sns.countplot(data=df, y="label", hue="split", order=order, ax=ax)
    ax.set(title="Images per class and split", xlabel="images (count)", ylabel="class")
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), title="split")
    return fig


def fig_sizes(df: pd.DataFrame):
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    sns.scatterplot(
        data=df,
        x="width",
        y="height",
        hue="label",
        hue_order=class_order(df),
        s=12,
        alpha=0.6,
        ax=axes[0],
        linewidth=0,
    )
    axes[0].set(title="Image size by class", xlabel="width (px)", ylabel="height (px)")
    aspect = (df["width"] / df["height"]).rename("aspect")
    sns.histplot(
        x=aspect, hue=df["label"], hue_order=class_order(df), element="step", bins=40, ax=axes[1]
    )
    axes[1].set(title="Aspect ratio by class", xlabel="width / height", ylabel="images (count)")
    return fig


def sample_rows(df: pd.DataFrame, per_class: int, seed: int = 0) -> dict[str, list[int]]:
    """Row positions of up to `per_class` random images of each class."""
    rng = np.random.default_rng(seed)
    out = {}
    for label in class_order(df):
        rows = np.flatnonzero(df["label"].to_numpy() == label)
        out[label] = sorted(rng.choice(rows, min(per_class, len(rows)), replace=False).tolist())
    return out


def fig_grid(images: np.ndarray, rows: dict[str, list[int]], title: str):
    """One row of thumbnails per key (e.g. per class)."""
    ncol = max(1, max(len(v) for v in rows.values()))
    fig, axes = plt.subplots(
        len(rows), ncol, figsize=(1.2 * ncol + 1, 1.3 * len(rows) + 0.4), squeeze=False
    )
    for r, (name, idx) in enumerate(rows.items()):
        for c in range(ncol):
            ax = axes[r][c]
            ax.set_xticks([]), ax.set_yticks([])
            ax.grid(False)
            if c < len(idx):
                ax.imshow(images[idx[c]].transpose(1, 2, 0))
            else:
                ax.axis("off")
        axes[r][0].set_ylabel(name, rotation=0, ha="right", va="center")
    fig.suptitle(title)
    return fig


def duplicate_pairs(df: pd.DataFrame, n: int) -> list[tuple[int, int]]:
    """Up to n (row, row) pairs from different near-duplicate groups, cross-class groups first."""
    multi = df[df["dup_size"] > 1]
    pairs = []
    groups = multi.groupby("dup_group")
    cross = groups["label"].nunique() > 1
    for g in list(cross[cross].index) + list(cross[~cross].index):
        rows = np.flatnonzero(df["dup_group"].to_numpy() == g)
        pairs.append((int(rows[0]), int(rows[1])))
        if len(pairs) >= n:
            break
    return pairs


def fig_pairs(images: np.ndarray, df: pd.DataFrame, pairs: list[tuple[int, int]], per_row: int = 4):
    """Each near-duplicate pair side by side, `per_row` pairs to a row, titled label / split."""
    nrow = -(-len(pairs) // per_row)
    ratios = ([1, 1, 0.35] * per_row)[:-1]  # a gap column between pairs
    fig, axes = plt.subplots(
        nrow,
        len(ratios),
        figsize=(1.4 * sum(ratios), 1.75 * nrow + 0.4),
        squeeze=False,
        layout="none",
        gridspec_kw={"width_ratios": ratios, "wspace": 0.05},
    )
    for ax in axes.flat:
        ax.axis("off")
    for n, (i, j) in enumerate(pairs):
        for c, k in enumerate((i, j)):
            ax = axes[n // per_row][3 * (n % per_row) + c]
            ax.imshow(images[k].transpose(1, 2, 0))
            ax.set_title(f"{df['label'].iat[k]} / {df['split'].iat[k]}", fontsize=7)
    fig.suptitle("Near-duplicate pairs, side by side (label / split)")
    return fig


def flag_table(df: pd.DataFrame) -> pd.DataFrame:
    """Images per quality flag (an image may carry several)."""
    flags = df["quality_flags"].str.split(";").explode()
    flags = flags[flags != ""]
    return flags.value_counts().rename_axis("flag").to_frame("images")


def problem_table(problems: pd.DataFrame) -> pd.DataFrame:
    """Problems per kind (the reason up to its first ':', '(' or ';': truncated, unreadable,
    broken link, not a regular file, ...)."""
    kind = problems["reason"].str.split(r"[:(;]", n=1, regex=True).str[0].str.strip()
    return kind.value_counts().rename_axis("problem").to_frame("count")


def split_tables(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(split x class counts, fold x class counts over the train+val pool)."""
    order = class_order(df)
    split = pd.crosstab(df["split"], df["label"]).reindex(columns=order)
    pool = df[df["fold"] >= 0]
    folds = pd.crosstab(pool["fold"], pool["label"]).reindex(columns=order)
    return split, folds


def flagged_rows(df: pd.DataFrame, flags, n: int) -> dict[str, list[int]]:
    """Row positions of up to n images carrying each quality flag."""
    return {f: [int(i) for i in df.index[df["quality_flags"].str.contains(f)][:n]] for f in flags}


def header(p) -> str:
    """The report's first line: source, counts, cache size, problems, seed, time (Markdown)."""
    df, prep = p.manifest, p.info["params"]
    src = prep["source"]
    where = f" at `{src['root']}`" if src["root"] else ""
    return (
        f"**Source:** `{src['kind']}`{where} · **{len(df):,} face images** from "
        f"{p.info['n_files']:,} files · cached at {size_text(p.info)} · "
        f"**{len(p.problems)} problems** · seed {prep['seed']} · "
        f"prepared in {p.info['seconds']['total']:.1f} s"
    )


def size_text(info: dict) -> str:
    """The cache side, and how `image_size: auto` chose it from the faces."""
    how = info.get("image_size_auto")
    if not how:
        return f"{info['image_size']} px (set in params)"
    if not how["measured"]:
        return f"{info['image_size']} px (auto: {how['rule']})"
    return (
        f"{info['image_size']} px (auto: median shorter side {how['median_side']:g} px over "
        f"{how['measured']:,} faces, {how['rule'].removeprefix('median shorter side, ')})"
    )


def duplicates_text(dups: dict) -> str:
    return (
        f"**{dups['groups']} groups** holding {dups['images_in_groups']} images · "
        f"{dups['groups_across_classes']} span more than one class (label noise or look-alikes) · "
        f"{dups['groups_across_sources']} span sources · "
        f"**{dups['groups_across_splits']} span train and test**"
    )


def shortcut_text(shortcut: dict, warning: bool) -> str:
    verdict = (
        "⚠️ **Warning: image metadata predicts the class.** A model can score well here without "
        "looking at masks; check how each class was collected."
        if warning
        else "No shortcut: metadata alone does not predict the class."
    )
    return f"Tree: **{shortcut['tree']:.3f}** · baseline: {shortcut['baseline']:.3f} · {verdict}"
