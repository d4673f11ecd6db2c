"""The `bias` stage: audit the k-fold model by group, mitigate, compare.

"Before" is the k-fold stage's out-of-fold predictions (every image of the pool, each predicted
by the model that did not train on it). "After" is the same images predicted with the mitigation:
with `group_prior`, each fold's predictions with its group prior correction, counted on that
fold's training rows (`maskutils.fairness.group_prior`; nothing is retrained); with a
rebalancing method, the same folds retrained with the same params and seeds on rows rebalanced by
`maskutils.modeling.rebalance` (the `worst_*` methods: towards each fold's worst cells, found on
that fold's training rows by `maskutils.fairness.worst_cells`). None reads an audited row to
fit. Both are audited on the same images with paired resamples (`maskutils.fairness`). The
exploratory gaps are judged as one family on adjusted p-values; the hypothesis declared in
`planted` has its own one-sided test; each test states the smallest gap it would find. Data with
no attribute to group by (and no hypothesis declared) have nothing to audit: no mitigation is
trained, and the metrics file says so and why. The output folder is made either way (dvc.yaml
declares it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from maskutils.fairness import group_prior, worst_cells
from maskutils.fairness.analysis import Audit, analyse, audit_summary, nothing_to_audit, unaudited
from maskutils.modeling import crossval, rebalance
from maskutils.modeling.params import executor_args
from maskutils.prepare.prepared import Prepared
from maskutils.stages.contract import Inputs


@dataclass
class BiasStudy(Audit):
    plan: dict  # the mitigation actually used
    trained: list[int]  # mitigated folds trained by this run (the rest resumed from disk)
    recipe: dict  # the k-fold stage's training recipe, which the mitigated folds reuse


@dataclass
class NothingToAudit:
    reason: str  # why no group can be compared (`analysis.nothing_to_audit`)


def mitigation_plan(manifest: pd.DataFrame, params: dict) -> dict:
    mit = params["mitigation"]
    by = mit["by"]
    if by == "auto":  # gender, else the first other known attribute the data have
        by = [
            a
            for a in ("gender", "age", "skin_tone")
            if a in manifest.columns and manifest[a].notna().any()
        ][:1]
    for a in by:
        if a not in manifest.columns:
            raise KeyError(f"bias: mitigation.by names {a!r}, which the manifest does not have")
    method = mit["method"] if by else "none"
    plan = {"method": method, "by": by}
    if method == "group_prior":
        return {**plan, "strength": mit["strength"]}
    if method in rebalance.WORST:
        return {**plan, "count": mit["worst_cells"], "boost": mit["worst_boost"]}
    return {**plan, "oversample_cap": mit["oversample_cap"]}


def run(inputs: Inputs, params: dict) -> BiasStudy | NothingToAudit:
    """params: the bias stage's. The k-fold stage's folds (and the recipe they used) are read
    from data/kfold; the mitigated folds are trained (or resumed) in data/bias, which is made
    even when none is. A hypothesis declared in `planted` is tested whatever else there is to
    group by (or its missing column named)."""
    p, kfold_dir, out_dir = inputs.prepared, inputs.path("data/kfold"), inputs.path("data/bias")
    out_dir.mkdir(parents=True, exist_ok=True)
    before = crossval.load(p, kfold_dir)
    table = before.oof[["image_id", "true"]].copy()
    rows = p.manifest.set_index("image_id").loc[table["image_id"]].reset_index()
    reason = nothing_to_audit(rows, params)
    if reason is not None and params["planted"]["attribute"] is None:
        return NothingToAudit(reason)
    cfg = before.recipe
    plan = mitigation_plan(p.manifest, params)
    predictions, trained = {"before": before.oof}, []
    if plan["method"] == "group_prior":
        predictions["after"] = corrected(p, before, plan)
        predictions["after"].to_csv(out_dir / "predictions.csv", index=False)
    elif plan["method"] != "none":
        trained_with = plan
        if plan["method"] in rebalance.WORST:
            plan, trained_with = targeted(p, before, plan, params["threads"])
        after = crossval.run(p, cfg, out_dir, mitigation=trained_with, **executor_args(params))
        predictions["after"], trained = after.oof, after.trained
    for name, oof in predictions.items():
        table[name] = table["image_id"].map(oof.set_index("image_id")["pred"])
    found = analyse(
        table, rows, before.classes, params, cfg, p.info["params"]["split"]["plant_bias"]
    )
    return BiasStudy(
        **vars(found),
        plan=plan,
        trained=trained,
        recipe=cfg,
    )


def targeted(p: Prepared, before: crossval.KFoldRun, plan: dict, threads: int) -> tuple[dict, dict]:
    """(the plan as reported: each fold's worst cells with their inner-fold recalls, the plan
    the folds train with: each fold's cells as [group, class code]). The cells of a fold are
    found on that fold's training rows alone (`fairness.worst_cells`)."""
    cfg, classes = before.recipe, before.classes
    _, y = p.task(cfg["task"])
    folds = crossval.plan(p, y, crossval.VAL_FRACTION, cfg["seed"])
    sets = {str(f["fold"]): f["train"] for f in folds}
    found = worst_cells.find(p, cfg, len(classes), sets, plan["by"], plan["count"], threads)
    reported = {
        k: [{**c, "class": classes[c["class"]]} for c in cells] for k, cells in found.items()
    }
    cells = {k: [[c["group"], c["class"]] for c in v] for k, v in found.items()}
    rest = {k: v for k, v in plan.items() if k != "count"}
    return {**plan, "cells_by_fold": reported}, {**rest, "cells_by_fold": cells}


def corrected(p: Prepared, before: crossval.KFoldRun, plan: dict) -> pd.DataFrame:
    """The k-fold out-of-fold predictions, each fold's with the group prior correction counted on
    the rows that fold trained on (`fairness.group_prior`): image_id and pred."""
    cfg, classes = before.recipe, before.classes
    _, y = p.task(cfg["task"])
    keys = group_prior.group_keys(p.manifest, plan["by"])
    position = pd.Series(range(len(p.manifest)), index=p.manifest["image_id"])
    oof = before.oof
    out = []
    for f in crossval.plan(p, y, crossval.VAL_FRACTION, cfg["seed"]):
        fitted = group_prior.fit(keys[f["train"]], y[f["train"]], len(classes), plan["strength"])
        rows = oof[oof["fold"] == f["fold"]]
        probs = rows[[f"p_{c}" for c in classes]].to_numpy()
        at = position.loc[rows["image_id"]].to_numpy()
        pred = group_prior.apply(probs, keys[at], fitted).argmax(1)
        out.append(pd.DataFrame({"image_id": rows["image_id"], "pred": np.take(classes, pred)}))
    return pd.concat(out, ignore_index=True)


def summary(study: BiasStudy | NothingToAudit, params: dict) -> dict:
    """The metrics file (reports/metrics/bias.json): the audit and the mitigation, or
    `audited: false` and why."""
    if isinstance(study, NothingToAudit):
        return unaudited(study.reason)
    return {**audit_summary(study, params), "mitigation": study.plan}
