"""Figures of the train report: curves, confusion matrices, PR curves, image galleries."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns


def training_curves(histories: dict[str, pd.DataFrame]):
    """Train vs validation loss and macro-F1 per epoch, one row per model."""
    fig, axes = plt.subplots(len(histories), 2, figsize=(10, 3 * len(histories)), squeeze=False)
    for row, (name, h) in zip(axes, histories.items()):
        row[0].plot(h["epoch"], h["train_loss"], label="train")
        row[0].plot(h["epoch"], h["val_loss"], label="validation")
        row[0].set(title=f"{name}: loss", xlabel="epoch", ylabel="cross-entropy")
        row[1].plot(h["epoch"], h["train_accuracy"], label="train accuracy", linestyle=":")
        row[1].plot(h["epoch"], h["val_macro_f1"], label="validation macro-F1")
        row[1].set(
            title=f"{name}: validation macro-F1",
            xlabel="epoch",
            ylabel="score (0-1)",
            ylim=(0, 1.02),
        )
        for ax in row:
            ax.legend(loc="best", fontsize=8)
    return fig


def confusion(metrics: dict, title: str):
    """Counts and row-normalised confusion matrices side by side."""
    classes = metrics["classes"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, fmt, name in (
        (axes[0], "confusion", "d", "counts"),
        (axes[1], "confusion_normalized", ".2f", "share of true class"),
    ):
        sns.heatmap(
            np.array(metrics[key]),
            annot=True,
            fmt=fmt,
            cmap="Blues",
            cbar=False,
            ax=ax,
            xticklabels=classes,
            yticklabels=classes,
        )
        ax.set(title=f"{title}: {name}", xlabel="predicted class", ylabel="true class")
    return fig


def pr_curves(curves: dict[str, dict], title: str):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for c, cv in curves.items():
        axes[0].plot(cv["recall"], cv["precision"], label=f"{c} (AUC {cv['pr_auc']:.3f})")
        axes[1].plot(cv["fpr"], cv["tpr"], label=f"{c} (AUC {cv['roc_auc']:.3f})")
    axes[0].set(
        title=f"{title}: precision-recall (one vs rest)",
        xlabel="recall",
        ylabel="precision",
        ylim=(0, 1.02),
    )
    axes[1].plot([0, 1], [0, 1], color="grey", linestyle=":")
    axes[1].set(
        title=f"{title}: ROC (one vs rest)",
        xlabel="false positive rate",
        ylabel="true positive rate",
    )
    for ax in axes:
        ax.legend(loc="lower left", fontsize=8)
    return fig


def gallery(images: np.ndarray, rows: list[int], captions: list[str], title: str, per_row: int = 6):
    """Thumbnails of manifest rows with a caption each."""
    if not rows:
        return None
    nrow = -(-len(rows) // per_row)
    fig, axes = plt.subplots(
        nrow, per_row, figsize=(1.7 * per_row, 2.0 * nrow + 0.4), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for ax, r, cap in zip(axes.flat, rows, captions):
        ax.imshow(images[r].transpose(1, 2, 0))
        ax.set_title(cap, fontsize=7)
    fig.suptitle(title)
    return fig


def fold_curves(histories: dict[int, "pd.DataFrame"], per_row: int = 5):
    """Small multiples: training loss and validation macro-F1 per epoch, one panel per fold."""
    n = len(histories)
    nrow = -(-n // per_row)
    fig, axes = plt.subplots(
        nrow,
        min(n, per_row),
        figsize=(2.6 * min(n, per_row), 2.4 * nrow + 0.4),
        squeeze=False,
        sharey=True,
    )
    for ax in axes.flat:
        ax.axis("off")
    for ax, (k, h) in zip(axes.flat, sorted(histories.items())):
        ax.axis("on")
        ax.plot(h["epoch"], h["train_loss"] / h["train_loss"].max(), label="train loss (scaled)")
        ax.plot(h["epoch"], h["val_macro_f1"], label="validation macro-F1")
        ax.set(title=f"fold {k}", xlabel="epoch", ylim=(0, 1.02))
    axes.flat[0].set_ylabel("score (0-1)")
    axes.flat[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Training curves per fold")
    return fig


def per_class_f1(folds: "pd.DataFrame", classes: list[str]):
    """F1 of each class in each fold (dots) and its mean (bar)."""
    long = folds.melt(
        id_vars="fold", value_vars=[f"f1_{c}" for c in classes], var_name="class", value_name="F1"
    )
    long["class"] = long["class"].str[3:]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    sns.barplot(data=long, x="class", y="F1", order=classes, errorbar=None, color="#c6dbef", ax=ax)
    sns.stripplot(data=long, x="class", y="F1", order=classes, color="#08519c", size=5, ax=ax)
    ax.set(
        title="F1 per class across folds (dots: folds, bars: mean)",
        xlabel="class",
        ylabel="F1 (0-1)",
        ylim=(0, 1.02),
    )
    return fig


def group_before_after(result: dict, metric: str, label: str, title: str):
    """A metric per group with its interval, before and after mitigation; groups too small to
    judge are drawn hollow."""
    groups = list(result["groups"])
    x = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.8 * len(groups) + 2.5), 3.4))
    models = [mod for mod in ("before", "after") if mod in result["groups"][groups[0]][metric]]
    for j, (mod, colour) in enumerate(zip(models, ("#cb181d", "#2171b5"))):
        cells = [result["groups"][g][metric] for g in groups]
        val = np.array([np.nan if c[mod]["value"] is None else c[mod]["value"] for c in cells])
        lo = np.array([np.nan if c[mod]["ci_low"] is None else c[mod]["ci_low"] for c in cells])
        hi = np.array([np.nan if c[mod]["ci_high"] is None else c[mod]["ci_high"] for c in cells])
        judged = np.array([c["judged"] for c in cells])
        xs = x + (j - (len(models) - 1) / 2) * 0.22
        ax.errorbar(xs, val, yerr=[val - lo, hi - val], fmt="none", ecolor=colour, capsize=3)
        ax.scatter(xs[judged], val[judged], color=colour, label=mod, zorder=3)
        ax.scatter(xs[~judged], val[~judged], facecolors="white", edgecolors=colour, zorder=3)
    ax.set_xticks(
        x,
        groups,
        rotation=30 if len(groups) > 4 else 0,
        ha="right" if len(groups) > 4 else "center",
    )
    ax.set(title=title, xlabel="group", ylabel=f"{label} (0-1)")
    ax.legend(fontsize=8, loc="lower left")
    return fig
