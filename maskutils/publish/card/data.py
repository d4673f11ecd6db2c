"""The card's data sections (Mitchell et al.): training data (the source, its counts, the split,
near-duplicates, the shortcut check) and evaluation data (the test split, the k folds, the
external sets)."""

from __future__ import annotations

from maskutils.publish.card.about import audited, items, raw, unaudited
from maskutils.publish.card.layout import facts, part, table
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


def training_data(s: Sources) -> str:
    return (
        part(s, _source, PR)
        + "<h3>What the pipeline found in it</h3>"
        + part(s, _eda, EDA)
        + "<h3>The split</h3>"
        + part(s, _split, T, PR)
    )


def _source(s: Sources) -> str:
    src = ("source",)
    rows = [("source", raw(s, PR, *src, "kind"))]
    if s.get(PR, *src, "root") is not None:
        rows.append(("root", f"<code>{raw(s, PR, *src, 'root')}</code>"))
    if s.get(PR, *src, "kind") == "synthetic":
        syn = ("synthetic",)
        rows.append(
            (
                "synthetic faces",
                f"{s.v(PR, *syn, 'n_images')} faces rendered by the project at "
                f"{raw(s, PR, *syn, 'render_size')} px, classes {items(s, PR, *syn, 'classes')}; "
                "gender, age and skin tone are the generator's labels, not observed",
            )
        )
        if s.get(PR, *syn, "spurious_cue", "label") is not None:
            cue = (*syn, "spurious_cue")
            rows.append(
                (
                    "planted shortcut",
                    f"{s.v(PR, *cue, 'fraction', fmt='pct')} of the "
                    f"{raw(s, PR, *cue, 'label')} training images drawn on a green background",
                )
            )
    return facts(rows)


def _eda(s: Sources) -> str:
    d, sh = ("duplicates",), ("shortcut",)
    flags = s.get(EDA, "flags")
    rows = [
        (
            "images",
            f"{s.v(EDA, 'n_images')} face images from {s.v(EDA, 'n_files')} files; "
            f"{s.v(EDA, 'n_problems')} files or boxes skipped",
        ),
        (
            "per class",
            ", ".join(
                f"{s.key(EDA, 'classes', c)} {s.v(EDA, 'classes', c)}"
                for c in s.keys(EDA, "classes")
            ),
        ),
        (
            "near-duplicates",
            f"{s.v(EDA, *d, 'groups')} groups holding {s.v(EDA, *d, 'images_in_groups')} images; "
            f"{s.v(EDA, *d, 'groups_across_classes')} span classes, "
            f"{s.v(EDA, *d, 'groups_across_splits')} span splits",
        ),
        (
            "quality flags",
            ", ".join(f"{s.key(EDA, 'flags', k)} {s.v(EDA, 'flags', k)}" for k in flags) or "none",
        ),
        (
            "shortcut check",
            f"a tree on image metadata alone reaches {s.v(EDA, *sh, 'tree_balanced_accuracy')} "
            f"balanced accuracy against {s.v(EDA, *sh, 'baseline_balanced_accuracy')} for "
            f"guessing; metadata predicts the class: {s.v(EDA, *sh, 'warning')}",
        ),
    ]
    return facts(rows)


def _split(s: Sources) -> str:
    """Split sizes from train.json (what training used), fractions from params/prepare.yaml."""
    sizes = [s.v(T, "split", k) for k in ("train", "val", "test", "excluded")]
    return (
        table(["train", "validation", "test", "excluded from training"], [sizes])
        + f"<p>Asked for: {s.v(PR, 'split', 'test_fraction', fmt='pct')} test, "
        f"{s.v(PR, 'split', 'val_fraction', fmt='pct')} validation, stratified by class, every "
        "group of near-duplicates on one side; excluded images are predicted out of fold and "
        "audited, never trained on.</p>"
    )


def evaluation_data(s: Sources) -> str:
    return (
        "<h3>In distribution</h3>"
        + part(s, _in_distribution, T)
        + "<h3>External test sets</h3>"
        + part(s, _external, X)
    )


def _in_distribution(s: Sources) -> str:
    rows = [
        (
            "test split",
            f"{s.v(T, 'split', 'test')} held-out images of the training source, never seen in "
            "training or model selection",
        )
    ]
    if s.ran("kfold.json"):
        rows.append(
            (
                "k-fold",
                f"{s.v('kfold.json', 'k')} folds over the {s.v('kfold.json', 'n')} images of "
                "the training pool (train and validation), each image predicted by the model "
                "that did not train on it",
            )
        )
    if s.ran("bias.json"):
        rows.append(
            (
                "bias audit",
                f"the {s.v('bias.json', 'n')} out-of-fold predictions of the k-fold models"
                if audited(s, "bias.json")
                else f"none, nothing to audit: {unaudited(s, 'bias.json')}",
            )
        )
    return facts(rows)


def _external(s: Sources) -> str:
    sets = s.keys(X, "sets")
    if not sets:
        return "<p>None evaluated.</p>"
    rows = []
    for name in sets:
        at = ("sets", name)
        root = raw(s, X, *at, "root") if s.get(X, *at, "root") is not None else "built in"
        rows.append(
            [s.key(X, *at), raw(s, X, *at, "kind"), root]
            + [s.v(X, *at, "counts", k) for k in COUNTS]
        )
    out = table(["set", "kind", "root", *COUNTS.values()], rows)
    for name in sets:
        unknown = ("sets", name, "unknown_classes")
        if s.has(X, *unknown) and s.get(X, *unknown):
            out += (
                f"<p>{s.key(X, 'sets', name)}: left out for a class the model does not know: "
                + ", ".join(
                    f"{s.key(X, *unknown, k)} {s.v(X, *unknown, k)}" for k in s.keys(X, *unknown)
                )
                + ".</p>"
            )
    return out
