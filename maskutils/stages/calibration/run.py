"""The `calibration` stage: how far the studied model's confidence can be trusted.

The studied model (models/study.pt) predicts the validation and test splits; its temperature is
fitted on the validation predictions only (`modeling.temperature`) and scored on the test split
before and after, with paired intervals (`core.calibration`). The k-fold stage's out-of-fold
predictions are scored as they are: each fold's model has its own validation split, whose
predictions the folds do not keep, so no temperature is fitted to them. Where the test images
have group attributes, each group's calibration is scored too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from maskutils.core import calibration as cal
from maskutils.fairness.audit import KNOWN
from maskutils.modeling import checkpoint, temperature
from maskutils.modeling.predict import predict_logits
from maskutils.stages.contract import Inputs


@dataclass
class Calibration:
    classes: list[str]
    model_name: str
    temperature: float
    validation_nll: dict  # before and after scaling (the fitted quantity)
    test: dict  # scores before and after scaling, and the paired change
    out_of_fold: dict | None  # the k-fold predictions' scores (before scaling only)
    diagrams: dict[str, pd.DataFrame]  # reliability bins: test before/after, out of fold
    groups: dict  # attribute -> group -> scores before and after (test split), or a reason


def attributes(manifest: pd.DataFrame, given) -> list[str]:
    """The columns to group by: `auto`, the known attributes the data have."""
    if given == "auto":
        return [a for a in KNOWN if a in manifest.columns and manifest[a].notna().any()]
    for a in given:
        if a not in manifest.columns:
            raise KeyError(f"calibration: attributes names {a!r}, which the manifest lacks")
    return list(given)


def run(inputs: Inputs, params: dict) -> Calibration:
    """The studied model (models/study.pt) on the prepared data's validation and test splits,
    and the k-fold stage's out-of-fold predictions (data/kfold/predictions.csv, if any)."""
    p, kfold_predictions = inputs.prepared, inputs.path("data/kfold") / "predictions.csv"
    model, meta = checkpoint.load(inputs.path("models/study.pt"))
    classes = meta["classes"]
    _, y = p.task(meta["task"])
    val, test = p.rows("val"), p.rows("test")
    z_val, z_test = (predict_logits(model, p.images[r]) for r in (val, test))
    t = temperature.fit(z_val, y[val])
    probs = {"before": temperature.softmax(z_test), "after": temperature.softmax(z_test, t)}
    kw = dict(
        bins=params["bins"],
        reps=params["bootstrap"],
        confidence=params["confidence"],
        seed=params["seed"],
    )
    diagrams = {f"test, {k}": cal.reliability(v, y[test], params["bins"]) for k, v in probs.items()}
    oof = None
    if kfold_predictions.is_file():
        table = pd.read_csv(kfold_predictions, dtype={"image_id": str})
        index = {c: k for k, c in enumerate(classes)}
        y_oof = table["true"].map(index).to_numpy()
        p_oof = table[[f"p_{c}" for c in classes]].to_numpy()
        oof = {**cal.scores({"before": p_oof}, y_oof, **kw), "n": len(table)}
        diagrams["out of fold"] = cal.reliability(p_oof, y_oof, params["bins"])
    rows = p.manifest.iloc[test]
    groups = {}
    for a in attributes(p.manifest, params["attributes"]):
        values = rows[a].astype("string").fillna("unknown").to_numpy()
        groups[a] = {}
        for g in sorted(set(values)):
            at = values == g
            if at.sum() < params["min_group"]:
                groups[a][g] = {"n": int(at.sum()), "judged": False}
                continue
            sub = {k: v[at] for k, v in probs.items()}
            groups[a][g] = {
                "n": int(at.sum()),
                "judged": True,
                **cal.scores(sub, y[test][at], **kw),
            }
    return Calibration(
        classes,
        meta["name"],
        t,
        {"before": temperature.nll(z_val, y[val], 1.0), "after": temperature.nll(z_val, y[val], t)},
        {**cal.scores(probs, y[test], **kw), "n": len(test)},
        oof,
        diagrams,
        groups,
    )


def summary(c: Calibration, params: dict) -> dict:
    """The metrics file (reports/metrics/calibration.json)."""
    return {
        "model": c.model_name,
        "classes": c.classes,
        "bins": params["bins"],
        "confidence": params["confidence"],
        "bootstrap": params["bootstrap"],
        "temperature": c.temperature,
        "validation_nll": c.validation_nll,
        "test": c.test,
        "out_of_fold": c.out_of_fold,
        "groups": c.groups,
        "reliability": {
            k: d.replace({np.nan: None}).to_dict("list") for k, d in c.diagrams.items()
        },
    }
