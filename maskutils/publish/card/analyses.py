"""The card's quantitative analyses (Mitchell et al.): the studied model on the test split and
across the k folds, per class, per group before and after mitigation, and on each external set
with its gap to in-distribution and, where run, its own bias audit."""

from __future__ import annotations

from maskutils.publish.card.about import audited, study, unaudited
from maskutils.publish.card.calibration import calibration
from maskutils.publish.card.layout import facts, label, metric_order, note, part, table
from maskutils.publish.card.source import Sources
from maskutils.stages.gradcam import verdicts as gradcam_verdicts

T, K, B, X = "train.json", "kfold.json", "bias.json", "external.json"


def analyses(s: Sources) -> str:
    return (
        "<h3>Test split</h3>"
        + part(s, _test, T)
        + "<h3>K-fold cross-validation</h3>"
        + part(s, _kfold, K)
        + "<h3>By group</h3>"
        + part(s, lambda s: audit(s, B, ()), B)
        + "<h3>External test sets</h3>"
        + part(s, _external, X)
        + "<h3>Explanations and scenes</h3>"
        + part(s, _gradcam, "gradcam.json")
        + part(s, _detect, "detect.json")
        + "<h3>Calibration</h3>"
        + part(s, calibration, "calibration.json")
    )


def scores(s: Sources, name: str, *at) -> list[tuple[str, str]]:
    """Accuracy and macro-F1 with intervals, and a binary task's rates, of a metrics block."""
    rows = [
        ("macro-F1", s.v(name, *at, "macro_f1", fmt="ci")),
        ("accuracy", s.v(name, *at, "accuracy", fmt="ci")),
    ]
    if s.has(name, *at, "positive"):
        positive = f" (positive class: {s.v(name, *at, 'positive')})"
        rows += [
            (k, s.v(name, *at, k, fmt="ci") + positive)
            for k in ("sensitivity", "specificity")
            if s.has(name, *at, k)
        ]
    return rows


def per_class(s: Sources, name: str, classes: tuple, *at) -> str:
    rows = [
        [s.v(name, *classes, i)]
        + [s.v(name, *at, "per_class", c, k) for k in ("precision", "recall", "f1", "support")]
        for i, c in enumerate(s.get(name, *classes))
    ]
    return table(["class", "precision", "recall", "F1", "images"], rows)


def _test(s: Sources) -> str:
    m = ("models", study(s))
    rows = [("model", s.v(T, *m, "name")), ("test images", s.v(T, *m, "n"))]
    rows += scores(s, T, *m)
    rows += [
        ("weighted F1", s.v(T, *m, "weighted_f1")),
        (
            "macro precision / recall",
            f"{s.v(T, *m, 'macro_precision')} / {s.v(T, *m, 'macro_recall')}",
        ),
    ]
    return facts(rows) + per_class(s, T, ("classes",), *m)


def _kfold(s: Sources) -> str:
    sm = ("summary",)
    rows = [
        (
            "macro-F1, mean over folds",
            s.v(K, *sm, "macro_f1", fmt="mean") + f" (sd {s.v(K, *sm, 'macro_f1', 'sd')})",
        ),
        ("accuracy, mean over folds", s.v(K, *sm, "accuracy", fmt="mean")),
        ("macro-F1 pooled over out-of-fold predictions", s.v(K, "pooled_macro_f1")),
    ]
    classes = s.get(K, "classes")
    f1 = [[s.v(K, "classes", i), s.v(K, *sm, f"f1_{c}", fmt="mean")] for i, c in enumerate(classes)]
    return facts(rows) + table(["class", "F1, mean over folds"], f1)


# ---- the bias audit (bias.json, or an external set's "bias") ------------------------------


def audit(s: Sources, name: str, base: tuple) -> str:
    """Overall before/after, the pre-registered test, the gaps and every group's metrics of one
    audit at `base` in file `name` (classes at name's top-level "classes"); or why nothing was
    audited."""
    if not audited(s, name, *base):
        return note(f"not run, nothing to audit: {unaudited(s, name, *base)}")
    models = [m for m in ("before", "after") if s.has(name, *base, "overall", m)]
    out = part(s, lambda s: _overall(s, name, base))
    out += part(s, lambda s: _preregistered(s, name, base))
    if s.has(name, *base, "family"):
        f = (*base, "family")
        out += (
            f"<p>Exploratory gaps: {s.v(name, *f, 'size')} in one family, p-values "
            f"{s.v(name, *f, 'method')}-adjusted; supported: adjusted p below the level and the "
            "interval excluding zero.</p>"
        )
    for attr in s.keys(name, *base, "attributes"):
        out += part(s, lambda s, a=attr: _attribute(s, name, (*base, "attributes", a), models))
    return out


OVERALL = {
    "before": "before mitigation",
    "after": "after mitigation",
    "change_after": "change (after minus before)",
}


def _overall(s: Sources, name: str, base: tuple) -> str:
    o = (*base, "overall")
    rows = [
        [text, s.v(name, *o, k, "accuracy", fmt="ci"), s.v(name, *o, k, "macro_f1", fmt="ci")]
        for k, text in OVERALL.items()
        if s.has(name, *o, k)
    ]
    return table(["every audited image", "accuracy", "macro-F1"], rows)


def _preregistered(s: Sources, name: str, base: tuple) -> str:
    pl = (*base, "planted")
    if s.get(name, *pl) is None:
        return "<p>No pre-registered hypothesis.</p>"
    metric = label(s, name, ("classes",), *pl, "metric", value=True)
    head = (
        f"<p><b>Pre-registered</b> (one-sided, outside the family): {metric} "
        f"{s.v(name, *pl, 'direction')} for {s.v(name, *pl, 'attribute')} = "
        f"{s.v(name, *pl, 'group')} than for the rest"
    )
    if not s.get(name, *pl, "judged"):
        return (
            f"{head}: too few images to judge ({s.v(name, *pl, 'n', 'group')} vs "
            f"{s.v(name, *pl, 'n', 'rest')}).</p>"
        )
    b = (*pl, "before")
    out = (
        f"{head}: {s.v(name, *b, 'group', fmt='ci')} vs {s.v(name, *b, 'rest', fmt='ci')}, "
        f"difference {s.v(name, *b, 'difference', fmt='ci')}, one-sided permutation p = "
        f"{s.v(name, *pl, 'p_value')}; found: {s.v(name, *pl, 'found')}."
    )
    if s.has(name, *pl, "mde"):
        out += (
            f" Detectable with {s.v(name, *pl, 'mde', 'power', fmt='pct')} power: "
            f"{detectable(s, name, *pl, 'mde')}."
        )
    if s.has(name, *pl, "change_after"):
        out += (
            " After mitigation the difference is "
            f"{s.v(name, *pl, 'after', 'difference', fmt='ci')} "
            f"(change {s.v(name, *pl, 'change_after', fmt='ci')})."
        )
    return out + "</p>"


def detectable(s: Sources, name: str, *mde) -> str:
    """The minimum detectable gap, or '&gt; the grid's largest' when none reached the power."""
    if s.get(name, *mde, "gap") is not None:
        return s.v(name, *mde, "gap")
    last = len(s.get(name, *mde, "curve")) - 1
    return "&gt; " + s.v(name, *mde, "curve", last, "gap")


def _attribute(s: Sources, name: str, at: tuple, models: list[str]) -> str:
    out = f"<h4>{s.key(name, *at)}</h4>"
    gaps = sorted(s.keys(name, *at, "gaps"), key=metric_order(s.get(name, "classes")))
    if gaps:
        rows = []
        for metric in gaps:
            g = (*at, "gaps", metric)
            rows.append(
                [
                    label(s, name, ("classes",), *g),
                    f"{s.v(name, *g, 'worst')} vs {s.v(name, *g, 'best')}",
                    *(s.v(name, *g, m, "difference", fmt="ci") for m in models),
                    *([s.v(name, *g, "change_after", fmt="ci")] if "after" in models else []),
                    _opt(s, name, *g, "p_adjusted"),
                    s.v(name, *g, "supported"),
                    detectable(s, name, *g, "mde") if s.has(name, *g, "mde") else "n/a",
                ]
            )
        head = ["metric", "worst vs best", *(f"gap {m}" for m in models)]
        head += ["change"] if "after" in models else []
        out += table(head + ["adjusted p", "supported", "detectable gap"], rows)
    else:
        out += "<p>No metric has two groups large enough to compare.</p>"
    return out + _groups(s, name, at)


def _opt(s: Sources, name: str, *at) -> str:
    return s.v(name, *at) if s.has(name, *at) else "n/a"


def _groups(s: Sources, name: str, at: tuple) -> str:
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
                    _opt_ci(s, name, *cell, "after"),
                    s.v(name, *cell, "judged"),
                ]
            )
    return (
        f"<details><summary>every group of {s.key(name, *at)}: metrics before and after "
        "mitigation</summary>"
        + table(["group", "metric", "images", "before", "after", "judged"], rows)
        + "</details>"
    )


def _opt_ci(s: Sources, name: str, *at) -> str:
    return s.v(name, *at, fmt="ci") if s.has(name, *at) else "n/a"


# ---- external sets ------------------------------------------------------------------------


def _external(s: Sources) -> str:
    ind = ("in_distribution",)
    out = (
        f"<p>{s.v(X, 'model_name')} (kind {s.v(X, 'study_model')}, task {s.v(X, 'task')}); "
        f"in distribution, on {s.v(X, *ind, 'n')} test images: macro-F1 "
        f"{s.v(X, *ind, 'macro_f1', fmt='ci')}, accuracy {s.v(X, *ind, 'accuracy', fmt='ci')}.</p>"
    )
    sets = s.keys(X, "sets")
    if not sets:
        return out + "<p>No external set evaluated.</p>"
    for name in sets:
        out += part(s, lambda s, n=name: _external_set(s, ("sets", n)))
    return out


def _external_set(s: Sources, at: tuple) -> str:
    m, g = (*at, "metrics"), (*at, "gap")
    out = f"<h4>{s.key(X, *at)}</h4>"
    out += facts([("images evaluated", s.v(X, *m, "n"))] + scores(s, X, *m))
    out += per_class(s, X, ("classes",), *m)
    keys = sorted(s.keys(X, *g), key=metric_order(s.get(X, "classes")))
    rows = [[label(s, X, ("classes",), *g, k), s.v(X, *g, k, fmt="ci")] for k in keys]
    out += table(["gap (in-distribution minus external)", "value"], rows)
    return out + "<p><b>Bias audit on this set</b></p>" + audit(s, X, (*at, "bias"))


# ---- explanations and scenes --------------------------------------------------------------


def _gradcam(s: Sources) -> str:
    G = "gradcam.json"
    m = s.get(G)
    rows = [
        (
            "maps",
            f"{s.v(G, 'method')} at {s.v(G, 'target_layer')}, a map of {s.v(G, 'grid')} cells a "
            f"side, on {s.v(G, 'n_images')} images",
        )
    ]
    loc = ("localisation", "overall")
    if s.get(G, "localisation", "available"):
        for measure, what in (
            ("pointing_hit", "the map's peak inside the ROI (the mask, or nose to chin)"),
            ("roi_energy", "share of the map's energy inside the ROI"),
        ):
            others = ", ".join(
                f"{name}: {s.v(G, *loc, pk if measure == 'pointing_hit' else ek, 'value')}"
                for name, pk, ek in gradcam_verdicts.BASELINES.values()
                if s.has(G, *loc, pk)
            )
            rows.append((what, f"{s.v(G, *loc, measure, fmt='ci')} ({others})"))
    f = ("faithfulness", "overall")
    rows.append(
        (
            "probability drop when the map's top is removed",
            f"{s.v(G, *f, 'drop', fmt='ci')} (random maps: {s.v(G, *f, 'drop_random', fmt='ci')})",
        )
    )
    rows.append(("ROAD minus random maps", s.v(G, "sanity", "road", "road_vs_random", fmt="ci")))
    steps = s.get(G, "sanity", "randomisation", "steps")
    half = next(i for i, st in enumerate(steps) if st["fraction"] == 0.5)
    rows.append(
        (
            "rank correlation with the maps after re-initialising the top half of the layers",
            s.v(G, "sanity", "randomisation", "steps", half, "rank_correlation", fmt="ci"),
        )
    )
    failed = gradcam_verdicts.failures(m)
    verdict = (
        "the maps pass every test the Grad-CAM stage runs"
        if not failed
        else "the maps fail: " + "; ".join(failed) + ". Do not read them as where the model looks"
    )
    return facts(rows) + note(f"Verdict, read from these figures: {verdict}.")


def _detect(s: Sources) -> str:
    D = "detect.json"
    rows = [
        ("scenes / annotated faces", f"{s.v(D, 'n_scenes')} / {s.v(D, 'n_faces')}"),
        ("faces found (recall)", s.v(D, "recall", fmt="ci")),
        ("detections that are faces (precision)", s.v(D, "precision", fmt="ci")),
    ]
    mv = ("recall_masked_vs_unmasked",)
    if s.has(D, *mv):
        rows.append(
            (
                "recall, masked / unmasked faces",
                f"{s.v(D, *mv, 'masked', fmt='ci')} / {s.v(D, *mv, 'unmasked', fmt='ci')}",
            )
        )
    if s.has(D, "classification"):
        c = ("classification",)
        rows.append(
            (
                "classified right: detected faces / every face cropped by hand",
                f"{s.v(D, *c, 'matched', fmt='ci')} / {s.v(D, *c, 'oracle_all', fmt='ci')}",
            )
        )
    return facts(rows)
