"""The card's data sections (Mitchell et al.): training data (the source, its counts, the split,
near-duplicates, the shortcut check) and evaluation data (the test split, the k folds, the
external sets)."""

from __future__ import annotations

from maskutils.publish.card.about import audited, items, raw, unaudited
from maskutils.publish.card.layout import part
from maskutils.publish.card.source import Sources

PR, EDA, T, X = "prepare.yaml", "eda.json", "train.json", "external.json"

#: external.json counts: key -> what the column says.
COUNTS = {
    "images": "images",
    "problems": "unreadable",
    "quality_flagged": "quality-flagged (kept, as in training)",
    "duplicates_within": "duplicates within",
    "exact_copies": "exact copies of training images",
    "near_copies": "near copies of training images",
    "unknown_class": "class unknown to the model",
    "used": "evaluated",
}


def training_data(s: Sources) -> dict:
    return {
        "source": part(s, _source, PR),
        "eda": part(s, _eda, EDA),
        "split": part(s, _split, T, PR),
    }


def _source(s: Sources) -> dict:
    src = ("source",)
    found = {"kind": raw(s, PR, *src, "kind"), "root": None, "synthetic": None}
    if s.get(PR, *src, "root") is not None:
        found["root"] = raw(s, PR, *src, "root")
    if s.get(PR, *src, "kind") == "synthetic":
        syn = ("synthetic",)
        found["synthetic"] = {
            "n_images": s.v(PR, *syn, "n_images"),
            "render_size": raw(s, PR, *syn, "render_size"),
            "classes": items(s, PR, *syn, "classes"),
            "cue": None,
        }
        if s.get(PR, *syn, "spurious_cue", "label") is not None:
            cue = (*syn, "spurious_cue")
            found["synthetic"]["cue"] = {
                "fraction": s.v(PR, *cue, "fraction", fmt="pct"),
                "label": raw(s, PR, *cue, "label"),
            }
    return found


def _eda(s: Sources) -> dict:
    d, sh = ("duplicates",), ("shortcut",)
    flags = s.get(EDA, "flags")
    return {
        "n_images": s.v(EDA, "n_images"),
        "n_files": s.v(EDA, "n_files"),
        "n_problems": s.v(EDA, "n_problems"),
        "classes": [
            (s.key(EDA, "classes", c), s.v(EDA, "classes", c)) for c in s.keys(EDA, "classes")
        ],
        "duplicates": {
            k: s.v(EDA, *d, k)
            for k in (
                "groups",
                "images_in_groups",
                "groups_across_classes",
                "groups_across_splits",
            )
        },
        "flags": [(s.key(EDA, "flags", k), s.v(EDA, "flags", k)) for k in flags],
        "shortcut": {
            k: s.v(EDA, *sh, k)
            for k in ("tree_balanced_accuracy", "baseline_balanced_accuracy", "warning")
        },
    }


def _split(s: Sources) -> dict:
    """Split sizes from train.json (what training used), fractions from params/prepare.yaml."""
    return {
        "sizes": [s.v(T, "split", k) for k in ("train", "val", "test", "excluded")],
        "test": s.v(PR, "split", "test_fraction", fmt="pct"),
        "val": s.v(PR, "split", "val_fraction", fmt="pct"),
    }


def evaluation_data(s: Sources) -> dict:
    return {"in_distribution": part(s, _in_distribution, T), "external": part(s, _external, X)}


def _in_distribution(s: Sources) -> dict:
    found = {"test": s.v(T, "split", "test"), "kfold": None, "bias": None}
    if s.ran("kfold.json"):
        found["kfold"] = {"k": s.v("kfold.json", "k"), "n": s.v("kfold.json", "n")}
    if s.ran("bias.json"):
        found["bias"] = (
            {"n": s.v("bias.json", "n"), "unaudited": None}
            if audited(s, "bias.json")
            else {"unaudited": unaudited(s, "bias.json")}
        )
    return found


def _external(s: Sources) -> dict:
    sets = s.keys(X, "sets")
    rows, unknown = [], []
    for name in sets:
        at = ("sets", name)
        root = raw(s, X, *at, "root") if s.get(X, *at, "root") is not None else "built in"
        rows.append(
            [s.key(X, *at), raw(s, X, *at, "kind"), root]
            + [s.v(X, *at, "counts", k) for k in COUNTS]
        )
    for name in sets:
        left = ("sets", name, "unknown_classes")
        if s.has(X, *left) and s.get(X, *left):
            unknown.append(
                {
                    "set": s.key(X, "sets", name),
                    "classes": [(s.key(X, *left, k), s.v(X, *left, k)) for k in s.keys(X, *left)],
                }
            )
    return {"head": ["set", "kind", "root", *COUNTS.values()], "rows": rows, "unknown": unknown}
