"""Tables and figures of the train report, from a TrainRun (the notebook only displays them)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from maskutils.core import fmt, stats
from maskutils.stages.train.run import TrainRun, input_side


def comparison_table(run: TrainRun) -> pd.DataFrame:
    """One row per model: test macro-F1 and accuracy with intervals, the best validation macro-F1
    (what early stopping chose on), size and speed; the model the later stages study is marked."""
    rows = []
    for r in run.results:
        val = None if r.history is None else r.history["val_macro_f1"].max()
        rows.append(
            {
                "model": r.name + (" (studied)" if r.kind == run.study else ""),
                "macro-F1": fmt.ci(r.metrics["macro_f1"]),
                "validation macro-F1": "" if val is None else f"{val:.3f}",
                "accuracy": fmt.ci(r.metrics["accuracy"]),
                "parameters": fmt.num(r.parameters),
                "train time (s)": round(r.train_seconds, 1),
                "inference (images/s)": round(r.inference_images_per_second),
            }
        )
    return pd.DataFrame(rows).set_index("model")


def study_text(run: TrainRun) -> str:
    """Which model the later stages study, and why: named in params, or chosen on validation."""
    name = run.by_kind(run.study).name
    if run.chosen is None:
        return f"Studied by the later stages: **{name}** (`model: {run.study}` in the params)."
    scores = ", ".join(f"{k} {v:.3f}" for k, v in run.chosen.items())
    return (
        f"Studied by the later stages: **{name}**, chosen by `model: best` on validation "
        f"macro-F1 ({scores}); the test images played no part in the choice."
    )


def classification_table(metrics: dict) -> pd.DataFrame:
    """Per-class precision / recall / F1 / support, then macro and weighted averages."""
    t = pd.DataFrame(metrics["per_class"]).T[["precision", "recall", "f1", "support"]]
    t = t[t["support"] > 0]
    sup = t["support"].astype(float)
    t.loc["macro avg"] = [t["precision"].mean(), t["recall"].mean(), t["f1"].mean(), sup.sum()]
    t.loc["weighted avg"] = [*(t.iloc[:-1, :3].mul(sup, axis=0).sum() / sup.sum()), sup.sum()]
    t["support"] = t["support"].astype(int)
    return t.round(3)


def confidence(predictions: pd.DataFrame) -> pd.Series:
    """Probability the model gave to its predicted class."""
    cols = [c for c in predictions.columns if c.startswith("p_")]
    return predictions[cols].max(axis=1)


def misclassified(predictions: pd.DataFrame, n: int) -> pd.DataFrame:
    """The n most confident mistakes."""
    wrong = predictions[predictions["true"] != predictions["pred"]]
    return (
        wrong.assign(confidence=confidence(wrong))
        .sort_values("confidence", ascending=False)
        .head(n)
    )


def extremes_per_class(predictions: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Per predicted class, the k most and k least confident predictions (tagged)."""
    t = predictions.assign(confidence=confidence(predictions))
    parts = []
    for _, g in t.groupby("pred", sort=True):
        g = g.sort_values("confidence", ascending=False)
        parts += [g.head(k).assign(which="most"), g.tail(k).assign(which="least")]
    return pd.concat(parts) if parts else t.head(0)


def training_curves(histories: dict[str, pd.DataFrame]):
    """Train vs validation loss and macro-F1 per epoch, one row per model. A column a history
    lacks is not drawn (a head trained on cached features records no validation loss)."""
    fig, axes = plt.subplots(len(histories), 2, figsize=(10, 3 * len(histories)), squeeze=False)
    lines = [
        (0, "train_loss", dict(label="train")),
        (0, "val_loss", dict(label="validation")),
        (1, "train_accuracy", dict(label="train accuracy", linestyle=":")),
        (1, "val_macro_f1", dict(label="validation macro-F1")),
    ]
    for row, (name, h) in zip(axes, histories.items()):
        for ax, column, style in lines:
            if column in h and h[column].notna().any():
                row[ax].plot(h["epoch"], h[column], **style)
        row[0].set(title=f"{name}: loss", xlabel="epoch", ylabel="cross-entropy")
        row[1].set(
            title=f"{name}: validation macro-F1",
            xlabel="epoch",
            ylabel="score (0-1)",
            ylim=(0, 1.02),
        )
        for ax in row:
            ax.legend(loc="best", fontsize=8)
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


def header(run: TrainRun, image_size: int) -> str:
    """Task, classes, device, image size, each model's input side and split sizes (Markdown)."""
    split = ", ".join(f"{k} {v}" for k, v in run.split_sizes.items())
    return (
        f"**Task** `{run.task}` · classes: {', '.join(run.classes)} · **device** `{run.device}` · "
        f"split: {split}\n\n{resolution_text(run, image_size)}\n\n{recipe_text(run.recipe)}"
    )


def recipe_text(recipe: dict | None) -> str:
    """Which recipe (`modeling.recipes`) trained the models, why, and its settings (Markdown)."""
    if recipe is None:
        return ""
    s = recipe["settings"]
    why = f" ({recipe['chosen_by']})" if recipe["chosen_by"] else " (named in params/train.yaml)"
    own = recipe["from_params"]
    tuned = (
        "every layer"
        if s["transfer"]["unfreeze"] == 1
        else (f"the last {s['transfer']['unfreeze']:.0%} of the backbone's weight tensors")
    )
    return (
        f"Recipe **`{recipe['name']}`**{why}: label smoothing {s['label_smoothing']:g}; "
        f"rotation up to {s['augment']['rotation']:g} degrees, crops keeping at least "
        f"{s['augment']['crop']:g} of each side, noise {s['augment']['noise']:g}; fine-tuning "
        f"{tuned} for {s['transfer']['epochs']} epochs."
        + (f" Set in params/train.yaml instead: {', '.join(f'`{k}`' for k in own)}." if own else "")
    )


def resolution_text(run: TrainRun, image_size: int) -> str:
    """How large the faces are cached, how that was chosen, and the side each model sees, saying
    plainly where a model is fed upsampled faces (Markdown)."""
    how = run.image_size_auto
    chosen = (
        "set in params/prepare.yaml"
        if how is None
        else f"`image_size: auto`, {how['rule']}"
        + (
            f" (median {how['median_side']:g} px over {how['measured']} faces)"
            if how["measured"]
            else ""
        )
    )
    lines = [f"Faces cached at **{image_size} px** ({chosen})."]
    for r in run.results:
        side = input_side(r, image_size).get("input_px")
        if side is None:
            continue
        if side > image_size:
            lines.append(
                f"{r.name} is fed at {side} px: the {image_size} px faces are **upsampled** "
                f"{side / image_size:.2g}x, which adds no detail."
            )
        elif side < image_size:
            lines.append(f"{r.name} is fed at {side} px (downsampled from {image_size} px).")
    return " ".join(lines)


def test_text(m: dict) -> str:
    """The headline test numbers, and the binary task's rates when there are two classes."""
    text = (
        f"Macro-F1 **{fmt.ci(m['macro_f1'])}** · accuracy **{fmt.ci(m['accuracy'])}** "
        f"on {m['n']} test images"
    )
    if "specificity" in m:
        rates = ("sensitivity", "specificity", "precision", "npv")
        text += "\n\n" + " · ".join(f"{k} **{fmt.ci(m[k])}**" for k in rates)
        text += f" (positive class: `{m['positive']}`)"
    return text


def paired_text(run: TrainRun) -> str:
    """The best two models on the same test images (Markdown)."""
    pr = run.paired
    if pr is None:
        return "_One model only: nothing to compare._"
    names = {r.kind: r.name for r in run.results}
    a, b = names[pr["a"]], names[pr["b"]]
    return (
        f"The two best on test macro-F1, **{a}** minus **{b}**, on the same {pr['n']} images: "
        f"macro-F1 difference **{fmt.ci(pr['macro_f1_difference'])}**, accuracy difference "
        f"**{fmt.ci(pr['accuracy_difference'])}** (paired bootstrap: one draw of images for "
        f"both). Only {a} right on {pr['only_a_right']} images, only {b} on "
        f"{pr['only_b_right']}: McNemar exact p = {pr['mcnemar_p']:.3g}. An interval that holds "
        "0 says the test set cannot tell the two apart."
    )


def finetune_text(run: TrainRun) -> str:
    """What fine-tuning adds over the linear probe (the same backbone frozen, the same trained
    head), on the same test images, with the verdict of the interval (Markdown)."""
    pr = run.finetune_vs_probe
    if pr is None:
        return (
            "_No fine-tuning in this recipe: the studied transfer model is its linear probe._"
            + random_init_text(run)
        )
    d = pr["macro_f1_difference"]
    verdict = _verdict(d, "fine-tuning", "beats", "is worse than", "the linear probe")
    text = (
        f"Fine-tuned minus linear probe (frozen ImageNet backbone, the head trained on its "
        f"features), on the same {pr['n']} test images: macro-F1 difference **{fmt.ci(d)}**, "
        f"accuracy **{fmt.ci(pr['accuracy_difference'])}**: {verdict}."
    )
    return text + random_init_text(run)


def _verdict(d: dict, who: str, beats: str, worse: str, than: str) -> str:
    """The one rule's verdict on a paired difference (`stats.sign`), in words (Markdown)."""
    no = "do not beat" if beats == "beat" else "does not beat"
    return {
        1: f"**{who} {beats} {than}**",
        0: f"**{who} {no} {than}**: the interval holds 0",
        -1: f"**{who} {worse} {than}**",
        None: "no verdict: the interval is missing",
    }[stats.sign(d)]


def random_init_text(run: TrainRun) -> str:
    """What the pretrained weights add over the same network trained from random weights, on the
    same test images, with the verdict of the interval (Markdown; empty without that model)."""
    pr = run.vs_random_init
    if pr is None:
        return ""
    d = pr["macro_f1_difference"]
    verdict = _verdict(
        d, "the pretrained weights", "beat", "are worse than", "random initialisation"
    )
    return (
        " Pretrained minus the same network from random weights (trained like the CNN, every "
        f"layer at `lr`), on the same test images: **{fmt.ci(d)}**: {verdict}."
    )


def captions(rows: pd.DataFrame, kind: str) -> list[str]:
    """Gallery captions: 'true → predicted (confidence)' or 'most|least: predicted (confidence)'."""
    first = rows["true"] if kind == "mistakes" else rows["which"]
    sep = " →" if kind == "mistakes" else ":"
    return [f"{a}{sep} {q} ({c:.2f})" for a, q, c in zip(first, rows["pred"], rows["confidence"])]
