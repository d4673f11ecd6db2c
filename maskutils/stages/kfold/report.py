"""Figures of the k-fold report: training curves per fold, F1 per class across folds."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from maskutils.core import fmt


def fold_curves(histories: dict[int, pd.DataFrame], per_row: int = 5):
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


def per_class_f1(folds: pd.DataFrame, classes: list[str]):
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


def summary_table(s: dict, confidence: float) -> pd.DataFrame:
    """Each metric across folds: mean, sd and the t-interval of the mean (cut to [0, 1])."""
    table = {name: {k: round(v, 3) for k, v in vals.items()} for name, vals in s["summary"].items()}
    return pd.DataFrame(table).T.rename(
        columns={"ci_low": f"{confidence:.0%} CI low", "ci_high": f"{confidence:.0%} CI high"}
    )


def confusion_metrics(s: dict) -> dict:
    """The summed confusion matrix of all folds, as `core.figures.confusion` draws it."""
    total = np.array(s["confusion"])
    return {
        "classes": s["classes"],
        "confusion": total.tolist(),
        "confusion_normalized": (total / np.maximum(total.sum(1, keepdims=True), 1)).tolist(),
    }


def header(s: dict, run, cfg: dict, out_dir: str) -> str:
    """Folds, images, model, task, training mode, trained and resumed folds (Markdown)."""
    resumed = sorted(set(run.folds["fold"]) - set(run.trained))
    model = cfg["transfer"]["backbone"] if cfg["model"] == "transfer" else cfg["cnn"]["preset"]
    text = (
        f"**{s['k']} folds** over {s['n']} images · model `{model}` · task `{cfg['task']}` · "
        f"trained now: {run.trained or 'none'} ({run.mode})"
    )
    return text + (f" · resumed from `{out_dir}`: {resumed}" if resumed else "")


def macro_f1_text(s: dict, confidence: float) -> str:
    f1 = s["summary"]["macro_f1"]
    interval = fmt.ci(f1["mean"], f1["ci_low"], f1["ci_high"])
    return (
        f"Macro-F1 **{interval}** ({confidence:.0%} CI of the mean across folds), sd "
        f"{fmt.num(f1['sd'])}; pooled over all out-of-fold predictions: "
        f"{fmt.num(s['pooled_macro_f1'])}."
    )
