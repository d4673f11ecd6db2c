"""The card's last sections (Mitchell et al.): ethical considerations, caveats and
recommendations. Written text; each fact in it that depends on the data is read through
`Sources`, so the text changes when the data do."""

from __future__ import annotations

from maskutils.publish.card.about import audited, pairs, raw, unaudited
from maskutils.publish.card.layout import inline, label, part
from maskutils.publish.card.source import Sources

PR, B, X, EDA = "prepare.yaml", "bias.json", "external.json", "eda.json"


def ethics(s: Sources) -> str:
    return (
        part(s, _people, PR)
        + part(s, _groups, B)
        + "<p><b>Faces are personal data.</b> The model sees faces; it must not be part of a "
        "system that identifies, tracks or sanctions people. A mask-type label says nothing "
        "reliable about health, belief or compliance.</p>"
    )


def _people(s: Sources) -> str:
    if s.get(PR, "source", "kind") == "synthetic":
        return (
            f"<p><b>Data.</b> The training faces are {raw(s, PR, 'source', 'kind')}: rendered "
            "by the project, so no real person is pictured, and gender, age and skin tone are "
            "the generator's labels. The audit measures the model on rendered groups, which "
            "says how the pipeline finds a gap, not how the model treats people.</p>"
        )
    return (
        f"<p><b>Data.</b> The training faces are photographs ({raw(s, PR, 'source', 'kind')} "
        f"source at <code>{raw(s, PR, 'source', 'root')}</code>): real people, whose "
        "attributes, where present, are the dataset's annotations, not their own account.</p>"
    )


def _groups(s: Sources) -> str:
    if not audited(s, B):
        return (
            f"<p><b>Groups.</b> Not audited: {unaudited(s, B)}. Whether the model does worse "
            "for some people is not known; measure it on images that record who is pictured "
            "before any use.</p>"
        )
    out = (
        f"<p><b>Groups.</b> Groups with fewer than {s.v(B, 'min_group')} images are listed but "
        "not judged: for them no gap found means not measured.</p>"
    )
    found = [
        (a, m)
        for a in s.keys(B, "attributes")
        for m in s.keys(B, "attributes", a, "gaps")
        if s.get(B, "attributes", a, "gaps", m, "supported")
    ]
    if found:
        out += "<p>Gaps the data support: " + "; ".join(_gap(s, a, m) for a, m in found) + ".</p>"
    else:
        out += (
            "<p>No gap between groups is supported by the data; the detectable gaps under "
            "Quantitative analyses say how large a gap could have gone unseen.</p>"
        )
    if s.has(B, "overall", "change_after"):
        out += (
            "<p>Mitigation changed macro-F1 overall by "
            f"{s.v(B, 'overall', 'change_after', 'macro_f1', fmt='ci')}.</p>"
        )
    return out


def _gap(s: Sources, attr: str, metric: str) -> str:
    g = ("attributes", attr, "gaps", metric)
    return (
        f"{s.key(B, 'attributes', attr)}, {label(s, B, ('classes',), *g)}: "
        f"{s.v(B, *g, 'worst')} worse than {s.v(B, *g, 'best')} by "
        f"{s.v(B, *g, 'before', 'difference', fmt='ci')}"
    )


def caveats(s: Sources) -> str:
    items = [
        inline(
            s,
            _domain,
            "<b>Outside the training source</b>: not measured (no external sets "
            "evaluated, <code>reports/metrics/external.json</code> not run).",
        ),
        inline(s, _small, ""),
        inline(s, _kfold, ""),
        inline(s, _shortcut, ""),
        inline(s, _scenes, ""),
        "<b>Recommendations.</b> Before any use, evaluate on images of the target setting "
        "(the external stage), re-run the bias audit on its people, and report intervals, not "
        "point values; retrain or stop where a gap is found.",
    ]
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items if i) + "</ul>"


def _domain(s: Sources) -> str:
    sets = s.keys(X, "sets")
    if not sets:
        return "<b>Outside the training source</b>: not measured (no external set evaluated)."
    gaps = "; ".join(
        f"{s.key(X, 'sets', n)} {s.v(X, 'sets', n, 'gap', 'macro_f1', fmt='ci')}" for n in sets
    )
    return (
        "<b>Outside the training source</b> macro-F1 drops (in-distribution minus external): "
        f"{gaps}."
    )


def _small(s: Sources) -> str:
    return (
        f"<b>A small test set</b>: {s.v('train.json', 'split', 'test')} images; differences "
        "inside the intervals are not findings."
    )


def _kfold(s: Sources) -> str:
    text = (
        "<b>K-fold retrains</b> the recipe with "
        + (pairs(s, "kfold.yaml", "overrides") or "no overrides")
        + ", so its numbers describe the recipe, not the one studied model."
    )
    return text


def _shortcut(s: Sources) -> str:
    return (
        "<b>Shortcuts</b>: image metadata predicts the class: "
        f"{s.v(EDA, 'shortcut', 'warning')}; near-duplicate groups across the split: "
        f"{s.v(EDA, 'duplicates', 'groups_across_splits')}. A model can still learn a cue "
        "the data carry (background, lighting); the Grad-CAM section says whether its maps "
        "can show where."
    )


def _scenes(s: Sources) -> str:
    D = "detect.json"
    return (
        "<b>In scenes</b> the detector finds "
        f"{s.v(D, 'recall_masked_vs_unmasked', 'masked', fmt='ci')} of masked faces and "
        f"{s.v(D, 'recall_masked_vs_unmasked', 'unmasked', fmt='ci')} of unmasked ones: a face "
        "not found is never classified."
    )
