"""Predictions tables and everything measured from them: metrics with intervals, curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

from maskutils.core import metrics as m
from maskutils.core.stats import ci, mcnemar


def predictions_table(image_ids, y_true, probs: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """One row per image: image_id, true, pred (class names), p_<class> per class."""
    y_true = np.asarray(y_true, int)
    table = pd.DataFrame(
        {
            "image_id": list(image_ids),
            "true": [classes[i] for i in y_true],
            "pred": [classes[i] for i in probs.argmax(1)],
        }
    )
    for k, c in enumerate(classes):
        table[f"p_{c}"] = probs[:, k]
    return table


def codes(table: pd.DataFrame, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    index = {c: k for k, c in enumerate(classes)}
    return table["true"].map(index).to_numpy(int), table["pred"].map(index).to_numpy(int)


def report(
    table: pd.DataFrame,
    classes: list[str],
    positive: str | None = None,
    reps: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """Accuracy, macro/weighted F1, per-class P/R/F1/support, confusion matrices, and for a
    binary task the rates of `positive` (specificity, NPV, ...); headline numbers with bootstrap
    intervals over images."""
    n = len(classes)
    y, p = codes(table, classes)
    cm = m.confusion(y, p, n)
    pc = m.per_class(cm)
    support = pc["support"]
    boot = m.bootstrap_confusions(y, p, n, reps, seed)
    acc_samples = np.trace(boot, axis1=1, axis2=2) / len(y)
    out = {
        "n": int(len(y)),
        "accuracy": ci(float(np.trace(cm) / len(y)), acc_samples, confidence),
        "macro_f1": ci(float(m.macro_f1_from(cm)), m.macro_f1_from(boot), confidence),
        "weighted_f1": float((pc["f1"] * support).sum() / max(support.sum(), 1)),
        "macro_precision": float(pc["precision"][m.present(cm)].mean()),
        "macro_recall": float(pc["recall"][m.present(cm)].mean()),
        "per_class": {
            c: {k: float(pc[k][i]) if k != "support" else int(pc[k][i]) for k in pc}
            for i, c in enumerate(classes)
        },
        "confusion": cm.tolist(),
        "confusion_normalized": (cm / np.maximum(cm.sum(1, keepdims=True), 1)).round(4).tolist(),
        "classes": list(classes),
        "confidence": confidence,
        "bootstrap_reps": reps,
    }
    if positive is not None and n == 2:
        k = classes.index(positive)
        point, samples = m.binary_rates(cm, k), m.binary_rates(boot, k)
        out["positive"] = positive
        out.update({name: ci(float(point[name]), samples[name], confidence) for name in point})
    return out


def curves(table: pd.DataFrame, classes: list[str]) -> dict[str, dict]:
    """One-vs-rest ROC and precision-recall curves per class present, with the ROC area and the
    average precision (the PR area without optimistic interpolation)."""
    out = {}
    for c in classes:
        truth = (table["true"] == c).to_numpy()
        if truth.all() or not truth.any():
            continue
        score = table[f"p_{c}"].to_numpy()
        fpr, tpr, _ = roc_curve(truth, score)
        prec, rec, _ = precision_recall_curve(truth, score)
        out[c] = {
            "fpr": fpr,
            "tpr": tpr,
            "roc_auc": float(auc(fpr, tpr)),
            "precision": prec,
            "recall": rec,
            "pr_auc": float(average_precision_score(truth, score)),
        }
    return out


def paired(
    a: pd.DataFrame,
    b: pd.DataFrame,
    classes: list[str],
    reps: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """Two models on the same test images: macro-F1 and accuracy differences (a - b) with a
    paired bootstrap interval (one draw of images for both), and McNemar's exact test on the
    images exactly one of them gets right."""
    if list(a["image_id"]) != list(b["image_id"]):
        raise ValueError("paired comparison: the two prediction tables hold different images")
    n = len(classes)
    y, pa = codes(a, classes)
    _, pb = codes(b, classes)
    # equal seeds and sizes draw the same images for both: a paired bootstrap
    boot_a, boot_b = (m.bootstrap_confusions(y, p, n, reps, seed) for p in (pa, pb))
    cm_a, cm_b = m.confusion(y, pa, n), m.confusion(y, pb, n)
    right_a, right_b = pa == y, pb == y
    only_a, only_b = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    diag = np.trace(boot_a, axis1=1, axis2=2) - np.trace(boot_b, axis1=1, axis2=2)
    return {
        "n": int(len(y)),
        "macro_f1_difference": ci(
            float(m.macro_f1_from(cm_a) - m.macro_f1_from(cm_b)),
            m.macro_f1_from(boot_a) - m.macro_f1_from(boot_b),
            confidence,
        ),
        "accuracy_difference": ci(
            float(right_a.mean() - right_b.mean()), diag / len(y), confidence
        ),
        "only_a_right": only_a,
        "only_b_right": only_b,
        "mcnemar_p": mcnemar(only_a, only_b),
    }


def gap(
    a: pd.DataFrame,
    b: pd.DataFrame,
    classes: list[str],
    positive: str | None = None,
    reps: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """Two different test sets scored by one model: each metric of `a` minus that of `b`
    (accuracy, macro-F1, per-class recall and F1, and for a binary task sensitivity and
    specificity of `positive`), with a bootstrap interval that resamples both sets, each on
    its own. A class without images in either set has no per-class gap (None)."""
    n = len(classes)
    sides = []
    for table, s in ((a, seed), (b, seed + 1)):  # independent draws: the sets share no image
        y, p = codes(table, classes)
        cm, boot = m.confusion(y, p, n), m.bootstrap_confusions(y, p, n, reps, s)
        sides.append((cm, boot))
    out = {}
    for name, fn in _gap_metrics(classes, positive).items():
        (cm_a, boot_a), (cm_b, boot_b) = sides
        out[name] = ci(fn(cm_a) - fn(cm_b), fn(boot_a) - fn(boot_b), confidence)
    return out


def _gap_metrics(classes: list[str], positive: str | None) -> dict:
    """name -> function of one or a stack of confusion matrices (NaN where undefined)."""

    def per_class(k: int, which: str):
        def fn(cm):
            value = m.per_class(cm)[which][..., k]
            return np.where(cm.sum(-1)[..., k] > 0, value, np.nan)

        return fn

    out = {
        "accuracy": lambda cm: np.trace(cm, axis1=-2, axis2=-1) / cm.sum((-2, -1)),
        "macro_f1": m.macro_f1_from,
    }
    for k, c in enumerate(classes):
        out[f"recall_{c}"] = per_class(k, "recall")
        out[f"f1_{c}"] = per_class(k, "f1")
    if positive is not None and len(classes) == 2:
        k = classes.index(positive)
        out["sensitivity"] = lambda cm: m.binary_rates(cm, k)["sensitivity"]
        out["specificity"] = lambda cm: m.binary_rates(cm, k)["specificity"]
    return out


def worst_pair(table: pd.DataFrame) -> tuple[str, str, int, int] | None:
    """The two classes confused most often, counting both directions: (a, b, a called b, b
    called a), a the class more often called the other; None when nothing is misclassified."""
    wrong = table[table["true"] != table["pred"]]
    if not len(wrong):
        return None
    counts = wrong.groupby(["true", "pred"]).size()
    pairs = {}
    for (t, p), n in counts.items():
        key = tuple(sorted((t, p)))
        pairs[key] = pairs.get(key, 0) + int(n)
    a, b = max(sorted(pairs), key=lambda k: pairs[k])
    ab, ba = int(counts.get((a, b), 0)), int(counts.get((b, a), 0))
    return (a, b, ab, ba) if ab >= ba else (b, a, ba, ab)


def confusion_examples(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """For the worst pair of classes, up to n images of each direction of the confusion, the
    most confident mistakes first, with a `caption` 'true → predicted (probability)'."""
    pair = worst_pair(table)
    if pair is None:
        return table.head(0).assign(caption=[])
    a, b = pair[:2]
    parts = []
    for t, p in ((a, b), (b, a)):
        rows = table[(table["true"] == t) & (table["pred"] == p)]
        parts.append(rows.assign(conf=rows[f"p_{p}"]).sort_values("conf", ascending=False).head(n))
    out = pd.concat(parts)
    return out.assign(
        caption=[f"{t} → {p} ({c:.2f})" for t, p, c in zip(out["true"], out["pred"], out["conf"])]
    ).drop(columns="conf")


def worst_pair_text(table: pd.DataFrame) -> str:
    """One sentence on the worst confused pair (Markdown)."""
    pair = worst_pair(table)
    if pair is None:
        return "_No image is misclassified: there is no confused pair to show._"
    a, b, ab, ba = pair
    n_a, n_b = int((table["true"] == a).sum()), int((table["true"] == b).sum())
    return (
        f"The pair confused most often: **{a}** and **{b}**. {ab} of {n_a} {a} images are "
        f"called {b}, and {ba} of {n_b} {b} images are called {a}. Below, the most confident "
        "mistakes of each direction: what a user would look at to fix the data or the labels."
    )
