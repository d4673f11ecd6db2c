"""The `bias` stage: audit the k-fold model by group, retrain with a mitigation, compare.

"Before" is the k-fold stage's out-of-fold predictions (every image of the pool, each predicted
by the model that did not train on it). "After" retrains the same folds with the same params and
seeds, with the training rows rebalanced by `maskutils.modeling.rebalance`. Both are audited on
the same images with paired resamples (`maskutils.fairness`). The exploratory gaps are
judged as one family on adjusted p-values; the hypothesis declared in `planted` has its own
one-sided test; each test states the smallest gap it would find. Data with no attribute to group
by (and no hypothesis declared) have nothing to audit: no mitigation is trained, and the metrics
file says so and why. The output folder is made either way (dvc.yaml declares it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from maskutils.fairness.analysis import Audit, analyse, audit_summary, nothing_to_audit, unaudited
from maskutils.modeling import crossval
from maskutils.modeling.params import executor_args
from maskutils.prepare.prepared import Prepared


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
    return {"method": method, "by": by, "oversample_cap": mit["oversample_cap"]}


def run(
    p: Prepared,
    params: dict,
    kfold_dir: Path,
    out_dir: Path,
) -> BiasStudy | NothingToAudit:
    """params: the bias stage's. The k-fold stage's folds (and the recipe they used) are read
    from kfold_dir; the mitigated folds are trained (or resumed) in out_dir, which is made even
    when none is. A hypothesis declared in `planted` is tested whatever else there is to group
    by (or its missing column named)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    before = crossval.load(p, kfold_dir)
    table = before.oof[["image_id", "true"]].copy()
    rows = p.manifest.set_index("image_id").loc[table["image_id"]].reset_index()
    reason = nothing_to_audit(rows, params)
    if reason is not None and params["planted"]["attribute"] is None:
        return NothingToAudit(reason)
    cfg = before.recipe
    plan = mitigation_plan(p.manifest, params)
    models = {"before": before}
    if plan["method"] != "none":
        models["after"] = crossval.run(p, cfg, out_dir, mitigation=plan, **executor_args(params))
    for name, res in models.items():
        table[name] = table["image_id"].map(res.oof.set_index("image_id")["pred"])
    found = analyse(
        table, rows, before.classes, params, cfg, p.info["params"]["split"]["plant_bias"]
    )
    return BiasStudy(
        **vars(found),
        plan=plan,
        trained=models["after"].trained if "after" in models else [],
        recipe=cfg,
    )


def summary(study: BiasStudy | NothingToAudit, params: dict) -> dict:
    """The metrics file (reports/metrics/bias.json): the audit and the mitigation, or
    `audited: false` and why."""
    if isinstance(study, NothingToAudit):
        return unaudited(study.reason)
    return {**audit_summary(study, params), "mitigation": study.plan}
