"""The EDA stage's numbers: counts, near-duplicates, quality flags and the shortcut check."""

from __future__ import annotations

from dataclasses import dataclass

from maskutils.prepare.prepared import Prepared
from maskutils.prepare.quality import duplicate_summary, shortcut_check
from maskutils.stages.contract import Inputs
from maskutils.stages.eda.report import class_order, flag_table


@dataclass
class Eda:
    prepared: Prepared
    shortcut: dict  # the shortcut check (`quality.shortcut_check`)


def run(inputs: Inputs, params: dict) -> Eda:
    """The prepared data and the shortcut check of its file formats and sizes."""
    p = inputs.prepared
    return Eda(p, shortcut_check(p.manifest, seed=p.info["params"]["seed"]))


def summary(result: Eda, params: dict) -> dict:
    """The metrics file (reports/metrics/eda.json)."""
    return metrics(result.prepared, result.shortcut, params["shortcut_margin"])


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
