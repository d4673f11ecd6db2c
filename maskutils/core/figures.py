"""Figures several reports share: confusion matrices and image galleries."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns


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
