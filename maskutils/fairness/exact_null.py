"""The audit's false alarms measured where no gap can be true.

A synthetic set with "nothing planted" still has real group differences: the renderer draws
children's masks smaller and black masks on dark skin with little contrast, so an audit that
flags them is right, and they cannot tell how often it raises a false alarm. Here the attribute
columns are shuffled together across the images of each true class: every group keeps its size
and its class mix, but no attribute is tied to any image's pixels or prediction, so every gap of
every grouping is zero by construction. Each shuffle is audited as the bias stage audits
(every grouping, the family adjusted, the pre-registered test); the share of shuffles with any
supported gap is the false-positive rate over all groupings (`benchmarks/bias_power.py`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from maskutils.fairness import audit as bias
from maskutils.fairness.analysis import analyse


def shuffled_attributes(rows: pd.DataFrame, true, columns: list[str], rng) -> pd.DataFrame:
    """`rows` with `columns` permuted together across the images of each class of `true`."""
    true = np.asarray(true, dtype=object)
    order = np.arange(len(rows))
    for c in pd.unique(true):
        members = order[true == c]
        order[members] = rng.permutation(members)
    out = rows.reset_index(drop=True).copy()
    out[columns] = rows[columns].to_numpy()[order]
    return out


def false_alarms(
    table: pd.DataFrame,
    rows: pd.DataFrame,
    classes: list[str],
    params: dict,
    cfg: dict,
    repeats: int,
    seed: int = 0,
) -> list[dict]:
    """Per shuffle (`repeats`, seeded): the gaps the audit of `table`'s `before` predictions
    supports after the family's adjustment (each a false alarm), and whether the pre-registered
    test fires. `params`: the bias stage's (minimum detectable gaps are skipped: they do not
    decide a verdict); `cfg`: the training recipe (seed, task)."""
    quick = {**params, "mde": {**params["mde"], "repeats": 0}}
    attributes, _ = bias.resolve(rows, params["attributes"], params["intersections"])
    base = table[["image_id", "true", "before"]]
    rng = np.random.default_rng(seed)
    out = []
    for r in range(repeats):
        shuffled = shuffled_attributes(rows, base["true"], attributes, rng)
        study = analyse(base.copy(), shuffled, classes, quick, {**cfg, "seed": seed + r}, None)
        supported = [
            f"{name}: {metric}"
            for name, res in study.results.items()
            for metric, gap in res["gaps"].items()
            if gap["supported"]
        ]
        out.append(
            {
                "supported": supported,
                "preregistered_fired": bool(study.planted and study.planted["found"]),
            }
        )
    return out
