"""Tables, figures and sentences of the external report, from an ExternalStudy and its summary."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from maskutils.core import fmt, stats
from maskutils.core.figures import gallery
from maskutils.fairness.analysis import metric_label
from maskutils.stages.external.run import ExternalStudy

COUNTS = {
    "images": "images found",
    "problems": "unreadable (skipped)",
    "quality_flagged": "quality-flagged (kept, as in training)",
    "unknown_class": "class the model does not know",
    "exact_copies": "exact copy of a training image",
    "near_copies": "near copy of a training image",
    "duplicates_within": "near duplicate inside the set",
    "used": "scored",
}


def header(st: ExternalStudy) -> str:
    m = st.in_distribution
    return (
        f"Model studied: **{st.model_name}** (`{st.study_model}`), task `{st.task}`, classes "
        f"{', '.join(st.classes)}. In-distribution test split: {m['n']} images, macro-F1 "
        f"{fmt.ci(m['macro_f1'])}. External sets: {', '.join(s.name for s in st.sets) or 'none'}."
    )


def counts_table(s: dict) -> pd.DataFrame:
    """One row per reason an image was dropped (or kept), one column per set."""
    return pd.DataFrame(
        {
            name: {COUNTS[k]: fmt.num(v) for k, v in e["counts"].items()}
            for name, e in s["sets"].items()
        }
    )


def unknown_text(s: dict) -> str:
    lines = [
        f"**{name}**: dropped as unknown to the model: "
        + ", ".join(f"{label} ({n})" for label, n in e["unknown_classes"].items())
        for name, e in s["sets"].items()
        if e["unknown_classes"]
    ]
    return "\n\n".join(lines) or "Every external image is of a class the model knows."


def metrics_table(s: dict) -> pd.DataFrame:
    """In-distribution and each external set: n, accuracy, macro-F1 (and the binary rates)."""
    rows = {"in-distribution test": s["in_distribution"]}
    rows |= {name: e["metrics"] for name, e in s["sets"].items()}
    keys = [
        k
        for k in ("accuracy", "macro_f1", "sensitivity", "specificity")
        if k in rows["in-distribution test"]
    ]
    return pd.DataFrame(
        {
            name: {"n": fmt.num(m.get("n"))}
            | {
                metric_label(k) if k in ("accuracy", "macro_f1") else k: fmt.ci(m.get(k))
                for k in keys
            }
            for name, m in rows.items()
        }
    ).T


def gap_table(s: dict, name: str) -> pd.DataFrame:
    """Per metric: in-distribution, external, the gap (in minus out) and whether its interval
    excludes 0."""
    inside, outside, g = s["in_distribution"], s["sets"][name]["metrics"], s["sets"][name]["gap"]
    rows = []
    for metric, d in g.items():
        rows.append(
            {
                "metric": _label(metric),
                "in-distribution": fmt.num(_value(inside, metric)),
                "external": fmt.num(_value(outside, metric)),
                "gap (in - external)": fmt.ci(d),
                "interval excludes 0": fmt.num(_excludes_zero(d)),
            }
        )
    return pd.DataFrame(rows).set_index("metric") if rows else pd.DataFrame()


def gap_figure(s: dict):
    """Forest plot: every set's gap per metric with its interval (right of 0: worse outside)."""
    sets = [(name, e["gap"]) for name, e in s["sets"].items() if e["gap"]]
    if not sets:
        return None
    metrics = [k for k in sets[0][1] if not k.startswith("recall_")]
    y = np.arange(len(metrics))
    fig, ax = plt.subplots(figsize=(6.5, 0.38 * len(metrics) * len(sets) + 1.4))
    for j, (name, g) in enumerate(sets):
        yy = y + (j - (len(sets) - 1) / 2) * 0.25
        val = np.array([_nan(g[k]["value"]) for k in metrics])
        lo = np.array([_nan(g[k]["ci_low"]) for k in metrics])
        hi = np.array([_nan(g[k]["ci_high"]) for k in metrics])
        ax.errorbar(val, yy, xerr=[val - lo, hi - val], fmt="o", capsize=3, label=name)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(y, [_label(k) for k in metrics])
    ax.invert_yaxis()
    ax.set(xlabel="in-distribution minus external (positive: worse outside)", title="Gap")
    ax.legend(fontsize=8)
    return fig


def copies_gallery(st: ExternalStudy, name: str):
    """The first removed copies, each beside the training image it copies."""
    e = next(x for x in st.sets if x.name == name)
    if not len(e.pairs):
        return None
    caps = []
    for _, r in e.removed.head(len(e.pairs) // 2).iterrows():
        caps += [
            f"{name}: {r['reason']}" + (f", {r['bits']} bits" if r["bits"] else ""),
            "training image",
        ]
    return gallery(e.pairs, list(range(len(e.pairs))), caps, f"{name}: removed copies", per_row=6)


def side_by_side(bias: dict | None, s: dict, name: str) -> pd.DataFrame:
    """Every gap of the external audit next to the same gap of the out-of-fold audit."""
    ext = s["sets"][name]["bias"]
    if not ext.get("audited", True):
        return pd.DataFrame()
    oof = (bias or {}).get("attributes", {})
    rows = []
    for grouping, res in ext["attributes"].items():
        for metric, g in res["gaps"].items():
            o = oof.get(grouping, {}).get("gaps", {}).get(metric)
            rows.append(
                {
                    "grouping": grouping,
                    "metric": metric_label(metric),
                    "out-of-fold gap": _gap_cell(o),
                    "out-of-fold supported": fmt.num(o["supported"]) if o else "n/a",
                    f"{name} gap": _gap_cell(g),
                    f"{name} supported": fmt.num(g["supported"]),
                    f"{name} worst / best": f"{g['worst']} / {g['best']}",
                }
            )
    return pd.DataFrame(rows).set_index(["grouping", "metric"]) if rows else pd.DataFrame()


def small_groups(s: dict, name: str) -> str:
    """The groups of a set's audit too small to judge, whole or for some metrics (a class's recall
    counts only the group's images of that class): shown in the tables, flagged here; or why the
    set has no audit."""
    ext = s["sets"][name]["bias"]
    if not ext.get("audited", True):
        return f"**{name}** is not audited by group: {ext['reason']}."
    small = []
    for grouping, res in ext["attributes"].items():
        for group, v in res["groups"].items():
            cells = [c for c in v.values() if isinstance(c, dict) and "judged" in c]
            unjudged = sum(not c["judged"] for c in cells)
            if unjudged:
                small.append(
                    f"{grouping} = {group} ({v['n']} images; {unjudged} of {len(cells)} metrics)"
                )
    if not small:
        return f"Every group of **{name}** has at least {ext['min_group']} images for every metric."
    return (
        f"Too few images (under {ext['min_group']}) to judge, shown in the tables in parentheses: "
        + "; ".join(small)
        + "."
    )


def copies_text(s: dict, name: str) -> str:
    c = s["sets"][name]["counts"]
    if not c["exact_copies"] + c["near_copies"]:
        return f"**{name}**: no copies of training images."
    return (
        f"**{name}**: {c['exact_copies']} exact and {c['near_copies']} near copies of training "
        "images removed."
    )


def _gap_cell(g: dict | None) -> str:
    if g is None:
        return "n/a"
    return f"{fmt.ci(g['before']['difference'])}, p adj {g['p_adjusted']:.2g}"


def _label(metric: str) -> str:
    if metric.startswith("f1_"):
        return f"F1 of {metric[3:]}"
    return (
        metric_label(metric)
        if metric in ("accuracy", "macro_f1") or metric.startswith("recall_")
        else metric
    )


def _value(m: dict, metric: str):
    if metric.startswith(("recall_", "f1_")):
        which, cls = metric.split("_", 1)
        pc = m.get("per_class", {}).get(cls)
        return None if pc is None or not pc["support"] else pc[which]
    v = m.get(metric)
    return v["value"] if isinstance(v, dict) else v


def _excludes_zero(d: dict):
    s = stats.sign(d)
    return None if s is None else s != 0


def _nan(x) -> float:
    return np.nan if x is None else float(x)
