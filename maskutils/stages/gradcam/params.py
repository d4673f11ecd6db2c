"""Params of the Grad-CAM stage (params/gradcam.yaml). Defaults and meaning, once."""

from __future__ import annotations

from maskutils.core.params import Param, Schema, bootstrap, confidence, dpi, names, seed

SPLITS = {"train", "val", "test", "excluded"}
#: the pytorch-grad-cam methods a map can come from (`cams.compute_cams`)
METHODS = ("gradcam", "gradcam++", "hirescam", "layercam", "scorecam", "eigencam")


def _splits(v) -> bool:
    return names(v) and set(v) <= SPLITS


SCHEMA = Schema(
    "gradcam",
    [
        Param(
            "method",
            "gradcam",
            "chosen by benchmarks/gradcam_grid.py (record: benchmarks/results/gradcam_grid.json); "
            "`scorecam` is slow: one forward pass per channel",
            choices=METHODS,
        ),
        Param(
            "target_layer",
            None,
            "a dotted module name (e.g. `net.features.13`); null: the deepest block whose map "
            "has at least `min_grid` cells a side, found automatically for every model",
            nullable=(str,),
        ),
        Param(
            "min_grid",
            6,
            "cells a side of the target layer's map (chosen with `method`); 1: the last block",
            range=(1, 64),
        ),
        Param(
            "target",
            "pred",
            "maps explain the `pred`icted or the `true` class",
            choices=("pred", "true"),
        ),
        Param(
            "splits",
            ["test"],
            "which images are explained",
            check=_splits,
            must="a list of splits (train, val, test, excluded)",
        ),
        Param("images_per_class", 4, "images in each gallery group", range=(1, 50)),
        Param("batch_size", 32, "images per Grad-CAM batch", range=(1, 1024)),
        Param(
            "removal",
            0.2,
            "share of the map's top pixels blanked for faithfulness",
            range=(0.01, 0.9),
        ),
        Param(
            "sanity.images",
            100,
            "images whose maps are recomputed after each layer randomisation",
            range=(2, 10_000),
        ),
        Param(
            "compare_cnn",
            True,
            "explain the train stage's from-scratch CNN (models/cnn.pt) beside the studied model",
        ),
        bootstrap(),
        confidence(),
        seed(help="random maps and tie-breaks"),
        Param("shortcut.enabled", True, "run the shortcut probe (synthetic data only)"),
        Param(
            "shortcut.label",
            None,
            "class whose faces are probed; null: the cue's class, else cloth",
            nullable=(str,),
        ),
        Param("shortcut.n", 100, "faces probed", range=(1, 10_000)),
        Param(
            "shortcut.splits",
            ["test", "val", "train"],
            "where probe faces come from (never faces drawn with the cue)",
            check=_splits,
            must="a list of splits (train, val, test, excluded)",
        ),
        dpi(),
    ],
)
