"""Predictions tables and everything measured from them: metrics with intervals, curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

from maskutils.core import metrics as m
from maskutils.core.stats import ci


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
