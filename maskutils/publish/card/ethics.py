"""The card's last sections (Mitchell et al.): ethical considerations, caveats and
recommendations. Written text (templates/card/ethics.html.j2, caveats.html.j2); each fact in it
that depends on the data is read here through `Sources`, so the text changes when the data do."""

from __future__ import annotations

from maskutils.publish.card.about import audited, pairs, raw, unaudited
from maskutils.publish.card.layout import label, maybe, part
from maskutils.publish.card.source import Sources

PR, B, X, EDA, D = "prepare.yaml", "bias.json", "external.json", "eda.json", "detect.json"


def ethics(s: Sources) -> dict:
    return {"people": part(s, _people, PR), "groups": part(s, _groups, B)}


def _people(s: Sources) -> dict:
    if s.get(PR, "source", "kind") == "synthetic":
        return {"synthetic": True, "kind": raw(s, PR, "source", "kind")}
    kind = raw(s, PR, "source", "kind")
    return {"synthetic": False, "kind": kind, "root": raw(s, PR, "source", "root")}


def _groups(s: Sources) -> dict:
    if not audited(s, B):
        return {"unaudited": unaudited(s, B)}
    found = {"unaudited": None, "min_group": s.v(B, "min_group")}
    supported = [
        (a, m)
        for a in s.keys(B, "attributes")
        for m in s.keys(B, "attributes", a, "gaps")
        if s.get(B, "attributes", a, "gaps", m, "supported")
    ]
    found["gaps"] = [_gap(s, a, m) for a, m in supported]
    found["change"] = None
    if s.has(B, "overall", "change_after"):
        found["change"] = s.v(B, "overall", "change_after", "macro_f1", fmt="ci")
    return found


def _gap(s: Sources, attr: str, metric: str) -> dict:
    g = ("attributes", attr, "gaps", metric)
    return {
        "attribute": s.key(B, "attributes", attr),
        "metric": label(s, B, ("classes",), *g),
        "worst": s.v(B, *g, "worst"),
        "best": s.v(B, *g, "best"),
        "difference": s.v(B, *g, "before", "difference", fmt="ci"),
    }


def caveats(s: Sources) -> dict:
    """Each caveat's values; None where a file or key it needs is missing."""
    return {
        "domain": maybe(
            s,
            lambda s: [
                (s.key(X, "sets", n), s.v(X, "sets", n, "gap", "macro_f1", fmt="ci"))
                for n in s.keys(X, "sets")
            ],
        ),
        "test": maybe(s, lambda s: s.v("train.json", "split", "test")),
        "overrides": maybe(s, lambda s: pairs(s, "kfold.yaml", "overrides")),
        "inert": maybe(s, _inert_overrides),
        "shortcut": maybe(
            s,
            lambda s: {
                "warning": s.v(EDA, "shortcut", "warning"),
                "across_splits": s.v(EDA, "duplicates", "groups_across_splits"),
            },
        ),
        "scenes": maybe(
            s,
            lambda s: {
                k: s.v(D, "recall_masked_vs_unmasked", k, fmt="ci") for k in ("masked", "unmasked")
            },
        ),
    }


#: recipe keys only a CNN reads: a transfer model's epochs are `transfer.epochs`
CNN_ONLY = ("epochs", "cnn")


def _inert_overrides(s: Sources) -> list[str]:
    """The k-fold overrides that cannot change the studied model (a CNN's keys when it is a
    transfer model), so that the card does not present them as applied."""
    if s.get("train.json", "study_model") != "transfer":
        return []
    return [k for k in s.keys("kfold.yaml", "overrides") if k in CNN_ONLY]
