"""The `bias` stage: audit the k-fold model by group, retrain with a mitigation, compare.

"Before" is the k-fold stage's out-of-fold predictions (every image of the pool, each predicted
by the model that did not train on it). "After" retrains the same folds with the same params and
seeds, with the training rows rebalanced by `maskutils.modeling.rebalance`. Both are audited on
the same images with paired resamples (`maskutils.stages.bias.audit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from maskutils.core import fmt
from maskutils.core.labels import task_label
from maskutils.modeling import crossval
from maskutils.prepare.prepared import Prepared
from maskutils.stages.bias import audit as bias

LABELS = {
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "miss_rate_no_mask": "miss rate on no_mask",
}


@dataclass
class BiasStudy:
    classes: list[str]
    table: (
        pd.DataFrame
    )  # image_id, true, before, after (predicted classes), one column per grouping
    plan: dict  # the mitigation actually used
    results: dict  # grouping -> bias.audit(...)
    overall: dict
    planted: dict | None
    trained: list[int]  # mitigated folds trained by this run (the rest resumed from disk)
    task: str  # the task of the k-fold recipe


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
) -> BiasStudy:
    """params: the bias stage's. The k-fold stage's folds (and the recipe they used) are read
    from kfold_dir; the mitigated folds are trained (or resumed) in out_dir."""
    before = crossval.load(p, kfold_dir)
    cfg = before.recipe
    plan = mitigation_plan(p.manifest, params)
    models = {"before": before}
    if plan["method"] != "none":
        models["after"] = crossval.run(p, cfg, out_dir, mitigation=plan)
    table = before.oof[["image_id", "true"]].copy()
    for name, res in models.items():
        table[name] = table["image_id"].map(res.oof.set_index("image_id")["pred"])
    rows = p.manifest.set_index("image_id").loc[table["image_id"]].reset_index()
    attributes, intersections = bias.resolve(
        p.manifest, params["attributes"], params["intersections"]
    )
    results = {}
    for columns in [[a] for a in attributes] + intersections:
        groups = bias.group_labels(rows, columns)
        table[groups.name] = groups.to_numpy()
        results[groups.name] = bias.audit(
            table["true"],
            {k: table[k] for k in models},
            groups,
            before.classes,
            min_group=params["min_group"],
            reps=params["bootstrap"],
            permutations=params["permutations"],
            confidence=params["confidence"],
            seed=cfg["seed"],
        )
    overall = bias.overall(
        table["true"],
        {k: table[k] for k in models},
        before.classes,
        params["bootstrap"],
        params["confidence"],
        cfg["seed"],
    )
    planted = planted_check(
        results, p.info["params"]["split"]["plant_bias"], cfg["task"], before.classes
    )
    return BiasStudy(
        before.classes,
        table,
        plan,
        results,
        overall,
        planted,
        models["after"].trained if "after" in models else [],
        cfg["task"],
    )


def planted_check(results: dict, plant: dict, task: str, classes: list[str]) -> dict | None:
    """For a bias planted as {attribute: group, label: class}: is that group the worst on that
    class's recall, its interval below every other judged group's value and the gap supported
    (`found`)? Are the intervals disjoint too (a stricter test than needed: two overlapping
    intervals can still differ)? Did mitigation narrow the gap to the best group?"""
    where = dict(plant.get("where") or {})
    label = where.pop("label", None)
    if plant.get("keep", 1.0) >= 1.0 or label is None or len(where) != 1:
        return None
    ((attribute, group),) = where.items()
    cls = task_label(label, task)
    metric = f"recall_{cls}"
    res = results.get(attribute)
    if res is None or cls not in classes or group not in res["groups"]:
        return {"attribute": attribute, "group": group, "class": cls, "audited": False}
    cell = res["groups"][group][metric]
    others = {
        g: v[metric]["before"]
        for g, v in res["groups"].items()
        if g != group and v[metric]["judged"]
    }
    gap = res["gaps"].get(metric, {})
    judged = bool(
        cell["judged"]
        and others
        and cell["before"]["ci_high"] is not None
        and all(o["value"] is not None and o["ci_low"] is not None for o in others.values())
    )
    worst = gap.get("worst") == group
    excludes = judged and all(cell["before"]["ci_high"] < o["value"] for o in others.values())
    disjoint = judged and all(cell["before"]["ci_high"] < o["ci_low"] for o in others.values())
    out = {
        "attribute": attribute,
        "group": group,
        "class": cls,
        "metric": metric,
        "audited": True,
        "keep": plant["keep"],
        "group_recall": cell,
        "other_groups": others,
        "worst": worst,
        "interval_excludes_others": excludes,
        "intervals_disjoint": disjoint,
        "gap_supported": bool(worst and gap.get("supported")),
        "found": bool(worst and excludes and gap.get("supported")),
    }
    if "change_after" in gap and gap.get("worst") == group:
        change = gap["change_after"]
        out.update(
            {
                "gap_before": gap["before"]["difference"],
                "gap_after": gap["after"]["difference"],
                "gap_change": change,
                "narrowed": change["value"] > 0,
                "narrowed_with_confidence": change["ci_low"] is not None and change["ci_low"] > 0,
            }
        )
    return out


def findings(study: BiasStudy, confidence: float) -> list[str]:
    """The audit in words: which gaps the data supports, which it does not, what is too small."""
    out = []
    for name, res in study.results.items():
        supported, unsupported = [], []
        for metric, gap in res["gaps"].items():
            d = gap["before"]["difference"]
            if gap["supported"]:
                worse, better = (
                    res["groups"][gap["worst"]][metric]["before"],
                    res["groups"][gap["best"]][metric]["before"],
                )
                text = (
                    f"**{name}**, {metric_label(metric)}: {gap['worst']} {fmt.ci(worse)} vs "
                    f"{gap['best']} {fmt.ci(better)}; "
                    f"gap {fmt.ci(d)}, permutation p = {gap['p_value']:.3g}: supported by the data."
                )
                if "change_after" in gap:
                    text += (
                        f" After mitigation the gap is {fmt.ci(gap['after']['difference'])} "
                        f"(change {fmt.ci(gap['change_after'])})."
                    )
                supported.append(text)
            else:
                unsupported.append(
                    f"{metric_label(metric)} (gap {fmt.num(d['value'])}, p = {gap['p_value']:.2g})"
                )
        out += supported
        if unsupported:
            out.append(
                f"**{name}**: no difference supported by the data ({1 - confidence:.0%} level) in "
                + "; ".join(unsupported)
                + "."
            )
        small = sorted(
            {
                g
                for g, v in res["groups"].items()
                for k, s in v.items()
                if isinstance(s, dict) and not s["judged"]
            }
        )
        if small:
            out.append(f"**{name}**: too few images to judge some metrics for {', '.join(small)}.")
    return out


def summary(study: BiasStudy, params: dict) -> dict:
    """The metrics file (reports/metrics/bias.json)."""
    return {
        "classes": study.classes,
        "n": len(study.table),
        "min_group": params["min_group"],
        "confidence": params["confidence"],
        "bootstrap": params["bootstrap"],
        "permutations": params["permutations"],
        "mitigation": study.plan,
        "overall": study.overall,
        "attributes": study.results,
        "planted": study.planted,
        "findings": findings(study, params["confidence"]),
    }


def metric_label(metric: str) -> str:
    return LABELS.get(metric) or f"recall of {metric[len('recall_') :]}"
