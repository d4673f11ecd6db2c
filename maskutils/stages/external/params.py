"""Params of the external stage (params/external.yaml): the external test sets, each prepared with
the training data's prepare params, and how they are evaluated. The bias audit of a set with
attributes uses the bias stage's settings (params/bias.yaml). Defaults and meaning, once."""

from __future__ import annotations

from maskutils.core.params import Param, Rule, Schema, bootstrap, confidence, dpi, seed
from maskutils.prepare.camera import CAMERAS

SET = Schema(
    "an external test set",
    [
        Param(
            "kind",
            "folder",
            "`folder` (a folder per class, optional attributes.csv), `voc` (scenes with "
            "Pascal VOC boxes: their faces) or `synthetic` (drawn, as if by another camera)",
            choices=("folder", "voc", "synthetic"),
        ),
        Param("root", None, "the dataset's folder (`folder`, `voc`)", nullable=(str,)),
        Param(
            "aliases",
            {},
            "folder or VOC names -> class, for names the alias table does not know "
            "(e.g. `{FFP2-Mask: n95}`)",
            mapping=True,
        ),
        Param(
            "synthetic.camera",
            "shifted",
            "`synthetic`: the camera it is drawn as if by (lighting, blur, JPEG, background, "
            "face size, gender and age mix: docs/datasets.md)",
            choices=tuple(CAMERAS),
        ),
        Param("synthetic.n_images", 600, "`synthetic`: images drawn", range=(10, 200_000)),
        seed("synthetic.seed", "`synthetic`: seeds the drawing (another stream than training's)"),
    ],
    [
        Rule(
            ("kind", "root"),
            lambda kind, root: kind == "synthetic" or bool(root),
            "'root' (the dataset's folder) for kind folder or voc",
        )
    ],
)

SCHEMA = Schema(
    "external",
    [
        Param(
            "sets",
            {"camera": SET.validate({"kind": "synthetic"})},
            "the external test sets by name (each result under reports/metrics/external.json "
            "`sets.NAME`); never used for training or model choice",
            entries=SET,
        ),
        bootstrap(what="test images (both test sets resampled for a gap)"),
        confidence(),
        seed(),
        Param(
            "mitigated",
            True,
            "also apply the bias stage's mitigation (bias.json `mitigation`: the group prior "
            "correction, or the recipe retrained on the same rows, rebalanced), so a set's bias "
            "audit compares before and after",
        ),
        Param(
            "gallery", 8, "removed copies shown per set (beside the training image)", range=(0, 50)
        ),
        dpi(),
    ],
)
