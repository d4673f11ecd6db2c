"""A bias audit end to end, on any predictions with attributes: every grouping audited
(`fairness.audit`), the exploratory family adjusted, minimum detectable gaps
(`fairness.power`), the overall cost of a mitigation, the pre-registered one-sided test, and the
findings in words. The bias stage runs it on out-of-fold predictions; the external stage on each
external test set with attributes. Images with nothing to group by are not audited, and their
metrics block says why (`unaudited`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from maskutils.core import fmt
from maskutils.core import metrics as m
from maskutils.core.labels import task_label
from maskutils.core.stats import ADJUSTMENTS
from maskutils.fairness import audit as bias
from maskutils.fairness import power

LABELS = {
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "miss_rate_no_mask": "miss rate on no_mask",
}


@dataclass
class Audit:
    classes: list[str]
    table: pd.DataFrame  # image_id, true, before, after (predicted classes), a column per grouping
    results: dict  # grouping -> audit.audit(...), p-values adjusted, with minimum detectable gaps
    family: dict  # the multiple-comparison family: method, size, level a single gap must pass
    overall: dict
    planted: dict | None  # the pre-registered test


def analyse(
    table: pd.DataFrame,
    rows: pd.DataFrame,
    classes: list[str],
    params: dict,
    cfg: dict,
    plant: dict,
) -> Audit:
    """The audit of `table` (true, before and, if mitigated, after: predicted classes per image;
    a column per grouping is added) with the attributes of `rows` (its images' manifest rows):
    every grouping audited, the family adjusted, minimum detectable gaps, the overall cost and
    the pre-registered test. `cfg`: the training recipe (seed, task); `plant`: what the prepare
    stage planted (for the record)."""
    models = [m for m in ("before", "after") if m in table]
    attributes, intersections = bias.resolve(rows, params["attributes"], params["intersections"])
    results, grouped = {}, {}
    for columns in [[a] for a in attributes] + intersections:
        groups = bias.group_labels(rows, columns)
        table[groups.name] = groups.to_numpy()
        grouped[groups.name] = groups
        results[groups.name] = bias.audit(
            table["true"],
            {k: table[k] for k in models},
            groups,
            classes,
            **resampling(params, cfg),
        )
    alpha = 1 - params["confidence"]
    size = bias.adjust(results, params["adjust"], params["confidence"], "before")
    family = {"method": params["adjust"], "size": size, "level": alpha / max(size, 1)}
    if params["mde"]["repeats"]:
        for name, groups in grouped.items():
            mdes = power.exploratory(
                table["true"],
                table["before"],
                groups,
                classes,
                min_group=params["min_group"],
                level=family["level"],
                mde=params["mde"],
                permutations=params["permutations"],
                seed=cfg["seed"],
            )
            for metric, mde in mdes.items():
                results[name]["gaps"][metric]["mde"] = mde
    overall = bias.overall(
        table["true"],
        {k: table[k] for k in models},
        classes,
        params["bootstrap"],
        params["confidence"],
        cfg["seed"],
    )
    planted = preregistered(table, rows, models, params, classes, cfg, plant, results)
    return Audit(classes, table, results, family, overall, planted)


def nothing_to_audit(rows: pd.DataFrame, params: dict) -> str | None:
    """Why the images of `rows` (their manifest rows) cannot be audited by group: none to audit,
    or no attribute to group them by (`attributes: auto` finds none of gender, age and
    skin_tone); None when there is a grouping. Named columns that are missing are an error."""
    if not len(rows):
        return "no image to audit"
    attributes, intersections = bias.resolve(rows, params["attributes"], params["intersections"])
    if attributes or intersections:
        return None
    return (
        "the images carry no group attributes (attributes: auto in params/bias.yaml looks for "
        f"{', '.join(bias.KNOWN[:-1])} and {bias.KNOWN[-1]})"
    )


def unaudited(reason: str) -> dict:
    """The metrics block of an audit that did not run, and why. A block that holds an audit has
    no `audited` key: readers take a block without one for an audit."""
    return {"audited": False, "reason": reason}


def hypothesis(h: dict, manifest: pd.DataFrame, task: str, classes: list[str]) -> dict | None:
    """The pre-registered hypothesis of params `planted`, its metric named as the audit names it
    (a recall's class mapped to the task's); None when there is none."""
    if h["attribute"] is None:
        return None
    if h["attribute"] not in manifest.columns:
        raise KeyError(
            f"bias: planted.attribute names {h['attribute']!r}, which the manifest does not have"
        )
    values = sorted(manifest[h["attribute"]].dropna().astype(str).unique())
    if h["group"] not in values:
        raise ValueError(
            f"bias: planted.group is {h['group']!r}, not a value of {h['attribute']} "
            f"({', '.join(values)})"
        )
    metric = h["metric"]
    if metric == "recall":
        if h["class"] is None:
            raise ValueError("bias: planted.class must name a class when planted.metric is recall")
        metric = f"recall_{task_label(h['class'], task)}"
        if metric not in bias.metric_names(classes):
            raise ValueError(
                f"bias: planted.class {h['class']!r} is not a class of task {task!r} "
                f"({', '.join(classes)})"
            )
    return {**{k: h[k] for k in ("attribute", "group", "direction")}, "metric": metric}


def preregistered(table, rows, models, params, classes, cfg, plant, results) -> dict | None:
    """The pre-registered one-sided test (`audit.directed`) of the hypothesis, its minimum
    detectable gap, and whether the exploratory audit supports the same gap (after adjustment).
    `plant`: what the prepare stage planted in training (for the record)."""
    h = hypothesis(params["planted"], rows, cfg["task"], classes)
    if h is None:
        return None
    groups = bias.group_labels(rows, [h["attribute"]])
    kw = {k: h[k] for k in ("group", "metric", "direction")}
    out = {
        **h,
        "planted_in_training": plant,
        **bias.directed(
            table["true"],
            {k: table[k] for k in models},
            groups,
            classes,
            **kw,
            **resampling(params, cfg),
        ),
    }
    gap = results.get(h["attribute"], {}).get("gaps", {}).get(h["metric"])
    if gap is not None:
        side = "worst" if h["direction"] == "lower" else "best"
        out["exploratory_supported"] = bool(gap["supported"] and gap[side] == h["group"])
    if "change_after" in out:
        out.update(narrowing(out, table, groups, classes))
    if params["mde"]["repeats"] and out["judged"]:
        out["mde"] = power.preregistered(
            table["true"],
            table["before"],
            groups,
            classes,
            **kw,
            alpha=1 - params["confidence"],
            mde=params["mde"],
            permutations=params["permutations"],
            seed=cfg["seed"],
        )
    return out


def narrowing(pl: dict, table: pd.DataFrame, groups: pd.Series, classes: list[str]) -> dict:
    """Whether the mitigation narrowed the pre-registered gap `pl` (its `before`, `after` and
    paired `change_after`): the difference ran the hypothesis's way and got smaller (`narrowed`);
    with confidence when the change's interval is above 0 and the worse side really gained: its
    metric rose and its macro-F1 over all its images did not fall (a gap closed by lowering the
    better side, or by predicting the class everywhere, does not count)."""
    change, b, a = pl["change_after"], pl["before"], pl["after"]
    worse = b["difference"]["value"] is not None and b["difference"]["value"] > 0
    side = "group" if pl["direction"] == "lower" else "rest"
    rows = (groups.astype(str) == pl["group"]).to_numpy()
    rows = rows if side == "group" else ~rows
    f1 = {k: side_macro_f1(table["true"], table[k], rows, classes) for k in ("before", "after")}
    gained = bool(
        a[side]["value"] is not None
        and a[side]["value"] > b[side]["value"]
        and f1["after"] >= f1["before"]
    )
    return {
        "worse_side": side,
        "worse_side_macro_f1": f1,
        "narrowed": bool(worse and change["value"] > 0),
        "narrowed_with_confidence": bool(
            worse and gained and change["ci_low"] is not None and change["ci_low"] > 0
        ),
    }


def side_macro_f1(true, pred, rows: np.ndarray, classes: list[str]) -> float:
    """Macro-F1 over the images at `rows` (a boolean mask), classes present there."""
    y = bias.class_codes(np.asarray(true)[rows], classes, "true")
    p = bias.class_codes(np.asarray(pred)[rows], classes, "pred")
    return round(float(m.macro_f1_from(m.confusion(y, p, len(classes)))), 6)


def findings(study: Audit, confidence: float) -> list[str]:
    """The audit in words: the pre-registered test, then which gaps the data supports after the
    adjustment, which it does not (and how large a gap the test would have found), what is too
    small to judge."""
    fam, alpha = study.family, 1 - confidence
    method = ADJUSTMENTS[fam["method"]]
    out = [] if study.planted is None else [preregistered_text(study.planted)]
    share = _power(study)
    out.append(
        f"Exploratory: {fam['size']} gaps (best vs worst group, every grouping and metric), "
        f"permutation p-values {method}-adjusted as one family; a gap is supported when its "
        f"adjusted p is below {alpha:.0%} and its interval excludes 0."
        + (
            f" Detectable: the gap the test finds in {share:.0%} of simulations as the only real "
            "gap of the family, against the group with the fewest images."
            if share
            else ""
        )
    )
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
                    f"{gap['best']} {fmt.ci(better)}; gap {fmt.ci(d)}, permutation p = "
                    f"{gap['p_value']:.3g}, {method}-adjusted {gap['p_adjusted']:.3g}: supported "
                    "by the data."
                )
                if "change_after" in gap:
                    text += (
                        f" After mitigation the gap is {fmt.ci(gap['after']['difference'])} "
                        f"(change {fmt.ci(gap['change_after'])})."
                    )
                supported.append(text)
            else:
                unsupported.append(
                    f"{metric_label(metric)} (gap {fmt.num(d['value'])}, adjusted p = "
                    f"{gap['p_adjusted']:.2g}"
                    + (f"; detectable {detectable(gap['mde'])}" if "mde" in gap else "")
                    + ")"
                )
        out += supported
        if unsupported:
            out.append(
                f"**{name}**: no difference supported by the data ({alpha:.0%} level, adjusted) "
                "in " + "; ".join(unsupported) + "."
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


def _power(study: Audit) -> float | None:
    mdes = [g["mde"] for r in study.results.values() for g in r["gaps"].values() if "mde" in g]
    return mdes[0]["power"] if mdes else None


def detectable(mde: dict) -> str:
    """'0.100' (the minimum detectable gap), or '> 0.300' when no gap of the grid was found with
    the wanted power."""
    if mde["gap"] is not None:
        return fmt.num(mde["gap"])
    return "> " + fmt.num(mde["curve"][-1]["gap"])


def preregistered_text(pl: dict) -> str:
    """The pre-registered test in one line (Markdown)."""
    label = metric_label(pl["metric"])
    head = (
        f"**Pre-registered** (one-sided, outside the family): {label} {pl['direction']} for "
        f"{pl['attribute']} = {pl['group']} than for the other groups"
    )
    if not pl["judged"]:
        return f"{head}: too few images to judge ({pl['n']['group']} vs {pl['n']['rest']})."
    b = pl["before"]
    text = (
        f"{head}: {pl['group']} {fmt.ci(b['group'])} vs rest {fmt.ci(b['rest'])}, difference "
        f"{fmt.ci(b['difference'])}, one-sided permutation p = {pl['p_value']:.3g}: "
        f"**{'found' if pl['found'] else 'not found'}**."
    )
    if "mde" in pl:
        text += (
            f" Detectable with {pl['mde']['power']:.0%} power at these group sizes: "
            f"{detectable(pl['mde'])}."
        )
    if "change_after" in pl:
        text += (
            f" After mitigation the difference is {fmt.ci(pl['after']['difference'])} "
            f"(change {fmt.ci(pl['change_after'])})."
        )
    return text


def metric_label(metric: str) -> str:
    return LABELS.get(metric) or f"recall of {metric[len('recall_') :]}"


def resampling(params: dict, cfg: dict) -> dict:
    """The group size, resampling counts, confidence and seed every audit test uses."""
    return dict(
        min_group=params["min_group"],
        reps=params["bootstrap"],
        permutations=params["permutations"],
        confidence=params["confidence"],
        seed=cfg["seed"],
    )


def audit_summary(a: Audit, params: dict) -> dict:
    """The audit as a metrics block: sizes, settings, family, results, findings."""
    return {
        "classes": a.classes,
        "n": len(a.table),
        "min_group": params["min_group"],
        "confidence": params["confidence"],
        "bootstrap": params["bootstrap"],
        "permutations": params["permutations"],
        "family": a.family,
        "mde": params["mde"],
        "overall": a.overall,
        "attributes": a.results,
        "planted": a.planted,
        "findings": findings(a, params["confidence"]),
    }
