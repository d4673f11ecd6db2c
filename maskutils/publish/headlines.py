"""The index page's headline numbers: one small function per stage, from its metrics file (parsed
JSON) and all params ({stage: dict}), giving (label, value) rows. A KeyError, TypeError, ValueError,
IndexError or AttributeError makes the index fall back to `generic_headlines`, so they can index
freely."""

from __future__ import annotations

from typing import Callable

from maskutils.core import fmt

Headline = tuple[str, str]  # (label, formatted value)


def _pct(level) -> str:
    try:
        return f"{float(level) * 100:g}% "
    except (TypeError, ValueError):
        return ""


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
    if "splits" in m:
        rows.append(("split", " · ".join(f"{k} {fmt.num(v)}" for k, v in m["splits"].items())))
    if "shortcut" in m:
        s = m["shortcut"]
        rows.append(
            (
                "shortcut check",
                f"metadata tree {fmt.num(s['tree_balanced_accuracy'])} vs baseline "
                f"{fmt.num(s['baseline_balanced_accuracy'])} balanced accuracy"
                + (
                    " · WARNING: metadata predicts the class"
                    if s.get("warning")
                    else " · no shortcut"
                ),
            )
        )
    if m.get("flags"):
        rows.append(
            ("quality flags", ", ".join(f"{k} {fmt.num(v)}" for k, v in m["flags"].items()))
        )
    return rows


def train_headlines(m: dict, params: dict) -> list[Headline]:
    level = _pct(params.get("train", {}).get("evaluate", {}).get("confidence"))
    rows = []
    models = m["models"]
    for key, r in sorted(models.items(), key=lambda kv: -kv[1]["macro_f1"]["value"]):
        f1, acc = r["macro_f1"], r["accuracy"]
        rows.append(
            (
                f"{r.get('name', key)}: macro-F1 ({level}bootstrap CI)",
                f"{fmt.ci(f1['value'], f1['ci_low'], f1['ci_high'])} · accuracy "
                f"{fmt.ci(acc['value'], acc['ci_low'], acc['ci_high'])} · {fmt.num(r['n'])} test "
                "images",
            )
        )
    rows.insert(0, ("task", f"{m.get('task', '?')} · {len(m['classes'])} classes"))
    return rows


def kfold_headlines(m: dict, params: dict) -> list[Headline]:
    level = _pct(params.get("kfold", {}).get("confidence"))
    s = m["summary"]["macro_f1"]
    rows = [
        ("folds", f"{fmt.num(m['k'])} folds over {fmt.num(m['n'])} images"),
        (
            f"macro-F1, mean across folds ({level}t-interval)",
            f"{fmt.ci(s['mean'], s['ci_low'], s['ci_high'])} · sd {fmt.num(s['sd'])}",
        ),
    ]
    if "accuracy" in m["summary"]:
        a = m["summary"]["accuracy"]
        rows.append(
            (
                f"accuracy, mean across folds ({level}t-interval)",
                fmt.ci(a["mean"], a["ci_low"], a["ci_high"]),
            )
        )
    if "pooled_macro_f1" in m:
        rows.append(("macro-F1 pooled over out-of-fold predictions", fmt.num(m["pooled_macro_f1"])))
    return rows


def bias_headlines(m: dict, params: dict) -> list[Headline]:
    rows = [
        ("images audited (out of fold)", fmt.num(m["n"])),
        (
            "mitigation",
            f"{m['mitigation']['method']} by {' x '.join(m['mitigation']['by']) or '-'} x class",
        ),
    ]
    supported = [
        (name, metric, g)
        for name, a in m["attributes"].items()
        for metric, g in a["gaps"].items()
        if g["supported"]
    ]
    rows.append(
        (
            "gaps supported by the data",
            f"{len(supported)} of {sum(len(a['gaps']) for a in m['attributes'].values())}",
        )
    )
    pl = m.get("planted")
    if pl and pl.get("audited"):
        rows.append(
            (
                f"planted: recall of {pl['class']} for {pl['group']}",
                fmt.ci(pl["group_recall"]["before"])
                + f" · found by the audit: {fmt.num(pl['found'])}",
            )
        )
        if "gap_change" in pl:
            rows.append(
                (
                    "planted gap before -> after mitigation",
                    f"{fmt.ci(pl['gap_before'])} -> {fmt.ci(pl['gap_after'])}",
                )
            )
    if "change_after" in m["overall"]:
        rows.append(
            ("change in macro-F1 from mitigation", fmt.ci(m["overall"]["change_after"]["macro_f1"]))
        )
    return rows


def gradcam_headlines(m: dict, params: dict) -> list[Headline]:
    rows = [("maps", f"{m['method']} at {m['target_layer']}, {fmt.num(m['n_images'])} images")]
    loc = m["localisation"]
    if loc.get("available"):
        o = loc["overall"]
        rows.append(
            (
                "CAM energy inside the ROI (no-information map: "
                f"{fmt.num(o['roi_area_share']['value'])})",
                fmt.ci(o["roi_energy"]),
            )
        )
        rows.append(
            (
                f"pointing game hits (random map: {fmt.num(o['pointing_hit_random']['value'])})",
                fmt.ci(o["pointing_hit"]),
            )
        )
    f = m["faithfulness"]["overall"]
    rows.append(
        (
            "probability drop, top of map removed (random map: "
            f"{fmt.num(f['drop_random']['value'])})",
            fmt.ci(f["drop"]),
        )
    )
    return rows


def detect_headlines(m: dict, params: dict) -> list[Headline]:
    rows = [
        ("scenes / annotated faces", f"{fmt.num(m['n_scenes'])} / {fmt.num(m['n_faces'])}"),
        (
            f"detection recall at IoU {m.get('settings', {}).get('iou_threshold', 0.5)}",
            fmt.ci(m["recall"]),
        ),
        ("detection precision", fmt.ci(m["precision"])),
    ]
    for kind, v in m.get("detectors", {}).items():
        rows.append(
            (
                f"{kind}: AP / recall / precision",
                f"{fmt.num(v['ap'])} / {fmt.ci(v['recall'])} / {fmt.ci(v['precision'])}",
            )
        )
    if "classification" in m:
        rows.append(
            (
                "binary accuracy on detected faces / oracle crops",
                f"{fmt.ci(m['classification']['matched'])} / "
                f"{fmt.ci(m['classification']['oracle_all'])}",
            )
        )
    return rows


def external_headlines(m: dict, params: dict) -> list[Headline]:
    inside = m["in_distribution"]["macro_f1"]
    rows = [("in-distribution test macro-F1", f"{fmt.ci(inside)} · {m['model_name']}")]
    for name, e in m["sets"].items():
        c = e["counts"]
        rows.append(
            (
                f"{name}: macro-F1 · gap (in - external)",
                f"{fmt.ci(e['metrics'].get('macro_f1'))} · {fmt.ci(e['gap'].get('macro_f1'))} · "
                f"{fmt.num(c['used'])} of {fmt.num(c['images'])} images scored, "
                f"{fmt.num(c['exact_copies'] + c['near_copies'])} copies of training images "
                "removed",
            )
        )
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


def generic_headlines(m) -> list[Headline]:
    """The top-level scalar numbers of a metrics file (the fallback for unknown or changed
    schemas)."""
    if not isinstance(m, dict):
        return [("value", fmt.num(m))] if isinstance(m, (int, float)) else []
    return [(str(k), fmt.num(v)) for k, v in sorted(m.items()) if isinstance(v, (int, float))]
