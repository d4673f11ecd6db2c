"""The card's quantitative analyses (Mitchell et al.): the studied model on the test split and
across the k folds, per class, per group before and after mitigation, and on each external set
with its gap to in-distribution and, where run, its own bias audit."""

from __future__ import annotations

from maskutils.publish.card.about import audited, study, unaudited
from maskutils.publish.card.calibration import calibration
from maskutils.publish.card.layout import Phrase, label, metric_order, part
from maskutils.publish.card.source import Sources, Value
from maskutils.publish.headlines import versus
from maskutils.stages.gradcam import verdicts as gradcam_verdicts

T, K, B, X = "train.json", "kfold.json", "bias.json", "external.json"


def analyses(s: Sources) -> dict:
    return {
        "test": part(s, _test, T),
        "kfold": part(s, _kfold, K),
        "bias": part(s, lambda s: audit(s, B, ()), B),
        "external": part(s, _external, X),
        "gradcam": part(s, _gradcam, "gradcam.json"),
        "detect": part(s, _detect, "detect.json"),
        "calibration": part(s, calibration, "calibration.json"),
    }


def scores(s: Sources, name: str, *at) -> list[tuple[str, Value, Value | None]]:
    """(label, value, the positive class or None) of the accuracy and macro-F1 with intervals,
    and of a binary task's rates, of a metrics block."""
    rows = [
        ("macro-F1", s.v(name, *at, "macro_f1", fmt="ci"), None),
        ("accuracy", s.v(name, *at, "accuracy", fmt="ci"), None),
    ]
    if s.has(name, *at, "positive"):
        positive = s.v(name, *at, "positive")
        rows += [
            (k, s.v(name, *at, k, fmt="ci"), positive)
            for k in ("sensitivity", "specificity")
            if s.has(name, *at, k)
        ]
    return rows


def per_class(s: Sources, name: str, classes: tuple, *at) -> list[list[Value]]:
    """Each class's precision, recall, F1 and images."""
    return [
        [s.v(name, *classes, i)]
        + [s.v(name, *at, "per_class", c, k) for k in ("precision", "recall", "f1", "support")]
        for i, c in enumerate(s.get(name, *classes))
    ]


def _test(s: Sources) -> dict:
    m = ("models", study(s))
    return {
        "name": s.v(T, *m, "name"),
        "n": s.v(T, *m, "n"),
        "scores": scores(s, T, *m),
        "weighted_f1": s.v(T, *m, "weighted_f1"),
        "precision": s.v(T, *m, "macro_precision"),
        "recall": s.v(T, *m, "macro_recall"),
        "per_class": per_class(s, T, ("classes",), *m),
    }


def _kfold(s: Sources) -> dict:
    sm = ("summary",)
    return {
        "macro_f1": s.v(K, *sm, "macro_f1", fmt="mean"),
        "sd": s.v(K, *sm, "macro_f1", "sd"),
        "accuracy": s.v(K, *sm, "accuracy", fmt="mean"),
        "pooled": s.v(K, "pooled_macro_f1"),
        "f1": [
            [s.v(K, "classes", i), s.v(K, *sm, f"f1_{c}", fmt="mean")]
            for i, c in enumerate(s.get(K, "classes"))
        ],
    }


# ---- the bias audit (bias.json, or an external set's "bias") ------------------------------


def audit(s: Sources, name: str, base: tuple) -> dict:
    """Overall before/after, the pre-registered test, the gaps and every group's metrics of one
    audit at `base` in file `name` (classes at name's top-level "classes"); or why nothing was
    audited."""
    if not audited(s, name, *base):
        return {"unaudited": unaudited(s, name, *base)}
    models = [m for m in ("before", "after") if s.has(name, *base, "overall", m)]
    found = {
        "unaudited": None,
        "overall": part(s, lambda s: _overall(s, name, base)),
        "preregistered": part(s, lambda s: _preregistered(s, name, base)),
        "family": None,
    }
    if s.has(name, *base, "family"):
        f = (*base, "family")
        found["family"] = {"size": s.v(name, *f, "size"), "method": s.v(name, *f, "method")}
    found["attributes"] = [
        part(s, lambda s, a=attr: _attribute(s, name, (*base, "attributes", a), models))
        for attr in s.keys(name, *base, "attributes")
    ]
    return found


OVERALL = {
    "before": "before mitigation",
    "after": "after mitigation",
    "change_after": "change (after minus before)",
}


def _overall(s: Sources, name: str, base: tuple) -> list[list]:
    o = (*base, "overall")
    return [
        [text, s.v(name, *o, k, "accuracy", fmt="ci"), s.v(name, *o, k, "macro_f1", fmt="ci")]
        for k, text in OVERALL.items()
        if s.has(name, *o, k)
    ]


def _preregistered(s: Sources, name: str, base: tuple) -> dict | None:
    """The one-sided test declared before the audit; None when none was."""
    pl = (*base, "planted")
    if s.get(name, *pl) is None:
        return None
    found = {
        "metric": label(s, name, ("classes",), *pl, "metric", value=True),
        "direction": s.v(name, *pl, "direction"),
        "attribute": s.v(name, *pl, "attribute"),
        "group": s.v(name, *pl, "group"),
        "too_few": None,
    }
    if not s.get(name, *pl, "judged"):
        found["too_few"] = {
            "group": s.v(name, *pl, "n", "group"),
            "rest": s.v(name, *pl, "n", "rest"),
        }
        return found
    b = (*pl, "before")
    found |= {
        "before": {k: s.v(name, *b, k, fmt="ci") for k in ("group", "rest", "difference")},
        "p_value": s.v(name, *pl, "p_value"),
        "found": s.v(name, *pl, "found"),
        "mde": None,
        "after": None,
    }
    if s.has(name, *pl, "mde"):
        found["mde"] = {
            "power": s.v(name, *pl, "mde", "power", fmt="pct"),
            "gap": detectable(s, name, *pl, "mde"),
        }
    if s.has(name, *pl, "change_after"):
        found["after"] = {
            "difference": s.v(name, *pl, "after", "difference", fmt="ci"),
            "change": s.v(name, *pl, "change_after", fmt="ci"),
        }
    return found


def detectable(s: Sources, name: str, *mde) -> Phrase:
    """The minimum detectable gap, or '> the grid's largest' when none reached the power."""
    if s.get(name, *mde, "gap") is not None:
        return [s.v(name, *mde, "gap")]
    last = len(s.get(name, *mde, "curve")) - 1
    return ["> ", s.v(name, *mde, "curve", last, "gap")]


def _attribute(s: Sources, name: str, at: tuple, models: list[str]) -> dict:
    """One attribute's gaps between groups, and every group's metrics."""
    key = s.key(name, *at)
    gaps = []
    for metric in sorted(s.keys(name, *at, "gaps"), key=metric_order(s.get(name, "classes"))):
        g = (*at, "gaps", metric)
        gaps.append(
            {
                "metric": label(s, name, ("classes",), *g),
                "worst": s.v(name, *g, "worst"),
                "best": s.v(name, *g, "best"),
                "gaps": [s.v(name, *g, m, "difference", fmt="ci") for m in models],
                "change": s.v(name, *g, "change_after", fmt="ci") if "after" in models else None,
                "p_adjusted": _opt(s, name, *g, "p_adjusted"),
                "supported": s.v(name, *g, "supported"),
                "detectable": detectable(s, name, *g, "mde") if s.has(name, *g, "mde") else "n/a",
            }
        )
    return {"name": key, "models": models, "gaps": gaps, "groups": _groups(s, name, at)}


def _opt(s: Sources, name: str, *at, fmt: str = "num") -> Value | str:
    return s.v(name, *at, fmt=fmt) if s.has(name, *at) else "n/a"


def _groups(s: Sources, name: str, at: tuple) -> list[list]:
    rows = []
    for group in s.keys(name, *at, "groups"):
        g = (*at, "groups", group)
        for metric in sorted(s.keys(name, *g), key=metric_order(s.get(name, "classes"))):
            if metric == "n":
                continue
            cell = (*g, metric)
            rows.append(
                [
                    s.key(name, *g),
                    label(s, name, ("classes",), *cell),
                    s.v(name, *cell, "n"),
                    s.v(name, *cell, "before", fmt="ci"),
                    _opt(s, name, *cell, "after", fmt="ci"),
                    s.v(name, *cell, "judged"),
                ]
            )
    return rows


# ---- external sets ------------------------------------------------------------------------


def _external(s: Sources) -> dict:
    ind = ("in_distribution",)
    return {
        "model_name": s.v(X, "model_name"),
        "study_model": s.v(X, "study_model"),
        "task": s.v(X, "task"),
        "n": s.v(X, *ind, "n"),
        "macro_f1": s.v(X, *ind, "macro_f1", fmt="ci"),
        "accuracy": s.v(X, *ind, "accuracy", fmt="ci"),
        "sets": [part(s, lambda s, n=n: _external_set(s, ("sets", n))) for n in s.keys(X, "sets")],
    }


def _external_set(s: Sources, at: tuple) -> dict:
    m, g = (*at, "metrics"), (*at, "gap")
    found = {
        "name": s.key(X, *at),
        "n": s.v(X, *m, "n"),
        "scores": scores(s, X, *m),
        "per_class": per_class(s, X, ("classes",), *m),
    }
    keys = sorted(s.keys(X, *g), key=metric_order(s.get(X, "classes")))
    found["gap"] = [[label(s, X, ("classes",), *g, k), s.v(X, *g, k, fmt="ci")] for k in keys]
    found["verdict"] = versus(s.get(X, *g, "macro_f1") or {})
    found["audit"] = audit(s, X, (*at, "bias"))
    return found


# ---- explanations and scenes --------------------------------------------------------------


def _gradcam(s: Sources) -> dict:
    G = "gradcam.json"
    m = s.get(G)
    found = {
        "method": s.v(G, "method"),
        "target_layer": s.v(G, "target_layer"),
        "grid": s.v(G, "grid"),
        "n_images": s.v(G, "n_images"),
        "localisation": [],
    }
    loc = ("localisation", "overall")
    if s.get(G, "localisation", "available"):
        for measure, what in (
            ("pointing_hit", "the map's peak inside the ROI (the mask, or nose to chin)"),
            ("roi_energy", "share of the map's energy inside the ROI"),
        ):
            others = [
                (name, s.v(G, *loc, pk if measure == "pointing_hit" else ek, "value"))
                for name, pk, ek in gradcam_verdicts.BASELINES.values()
                if s.has(G, *loc, pk)
            ]
            found["localisation"].append((what, s.v(G, *loc, measure, fmt="ci"), others))
    f = ("faithfulness", "overall")
    found["drop"] = s.v(G, *f, "drop", fmt="ci")
    found["drop_random"] = s.v(G, *f, "drop_random", fmt="ci")
    found["road"] = s.v(G, "sanity", "road", "road_vs_random", fmt="ci")
    steps = s.get(G, "sanity", "randomisation", "steps")
    half = next(i for i, st in enumerate(steps) if st["fraction"] == 0.5)
    found["randomised"] = s.v(
        G, "sanity", "randomisation", "steps", half, "rank_correlation", fmt="ci"
    )
    found["failed"] = gradcam_verdicts.failures(m)
    return found


def _detect(s: Sources) -> dict:
    D = "detect.json"
    found = {
        "n_scenes": s.v(D, "n_scenes"),
        "n_faces": s.v(D, "n_faces"),
        "recall": s.v(D, "recall", fmt="ci"),
        "precision": s.v(D, "precision", fmt="ci"),
        "masked": None,
        "classification": None,
    }
    mv = ("recall_masked_vs_unmasked",)
    if s.has(D, *mv):
        found["masked"] = {k: s.v(D, *mv, k, fmt="ci") for k in ("masked", "unmasked")}
    if s.has(D, "classification"):
        c = ("classification",)
        found["classification"] = {k: s.v(D, *c, k, fmt="ci") for k in ("matched", "oracle_all")}
    return found
