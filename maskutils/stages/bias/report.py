"""Tables and figures of the bias report, from a BiasStudy (the notebook only displays them)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from maskutils.core import fmt
from maskutils.stages.bias.run import BiasStudy, metric_label


def group_table(study: BiasStudy, grouping: str, metrics: list[str]) -> pd.DataFrame:
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


def gap_table(study: BiasStudy) -> pd.DataFrame:
    """One row per grouping and metric: worst and best group, the gap before (and after),
    p-value."""
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
                "supported": "yes" if gap["supported"] else "no",
            }
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
    """The planted-bias check in words (Markdown)."""
    lines = [
        f"Planted: **{pl['attribute']} = {pl['group']}**, class **{pl['class']}**, "
        f"{pl.get('keep', 1):.0%} kept in training.",
        f"Recall of {pl['class']} for {pl['group']}: {fmt.ci(pl['group_recall']['before'])}; other "
        "groups: " + ", ".join(f"{g} {fmt.ci(v)}" for g, v in pl["other_groups"].items()) + ".",
        "Found by the audit (worst group, its interval below every other group's value, gap "
        f"supported): **{fmt.num(pl['found'])}**. Intervals disjoint too (stricter): "
        f"{fmt.num(pl['intervals_disjoint'])}.",
    ]
    if "gap_change" in pl:
        confident = (
            " (interval excludes 0)" if pl["narrowed_with_confidence"] else " (interval includes 0)"
        )
        lines.append(
            f"Gap to the best group: {fmt.ci(pl['gap_before'])} before, {fmt.ci(pl['gap_after'])} "
            f"after; change {fmt.ci(pl['gap_change'])}: narrowed "
            f"**{fmt.num(pl['narrowed'])}**{confident}."
        )
    return "\n\n".join(lines)


def header(s: dict, study: BiasStudy, min_group: int) -> str:
    """Images audited, task, groupings, judging threshold and the mitigation (Markdown)."""
    plan = study.plan
    text = (
        f"**{s['n']} images** audited · task `{study.task}` · groupings: "
        f"{', '.join(study.results) or 'none'} · groups under {min_group} images are not judged · "
        f"mitigation: **{plan['method']}**"
    )
    if plan["method"] != "none":
        text += f" by {' x '.join(plan['by'])} x class · mitigated folds trained now: "
        text += f"{study.trained or 'none (resumed)'}"
    return text


def findings_text(findings: list[str]) -> str:
    return "\n".join(f"- {line}" for line in findings) or "No attribute columns to audit."


def overall_table(s: dict) -> pd.DataFrame:
    """Macro-F1 and accuracy of each model on all images, and the paired change."""
    return pd.DataFrame(
        {model: {k: fmt.ci(v) for k, v in vals.items()} for model, vals in s["overall"].items()}
    ).T
