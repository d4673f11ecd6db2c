"""What the Grad-CAM metrics say, in words: every verdict of the report, the notebook and the
model card is read here from reports/metrics/gradcam.json (or one model's part of it), never
written by hand. Intervals are compared, not point values: the maps beat a baseline when their
interval lies above the baseline's."""

from __future__ import annotations

from maskutils.core import fmt
from maskutils.core.stats import sign

#: baseline -> (how it is named in a sentence, its pointing / energy keys in `overall`)
BASELINES = {
    "uniform": ("a uniform map", "roi_area_share", "roi_area_share"),
    "random": ("smoothed random maps", "pointing_hit_random", "roi_energy_random"),
    "grid_random": (
        "random maps at the layer's grid",
        "pointing_hit_grid_random",
        "roi_energy_grid_random",
    ),
    "centre": ("a map peaked at the image centre", "pointing_hit_centre", "roi_energy_centre"),
    "prior": (
        "the data's prior (the mean ROI mask of the training split)",
        "pointing_hit_prior",
        "roi_energy_prior",
    ),
}


def compare(a: dict | None, b: dict | None) -> str | None:
    """'above' when interval a lies above interval b, 'below' when under it, 'overlaps', or None
    when either is missing."""
    if not a or not b or None in (a.get("ci_low"), b.get("ci_low")):
        return None
    if a["ci_low"] > b["ci_high"]:
        return "above"
    if a["ci_high"] < b["ci_low"]:
        return "below"
    return "overlaps"


def localisation(m: dict) -> dict | None:
    """{baseline: {'pointing_hit': verdict, 'roi_energy': verdict}} for one model's metrics, or
    None without ROIs."""
    loc = m["localisation"]
    if not loc["available"]:
        return None
    o = loc["overall"]
    return {
        b: {
            "pointing_hit": compare(o["pointing_hit"], o.get(pk)),
            "roi_energy": compare(o["roi_energy"], o.get(ek)),
        }
        for b, (_, pk, ek) in BASELINES.items()
        if pk in o
    }


def _by_verdict(v: dict, measure: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for b, w in v.items():
        out.setdefault(w[measure] or "not measured", []).append(BASELINES[b][0])
    return out


def localisation_text(m: dict) -> str:
    """One sentence per measure: the maps' value and the baselines they beat, tie and trail."""
    v = localisation(m)
    if v is None:
        return f"Localisation not measured: {m['localisation']['reason']}."
    o = m["localisation"]["overall"]
    words = {"above": "above", "overlaps": "not distinguishable from", "below": "below"}
    parts = []
    for measure, what in (
        ("pointing_hit", "The map's peak lies inside the ROI for"),
        ("roi_energy", "The share of the map's energy inside the ROI is"),
    ):
        groups = _by_verdict(v, measure)
        said = "; ".join(
            f"{words[w]} {', '.join(names)}" for w, names in groups.items() if w in words
        )
        parts.append(f"{what} {fmt.ci(o[measure])}: {said}.")
    return " ".join(parts)


def faithfulness_text(m: dict) -> str:
    """The mean-colour drop and ROAD, each against random maps, and the randomisation check."""
    f = m["faithfulness"]["overall"]["drop_vs_random"]
    road = m["sanity"]["road"]["road_vs_random"]
    word = {1: "more than", 0: "not distinguishably more than", -1: "less than", None: "?"}
    r = m["sanity"]["randomisation"]
    half = next(s for s in r["steps"] if s["fraction"] == 0.5)["rank_correlation"]
    return (
        f"Removing the map's top pixels lowers the predicted class's probability {word[sign(f)]} "
        f"removing random pixels (difference {fmt.ci(f)}); with ROAD's imputed removals, "
        f"{word[sign(road)]} random maps (difference {fmt.ci(road)}). After re-initialising the "
        f"top half of the model's layers the maps' rank correlation with the originals is "
        f"{fmt.ci(half)}: "
        + (
            f"below {r['pass_below']}, so the maps depend on what the model learned (passes)."
            if r["passes"]
            else f"not below {r['pass_below']} with confidence, so the maps may show the image "
            "more than the model (fails)."
        )
    )


def failures(m: dict) -> list[str]:
    """The tests one model's maps fail, in words (no figures): beating uniform, random (both
    kinds) and the centre on pointing and energy where ROIs exist, beating random maps on both
    faithfulness measures, and the randomisation check. Trailing the data's prior is reported,
    not failed: the prior knows where masks sit without looking at the image."""
    out = []
    for b, d in (localisation(m) or {}).items():
        for measure, w in d.items():
            if b != "prior" and w != "above":
                what = "pointing" if measure == "pointing_hit" else "ROI energy"
                out.append(f"{what} not above {BASELINES[b][0]}")
    if sign(m["faithfulness"]["overall"]["drop_vs_random"]) != 1:
        out.append("probability drop not above random maps'")
    if sign(m["sanity"]["road"]["road_vs_random"]) != 1:
        out.append("ROAD not above random maps'")
    if not m["sanity"]["randomisation"]["passes"]:
        out.append("maps survive re-initialising the top half of the layers")
    return out


def passes(m: dict) -> bool:
    """No test failed (`failures`)."""
    return not failures(m)


def summary_text(m: dict, who: str = "the studied model") -> str:
    """The one-line verdict of the notebook and the index."""
    layer = f"{m['method']} at `{m['target_layer']}` ({m['grid']}x{m['grid']} map)"
    failed = failures(m)
    if not failed:
        return f"The maps of {who} ({layer}) pass every test the stage runs."
    return f"The maps of {who} ({layer}) fail: {'; '.join(failed)}."
