"""The bias report's header (or why nothing was audited) and the measured power of its design; its
tables and figures are the audit's (`fairness.tables`)."""

from __future__ import annotations

import json
from pathlib import Path

from maskutils.core.stats import ADJUSTMENTS
from maskutils.modeling.rebalance import WORST
from maskutils.stages.bias.run import BiasStudy


def header(s: dict, study: BiasStudy, min_group: int) -> str:
    """Images audited, task, groupings, judging threshold and the mitigation (Markdown)."""
    plan, fam = study.plan, study.family
    text = (
        f"**{s['n']} images** audited · task `{study.recipe['task']}` · groupings: "
        f"{', '.join(study.results) or 'none'} · groups under {min_group} images are not judged · "
        f"p-values {ADJUSTMENTS[fam['method']]}-adjusted over {fam['size']} gaps · "
        f"mitigation: **{plan['method']}**"
    )
    if plan["method"] == "group_prior":
        text += (
            f" by {' x '.join(plan['by'])} (strength {plan['strength']:g}): each fold's "
            "predictions corrected by the class prior of their group, counted on the fold's "
            "training rows; nothing retrained. It needs each image's group at prediction time"
        )
    elif plan["method"] != "none":
        text += f" by {' x '.join(plan['by'])} x class · mitigated folds trained now: "
        text += f"{study.trained or 'none (resumed)'}"
    if "cells_by_fold" in plan:
        text += cells_text(plan)
    return text


def cells_text(plan: dict) -> str:
    """Each fold's targeted cells, with the inner-fold probe's recall against its class's."""
    folds = "; ".join(
        f"fold {k}: "
        + (
            ", ".join(
                f"{c['group']} x {c['class']} ({c['recall']:.2f} vs {c['class_recall']:.2f})"
                for c in cells
            )
            or "none below its class"
        )
        for k, cells in plan["cells_by_fold"].items()
    )
    return (
        f" · boost {plan['boost']:g} on each fold's {plan['count']} worst cells, found on "
        f"inner folds of its training rows (a linear probe's recall, the cell's vs its class's): "
        f"{folds}"
    )


#: what each section of the report says when nothing was audited (`not_audited` says why)
SKIPPED = "Not run: nothing to audit (see the top of the report)."


def not_audited(s: dict) -> str:
    """Why nothing was audited, from the metrics file's `reason` (Markdown)."""
    return (
        f"**Nothing to audit**: {s['reason']}. No group is compared, no hypothesis is tested "
        "and no mitigated model is trained."
    )


#: the params a power study's design is compared on (benchmarks/bias_power.py `design`), less
#: those that decide no result: prepare's and the bias stage's params, and the training recipe
#: the k-fold folds used (data/kfold/recipe.json; a head-only MobileNetV2 is another design)
DESIGN_SKIP = {
    "prepare": ("seed", "workers"),
    # the mitigation decides no detection rate; the record measures each method on its own
    "bias": ("dpi", "executor", "mitigation", "power_study", "ray_address", "threads", "workers"),
    # `recipe` names where the settings came from; the settings themselves are compared
    "recipe": ("seed", "device", "recipe"),
}


def power_text(path: Path, prepare: dict, bias: dict, recipe: dict) -> str:
    """The measured power of this run's design (benchmarks/results/bias_power.json), or why it
    does not apply: a study of another design says which params differ (Markdown). `recipe`:
    the k-fold recipe this run's folds trained with."""
    if not path.is_file():
        return (
            f"No power study on record ({path}): run `benchmarks/bias_power.py --results {path}`."
        )
    rec = json.loads(path.read_text())
    ours = {"prepare": prepare, "bias": bias, "recipe": recipe}
    differ = [f"{stage} (not recorded)" for stage in DESIGN_SKIP if stage not in rec["design"]]
    differ += [
        f"{stage}.{key}"
        for stage, skip in DESIGN_SKIP.items()
        if stage in rec["design"]
        for key in sorted(set(ours[stage]) | set(rec["design"][stage]))
        if key not in skip
        and json.dumps(ours[stage].get(key), sort_keys=True)
        != json.dumps(rec["design"][stage].get(key), sort_keys=True)
    ]
    s, m = rec["summary"], rec["machine"]
    seeds = f"seeds {rec['seeds'][0]}-{rec['seeds'][1]}, planted, null and shuffled"
    head = f"Measured by `benchmarks/bias_power.py` ({seeds}; {m['processor']}, {m['cpus']} CPUs)"
    if differ:
        return (
            f"{head} for another design: it differs from this run in {', '.join(differ)}, so its "
            "rates do not describe this run."
        )

    def r(x: dict) -> str:
        low, high = x["ci95"]
        return f"{x['k']}/{x['n']} ({_pct(x['rate'])}, 95% interval {_pct(low)}-{_pct(high)})"

    g, null, shuffled, e = s["planted_gap"], s["null"], s["shuffled"], s["exact_null"]
    return "\n".join(
        [
            f"{head}, for this design:",
            "- planted gap found by the pre-registered test: "
            f"**{r(s['detection_rate_preregistered'])}**; by the adjusted exploratory family: "
            f"{r(s['detection_rate_exploratory'])}",
            "- nothing planted (no group drawn with its own look, nothing under-sampled), the "
            f"pre-registered test fired: **{r(null['preregistered_fired'])}**; runs with any "
            f"supported exploratory gap: {r(null['runs_with_any_supported_gap'])} (the synthetic "
            "faces make some groups really harder, e.g. children's smaller masks: "
            "docs/bias_power.md)",
            "- nothing planted and the recorded attributes shuffled within class after prepare, "
            "so no group differs in any picture: runs with any supported gap over all groupings "
            f"**{r(shuffled['runs_with_any_supported_gap'])}**; the pre-registered test fired "
            f"{r(shuffled['preregistered_fired'])}; either: "
            f"{r(shuffled['runs_flagging_anything'])}",
            "- exact nulls (every run's predictions audited with the attributes shuffled within "
            f"class): any supported gap over all groupings **{r(e['any_supported'])}**; the "
            f"pre-registered test fired {r(e['preregistered_fired'])}; either: "
            f"{r(e['anything'])}",
            f"- the planted gap: mean {g['mean']:.3f}, from {g['min']:.3f} to {g['max']:.3f}",
            *mitigation_lines(s.get("mitigation"), bias["mitigation"], r),
        ]
    )


def _pct(share: float) -> str:
    """A share as a percentage: whole percents from 10% (and 0%), one decimal below (0.6%)."""
    return f"{share:.0%}" if share >= 0.095 or share < 0.0005 else f"{share:.1%}"


def method_label(m: dict) -> str:
    """A mitigation plan, or the params' `mitigation` section, as the power study names its
    methods: `group_prior:1`, `worst_reweight:3`, `both`."""
    if m["method"] == "group_prior":
        return f"group_prior:{m['strength']:g}"
    if m["method"] in WORST:
        return f"{m['method']}:{m.get('boost', m.get('worst_boost')):g}"
    return m["method"]


def mitigation_lines(rec: dict | None, ours: dict, r) -> list[str]:
    """Each measured mitigation method's rates (the power study's summary.mitigation), this run's
    marked; `r` renders a rate."""
    if not rec:
        return ["- no mitigation method measured in this record"]
    label = method_label(ours)
    m = rec["machine"]
    out = [
        f"- mitigation, measured on seeds {rec['seeds'][0]}-{rec['seeds'][1]} of the "
        f"{' and '.join(rec['arms'])} arms ({m['processor']}, {m['cpus']} CPUs); narrowed counts "
        "only when the worse group's metric rose and its macro-F1 did not fall:"
    ]
    for name, x in rec["methods"].items():
        cost = x["macro_f1_change"]["mean"]
        shuffled = x["shuffled_narrowed_with_confidence"]
        false = r(shuffled) if shuffled["n"] else "not measured (it retrains)"
        out.append(
            f"  - `{name}`{' (this run)' if name == label else ''}: narrowed the planted gap with "
            f'confidence in {r(x["narrowed_with_confidence"])}; "narrowed" a gap that is not '
            f"there (shuffled arm): {false}; overall "
            f"macro-F1 change, mean over runs {cost:+.3f}"
        )
    return out
