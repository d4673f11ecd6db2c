"""The calibration report's header, tables and reliability diagram."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from maskutils.core import fmt
from maskutils.core.stats import sign

LABELS = {
    "ece": "expected calibration error",
    "brier": "Brier score",
    "nll": "negative log-likelihood",
    "accuracy": "accuracy",
}


def header(s: dict) -> str:
    """The model, the temperature and what it did, in words (Markdown)."""
    t, test, ch = s["temperature"], s["test"], s["test"]["change_after"]
    v = s["validation_nll"]
    raw = "over-confident (T > 1)" if t > 1 else "under-confident (T < 1)"
    return (
        f"**{s['model']}** on {test['n']} test images · {s['bins']} confidence bins · intervals: "
        f"{s['bootstrap']} bootstrap resamples of the images. Temperature fitted on the "
        f"validation split only: **T = {t:.3f}**: on validation the raw model is {raw}, and "
        f"scaling lowers its NLL from {v['before']:.3f} to {v['after']:.3f}. On the test split: "
        f"ECE {fmt.ci(test['before']['ece'])} -> {fmt.ci(test['after']['ece'])}, change "
        f"{fmt.ci(ch['ece'])}: **{verdict(ch['ece'], 'calibration error')}**; NLL change "
        f"{fmt.ci(ch['nll'])}: {verdict(ch['nll'], 'negative log-likelihood')}. Scaling changes "
        f"no predicted class: accuracy stays {fmt.num(test['before']['accuracy']['value'])}."
    )


def verdict(change: dict, what: str = "calibration error") -> str:
    """Whether scaling lowered a score (lower is better), by its paired interval
    (`core.stats.sign`, the rule every verdict uses)."""
    return {
        -1: f"temperature scaling lowered the {what}",
        1: f"temperature scaling raised the {what}",
        0: f"no change in the {what} shown by the data",
        None: f"the change in the {what} is not known",
    }[sign(change)]


def scores_table(s: dict) -> pd.DataFrame:
    """Each score on the test split before and after scaling, the paired change, and the
    out-of-fold predictions' (before scaling)."""
    rows = []
    for k, label in LABELS.items():
        row = {
            "score": label,
            "test, raw": fmt.ci(s["test"]["before"][k]),
            "test, scaled": fmt.ci(s["test"]["after"][k]),
            "change": fmt.ci(s["test"]["change_after"][k]),
        }
        if s["out_of_fold"]:
            row["out of fold, raw"] = fmt.ci(s["out_of_fold"]["before"][k])
        rows.append(row)
    return pd.DataFrame(rows).set_index("score")


def groups_table(s: dict) -> pd.DataFrame | None:
    """ECE and Brier per group of each attribute, raw and scaled (test split); None without
    attributes."""
    rows = []
    for a, groups in s["groups"].items():
        for g, v in groups.items():
            row = {"attribute": a, "group": g, "images": v["n"]}
            if v["judged"]:
                for k in ("ece", "brier"):
                    row[f"{k}, raw"] = fmt.ci(v["before"][k])
                    row[f"{k}, scaled"] = fmt.ci(v["after"][k])
            else:
                row["ece, raw"] = "too few images to judge"
            rows.append(row)
    return pd.DataFrame(rows).set_index(["attribute", "group"]).fillna("") if rows else None


def reliability_figure(s: dict):
    """Accuracy against mean confidence per bin, one panel per set of predictions; the dots'
    area follows the bin's images. The diagonal is perfect calibration."""
    diagrams = s["reliability"]
    fig, axes = plt.subplots(1, len(diagrams), figsize=(4 * len(diagrams), 4), squeeze=False)
    for ax, (name, d) in zip(axes[0], diagrams.items()):
        d = pd.DataFrame(d).dropna()
        ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
        ax.bar(d["low"], d["accuracy"], width=d["high"] - d["low"], align="edge", alpha=0.3)
        ax.scatter(d["confidence"], d["accuracy"], s=10 + 200 * d["n"] / d["n"].sum())
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy", title=name)
    return fig


def headlines(m: dict, params: dict) -> list[tuple[str, str]]:
    """The index's rows (`publish.headlines` finds this function by the stage's name)."""
    t = m["test"]
    rows = [
        ("temperature, fitted on validation", f"{m['temperature']:.3f}"),
        (
            "test ECE raw -> scaled · change",
            f"{fmt.ci(t['before']['ece'])} -> {fmt.ci(t['after']['ece'])} · "
            f"{fmt.ci(t['change_after']['ece'])}: {verdict(t['change_after']['ece'])}",
        ),
        (
            "test Brier score raw -> scaled",
            f"{fmt.ci(t['before']['brier'])} -> {fmt.ci(t['after']['brier'])}",
        ),
        (
            "test NLL change, scaled - raw",
            f"{fmt.ci(t['change_after']['nll'])}: "
            f"{verdict(t['change_after']['nll'], 'negative log-likelihood')}",
        ),
    ]
    oof = m["out_of_fold"]
    rows.append(
        ("out-of-fold ECE (raw)", fmt.ci(oof["before"]["ece"]) if oof else "not scored: no folds")
    )
    for a, groups in m["groups"].items():
        judged = {g: v for g, v in groups.items() if v["judged"]}
        rows.append(
            (
                f"test ECE by {a}, raw",
                ", ".join(f"{g} {fmt.num(v['before']['ece']['value'])}" for g, v in judged.items())
                or "no group large enough to judge",
            )
        )
    return rows
