"""Tables for the train report, from a TrainRun's predictions (the notebook only displays them)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def classification_table(metrics: dict) -> pd.DataFrame:
    """Per-class precision / recall / F1 / support, then macro and weighted averages."""
    t = pd.DataFrame(metrics["per_class"]).T[["precision", "recall", "f1", "support"]]
    t = t[t["support"] > 0]
    sup = t["support"].astype(float)
    t.loc["macro avg"] = [t["precision"].mean(), t["recall"].mean(), t["f1"].mean(), sup.sum()]
    t.loc["weighted avg"] = [*(t.iloc[:-1, :3].mul(sup, axis=0).sum() / sup.sum()), sup.sum()]
    t["support"] = t["support"].astype(int)
    return t.round(3)


def positions(predictions: pd.DataFrame, manifest: pd.DataFrame) -> np.ndarray:
    """Manifest row position of each prediction (to show its image)."""
    where = pd.Series(np.arange(len(manifest)), index=manifest["image_id"])
    return where.loc[predictions["image_id"]].to_numpy()


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
