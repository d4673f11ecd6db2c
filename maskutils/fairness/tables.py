"""Tables and figures of a bias audit (`fairness.analysis.Audit`), shared by the bias and
external reports."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from maskutils.core import fmt
from maskutils.fairness.analysis import Audit, detectable, metric_label, preregistered_text


def group_table(study: Audit, grouping: str, metrics: list[str]) -> pd.DataFrame:
    """One row per group: n, then each metric before (and after) as 'value [low, high]'."""
    rows = []
    for group, v in study.results[grouping]["groups"].items():
        row = {"group": group, "n": v["n"]}
        for metric in metrics:
            for model in ("before", "after"):
                if model in v[metric]:
                    cell = (
                        fmt.ci(v[metric][model])
                        if v[metric]["judged"]
                        else f"({fmt.num(v[metric][model]['value'])}, n={v[metric]['n']})"
                    )
                    row[f"{metric_label(metric)} {model}"] = cell
        rows.append(row)
    return pd.DataFrame(rows).set_index("group")


def gap_table(study: Audit) -> pd.DataFrame:
    """One row per grouping and metric: worst and best group, the gap before (and after), the
    p-value raw and adjusted, and the minimum detectable gap (with the group it was simulated
    against)."""
    rows = []
    for name, res in study.results.items():
        for metric, gap in res["gaps"].items():
            row = {
                "grouping": name,
                "metric": metric_label(metric),
                "worst": gap["worst"],
                "best": gap["best"],
                "difference": fmt.ci(gap["before"]["difference"]),
                "ratio": fmt.ci(gap["before"]["ratio"]),
                "p": f"{gap['p_value']:.3g}",
                f"p {study.family['method']}": f"{gap['p_adjusted']:.3g}",
                "supported": "yes" if gap["supported"] else "no",
            }
            if "mde" in gap:
                row["detectable"] = f"{detectable(gap['mde'])} ({gap['mde']['target']})"
            if "change_after" in gap:
                row["difference after"] = fmt.ci(gap["after"]["difference"])
                row["change"] = fmt.ci(gap["change_after"])
            rows.append(row)
    return pd.DataFrame(rows).set_index(["grouping", "metric"]) if rows else pd.DataFrame()


def group_before_after(result: dict, metric: str, label: str, title: str):
    """A metric per group with its interval, before and after mitigation; groups too small to
    judge are drawn hollow."""
    groups = list(result["groups"])
    x = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.8 * len(groups) + 2.5), 3.4))
    models = [mod for mod in ("before", "after") if mod in result["groups"][groups[0]][metric]]
    for j, (mod, colour) in enumerate(zip(models, ("#cb181d", "#2171b5"))):
        cells = [result["groups"][g][metric] for g in groups]
        val = np.array([np.nan if c[mod]["value"] is None else c[mod]["value"] for c in cells])
        lo = np.array([np.nan if c[mod]["ci_low"] is None else c[mod]["ci_low"] for c in cells])
        hi = np.array([np.nan if c[mod]["ci_high"] is None else c[mod]["ci_high"] for c in cells])
        judged = np.array([c["judged"] for c in cells])
        xs = x + (j - (len(models) - 1) / 2) * 0.22
        ax.errorbar(xs, val, yerr=[val - lo, hi - val], fmt="none", ecolor=colour, capsize=3)
        ax.scatter(xs[judged], val[judged], color=colour, label=mod, zorder=3)
        ax.scatter(xs[~judged], val[~judged], facecolors="white", edgecolors=colour, zorder=3)
    ax.set_xticks(
        x,
        groups,
        rotation=30 if len(groups) > 4 else 0,
        ha="right" if len(groups) > 4 else "center",
    )
    ax.set(title=title, xlabel="group", ylabel=f"{label} (0-1)")
    ax.legend(fontsize=8, loc="lower left")
    return fig


def plotted_metrics(res: dict) -> list[str]:
    """Accuracy, and the recall of the class whose gap between groups is largest."""
    recalls = {
        k: g["before"]["difference"]["value"]
        for k, g in res["gaps"].items()
        if k.startswith("recall_")
    }
    return ["accuracy"] + ([max(recalls, key=recalls.get)] if recalls else [])


def planted_text(pl: dict) -> str:
    """The pre-registered test in words, with what was planted in training and whether the
    mitigation narrowed the difference with confidence (Markdown)."""
    plant = pl["planted_in_training"]
    where = ", ".join(f"{k} = {v}" for k, v in (plant.get("where") or {}).items())
    lines = [
        (
            f"Planted in training: {where}, {plant.get('keep', 1):.0%} kept."
            if where and plant.get("keep", 1) < 1
            else "Nothing was planted in training (`split.plant_bias`): the hypothesis should "
            "not be found."
        ),
        preregistered_text(pl),
    ]
    if "exploratory_supported" in pl:
        lines.append(
            "The same gap in the exploratory family (two-sided, adjusted): supported "
            f"**{fmt.num(pl['exploratory_supported'])}**."
        )
    if "narrowed" in pl:
        lines.append(
            f"Mitigation narrowed the difference: **{fmt.num(pl['narrowed'])}**; with confidence "
            f"(paired interval above 0): **{fmt.num(pl['narrowed_with_confidence'])}** (change "
            f"{fmt.ci(pl['change_after'])})."
        )
    return "\n\n".join(lines)


def findings_text(findings: list[str]) -> str:
    return "\n".join(f"- {line}" for line in findings) or "No attribute columns to audit."


def overall_table(s: dict) -> pd.DataFrame:
    """Macro-F1 and accuracy of each model on all images, and the paired change."""
    return pd.DataFrame(
        {model: {k: fmt.ci(v) for k, v in vals.items()} for model, vals in s["overall"].items()}
    ).T
