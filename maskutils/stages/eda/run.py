"""The EDA stage's numbers: counts, near-duplicates, quality flags and the shortcut check."""

from __future__ import annotations

from maskutils.prepare.prepared import Prepared
from maskutils.prepare.quality import duplicate_summary, shortcut_check
from maskutils.stages.eda.report import class_order, flag_table


def run(p: Prepared, params: dict) -> tuple[dict, dict]:
    """(the metrics file's content, the shortcut check) for the prepared data."""
    shortcut = shortcut_check(p.manifest, seed=p.info["params"]["seed"])
    return metrics(p, shortcut, params["shortcut_margin"]), shortcut


def metrics(p: Prepared, shortcut: dict, margin: float) -> dict:
    """Counts of images, classes, splits, duplicates, flags, and the shortcut check's verdict."""
    df = p.manifest
    return {
        "n_images": len(df),
        "n_files": p.info["n_files"],
        "n_problems": len(p.problems),
        "image_size": p.info["image_size"],
        "image_size_auto": p.info.get("image_size_auto"),
        "classes": {
            k: int(v) for k, v in df["label"].value_counts().reindex(class_order(df)).items()
        },
        "splits": {k: int(v) for k, v in df["split"].value_counts().items()},
        "duplicates": duplicate_summary(df),
        "flags": {k: int(v) for k, v in flag_table(df)["images"].items()},
        "shortcut": {
            "baseline_balanced_accuracy": shortcut["baseline"],
            "tree_balanced_accuracy": shortcut["tree"],
            "warning": bool(shortcut["tree"] > shortcut["baseline"] + margin),
        },
    }
