"""The index page's headline numbers: one small function per stage, from its metrics file (parsed
JSON) and all params ({stage: dict}), giving (label, value) rows.

The functions index freely and read every key the stage always writes with `[]`, so a key that
is missing (a metrics file from an older run, or a headline reading a key the stage never wrote)
raises; `.get` and `in` are only for blocks a stage writes on some params or data alone (no
hypothesis, no mitigation, no ROI boxes, no classifier, nothing to audit), and those say so in a
row rather than vanish.
`stage_headlines` turns any such error into a `HeadlineError` naming the stage and the key: the
index shows it on the page (and its top-level numbers), tests fail on it
(tests/publish/test_headlines.py runs every function on the committed metrics files)."""

from __future__ import annotations

import importlib
from typing import Callable

from maskutils.core import fmt, stats
from maskutils.stages.gradcam import verdicts as gradcam_verdicts

Headline = tuple[str, str]  # (label, formatted value)


#: What a headline function raises on a metrics file whose schema it does not match.
READ_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError)


class HeadlineError(Exception):
    """A stage's headline numbers could not be read from its metrics file; `reason` names the
    error and the key ("KeyError: 'planted'")."""

    def __init__(self, stage: str, exc: BaseException):
        self.stage, self.reason = stage, f"{type(exc).__name__}: {exc}"
        super().__init__(f"{stage} headlines: {self.reason}")


def _pct(level) -> str:
    return f"{float(level) * 100:g}% "


def _ci(d: dict) -> str:
    """`fmt.ci` of an interval dict ({"value", "ci_low", "ci_high"}, or "ci": [low, high] or
    None), its keys read with `[]`: `fmt.ci` itself would show a missing one as n/a."""
    low, high = (d["ci"] or (None, None)) if "ci" in d else (d["ci_low"], d["ci_high"])
    return fmt.ci(d["value"], low, high)


def eda_headlines(m: dict, params: dict) -> list[Headline]:
    rows = [
        (
            "images",
            f"{fmt.num(m['n_images'])} from {fmt.num(m['n_files'])} files · "
            f"{fmt.num(m['n_problems'])} problems",
        )
    ]
    classes = m["classes"]
    rows.append(
        (f"classes ({len(classes)})", ", ".join(f"{k} {fmt.num(v)}" for k, v in classes.items()))
    )
    d = m["duplicates"]
    rows.append(
        (
            "near-duplicate groups",
            f"{fmt.num(d['groups'])} groups holding {fmt.num(d['images_in_groups'])} images · "
            f"{fmt.num(d['groups_across_classes'])} span classes · "
            f"{fmt.num(d['groups_across_splits'])} span splits",
        )
    )
    rows.append(("split", " · ".join(f"{k} {fmt.num(v)}" for k, v in m["splits"].items())))
    s = m["shortcut"]
    rows.append(
        (
            "shortcut check",
            f"metadata tree {fmt.num(s['tree_balanced_accuracy'])} vs baseline "
            f"{fmt.num(s['baseline_balanced_accuracy'])} balanced accuracy"
            + (" · WARNING: metadata predicts the class" if s["warning"] else " · no shortcut"),
        )
    )
    if m["flags"]:  # empty: no image flagged
        rows.append(
            ("quality flags", ", ".join(f"{k} {fmt.num(v)}" for k, v in m["flags"].items()))
        )
    return rows


def train_headlines(m: dict, params: dict) -> list[Headline]:
    level = _pct(params["train"]["evaluate"]["confidence"])
    studied = " (the study's model)"
    rows = []
    models = m["models"]
    for key, r in sorted(models.items(), key=lambda kv: -kv[1]["macro_f1"]["value"]):
        rows.append(
            (
                f"{r['name']}{studied if key == m['study_model'] else ''}: macro-F1 "
                f"({level}bootstrap CI)",
                f"{_ci(r['macro_f1'])} · accuracy {_ci(r['accuracy'])} · {fmt.num(r['n'])} test "
                "images",
            )
        )
    rows.insert(0, ("task", f"{m['task']} · {len(m['classes'])} classes"))
    for key, what in (("finetune_vs_probe", "its linear probe"), ("vs_random_init", "random init")):
        if key in m:
            d = m[key]["macro_f1_difference"]
            rows.append((f"verdict: the transfer model vs {what} (macro-F1 difference)", beats(d)))
    return rows


def versus(d: dict) -> str | None:
    """A gap (reference minus this, e.g. in-distribution minus an external set) in words, by the
    one rule (`stats.sign`); None without an interval. The card says the same."""
    return {1: "worse than", 0: "not shown to differ from", -1: "better than", None: None}[
        stats.sign(d)
    ]


def beats(d: dict) -> str:
    """A paired difference (this minus a baseline) and the one rule's verdict (`stats.sign`)."""
    word = {1: "beats it", 0: "does not beat it: the interval holds 0", -1: "worse", None: "?"}
    return f"{_ci(d)} · {word[stats.sign(d)]}"


def kfold_headlines(m: dict, params: dict) -> list[Headline]:
    level = _pct(params["kfold"]["confidence"])
    s, a = m["summary"]["macro_f1"], m["summary"]["accuracy"]
    rows = [
        ("folds", f"{fmt.num(m['k'])} folds over {fmt.num(m['n'])} images"),
        (
            f"macro-F1, mean across folds ({level}t-interval)",
            f"{fmt.ci(s['mean'], s['ci_low'], s['ci_high'])} · sd {fmt.num(s['sd'])}",
        ),
        (
            f"accuracy, mean across folds ({level}t-interval)",
            fmt.ci(a["mean"], a["ci_low"], a["ci_high"]),
        ),
        ("macro-F1 pooled over out-of-fold predictions", fmt.num(m["pooled_macro_f1"])),
    ]
    return rows


def bias_headlines(m: dict, params: dict) -> list[Headline]:
    if not m.get("audited", True):  # written only when nothing was audited, with the reason
        return [("bias audit", f"not run, nothing to audit: {m['reason']}")]
    level = _pct(m["confidence"])
    mit = m["mitigation"]
    fam = m["family"]
    gaps = [
        (name, metric, g) for name, a in m["attributes"].items() for metric, g in a["gaps"].items()
    ]
    supported = [gap for gap in gaps if gap[2]["supported"]]
    rows = [
        ("images audited (out of fold)", fmt.num(m["n"])),
        ("mitigation", _mitigation(mit)),
        *_planted_rows(m["planted"], level),
        (
            f"gaps supported by the data (p adjusted by {fam['method']}, one family)",
            f"{len(supported)} of {len(gaps)}",
        ),
        *(_gap_row(*gap, level) for gap in _widest_per_grouping(supported)),
    ]
    if "change_after" in m["overall"]:  # mitigated: the overall cost, after minus before
        o = m["overall"]
        rows.append(
            (
                f"macro-F1 before -> after mitigation ({level}CI)",
                f"{_ci(o['before']['macro_f1'])} -> {_ci(o['after']['macro_f1'])} · "
                f"change {_ci(o['change_after']['macro_f1'])}",
            )
        )
    return rows


def _mitigation(mit: dict) -> str:
    if mit["method"] == "none":
        return "none (no mitigated model: nothing to compare after)"
    if mit["method"] == "group_prior":
        return (
            f"group prior correction by {' x '.join(mit['by'])} (needs the group when predicting)"
        )
    return f"{mit['method']} by {' x '.join(mit['by'])} x class"


def _metric(name: str) -> str:
    """A bias metric in words, as `fairness.analysis.metric_label` says it (not imported: it would
    bring pandas and fairlearn into the index)."""
    return {"accuracy": "accuracy", "macro_f1": "macro-F1"}.get(name) or (
        f"recall of {name.removeprefix('recall_')}"
    )


def _planted_rows(pl: dict | None, level: str) -> list[Headline]:
    """The pre-registered hypothesis's one-sided test, and its difference after mitigation
    (`change_after`: before minus after, positive when it narrowed)."""
    if pl is None:
        return [("pre-registered hypothesis", "none (bias.planted.attribute: null)")]
    label = (
        f"pre-registered: {_metric(pl['metric'])} {pl['direction']} for "
        f"{pl['attribute']} = {pl['group']} ({level}CI, one-sided p)"
    )
    if not pl["judged"]:
        n = pl["n"]
        return [(label, f"too few images to judge ({fmt.num(n['group'])} vs {fmt.num(n['rest'])})")]
    b = pl["before"]
    rows = [
        (
            label,
            f"{pl['group']} {_ci(b['group'])} vs rest {_ci(b['rest'])} · difference "
            f"{_ci(b['difference'])} · p = {pl['p_value']:.3g} · found: {fmt.num(pl['found'])}",
        )
    ]
    if "change_after" in pl:
        rows.append(
            (
                "pre-registered difference before -> after mitigation (change: positive narrows)",
                f"{_ci(b['difference'])} -> {_ci(pl['after']['difference'])} · change "
                f"{_ci(pl['change_after'])} · narrowed with confidence: "
                f"{fmt.num(pl['narrowed_with_confidence'])}",
            )
        )
    return rows


def _widest_per_grouping(supported: list) -> list:
    """The widest supported gap of each grouping (name, metric, gap), widest first."""
    widest = {}
    for name, metric, g in supported:
        d = g["before"]["difference"]["value"]
        if name not in widest or d > widest[name][2]["before"]["difference"]["value"]:
            widest[name] = (name, metric, g)
    return sorted(widest.values(), key=lambda t: -t[2]["before"]["difference"]["value"])


def _gap_row(name: str, metric: str, g: dict, level: str) -> Headline:
    text = (
        f"{g['worst']} vs {g['best']}: gap {_ci(g['before']['difference'])} · adjusted p = "
        f"{g['p_adjusted']:.3g}"
    )
    if "change_after" in g:
        text += (
            f" · after mitigation {_ci(g['after']['difference'])} (change {_ci(g['change_after'])})"
        )
    return (f"widest supported gap, {name}: {_metric(metric)} ({level}CI)", text)


def gradcam_headlines(m: dict, params: dict) -> list[Headline]:
    rows = [
        (
            "maps",
            f"{m['method']} at {m['target_layer']} ({m['grid']}x{m['grid']}), "
            f"{fmt.num(m['n_images'])} images",
        ),
        ("verdict", gradcam_verdicts.summary_text(m)),
    ]
    loc = m["localisation"]
    if not loc["available"]:  # the data carry no ROI boxes
        rows.append(("CAM energy inside the ROI", f"not measured: {loc['reason']}"))
    else:
        o = loc["overall"]
        rows.append(
            (
                "CAM energy inside the ROI (no-information map: "
                f"{fmt.num(o['roi_area_share']['value'])})",
                _ci(o["roi_energy"]),
            )
        )
        rows.append(
            (
                f"pointing game hits (random map: {fmt.num(o['pointing_hit_random']['value'])}, "
                f"image centre: {fmt.num(o['pointing_hit_centre']['value'])})",
                _ci(o["pointing_hit"]),
            )
        )
    f = m["faithfulness"]["overall"]
    rows.append(
        (
            "probability drop, top of map removed (random map: "
            f"{fmt.num(f['drop_random']['value'])})",
            _ci(f["drop"]),
        )
    )
    rows.append(("ROAD minus random maps", _ci(m["sanity"]["road"]["road_vs_random"])))
    return rows


def detect_headlines(m: dict, params: dict) -> list[Headline]:
    rows = [
        ("scenes / annotated faces", f"{fmt.num(m['n_scenes'])} / {fmt.num(m['n_faces'])}"),
        (
            f"detection recall at IoU {m['settings']['iou_threshold']}",
            _ci(m["recall"]),
        ),
        ("detection precision", _ci(m["precision"])),
    ]
    for kind, v in m["detectors"].items():
        rows.append(
            (
                f"{kind}: AP / recall / precision",
                f"{fmt.num(v['ap'])} / {_ci(v['recall'])} / {_ci(v['precision'])}",
            )
        )
    if "classification" in m:  # written only when a classifier scored the faces
        rows.append(
            (
                "binary accuracy on detected faces / oracle crops",
                f"{_ci(m['classification']['matched'])} / {_ci(m['classification']['oracle_all'])}",
            )
        )
    else:
        rows.append(("binary accuracy on detected faces", "not scored: no classifier model"))
    return rows


def external_headlines(m: dict, params: dict) -> list[Headline]:
    inside = m["in_distribution"]["macro_f1"]
    rows = [("in-distribution test macro-F1", f"{_ci(inside)} · {m['model_name']}")]
    for name, e in m["sets"].items():
        c = e["counts"]
        scores = (  # the gap is {} when no image of the set could be scored
            f"{_ci(e['metrics']['macro_f1'])} · {_ci(e['gap']['macro_f1'])}"
            if e["gap"]
            else "none scored"
        )
        rows.append(
            (
                f"{name}: macro-F1 · gap (in - external)",
                f"{scores} · {fmt.num(c['used'])} of {fmt.num(c['images'])} images scored, "
                f"{fmt.num(c['exact_copies'] + c['near_copies'])} copies of training images "
                "removed",
            )
        )
        if e["gap"]:
            where = versus(e["gap"]["macro_f1"]) or "?"
            rows.append((f"verdict: {name}", f"macro-F1 {where} in distribution"))
    return rows


HEADLINES: dict[str, Callable[[dict, dict], list[Headline]]] = {
    "eda": eda_headlines,
    "train": train_headlines,
    "kfold": kfold_headlines,
    "bias": bias_headlines,
    "gradcam": gradcam_headlines,
    "detect": detect_headlines,
    "external": external_headlines,
}


def headline_function(stage: str) -> Callable[[dict, dict], list[Headline]] | None:
    """The function that reads `stage`'s headline rows: one of HEADLINES, or the `headlines`
    of the stage's own report module (maskutils/stages/NAME/report.py), or None."""
    if stage in HEADLINES:
        return HEADLINES[stage]
    try:
        module = importlib.import_module(f"maskutils.stages.{stage}.report")
    except ImportError:
        return None
    return getattr(module, "headlines", None)


def stage_headlines(stage: str, m: dict, params: dict) -> list[Headline]:
    """The headline rows of `stage` (which must have a `headline_function`); a metrics file or
    params it cannot read raise HeadlineError, never a bare KeyError the caller might swallow."""
    try:
        return headline_function(stage)(m, params)
    except READ_ERRORS as exc:
        raise HeadlineError(stage, exc) from exc


def generic_headlines(m) -> list[Headline]:
    """The top-level scalar numbers of a metrics file (the fallback for unknown or changed
    schemas)."""
    if not isinstance(m, dict):
        return [("value", fmt.num(m))] if isinstance(m, (int, float)) else []
    return [(str(k), fmt.num(v)) for k, v in sorted(m.items()) if isinstance(v, (int, float))]
