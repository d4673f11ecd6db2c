"""Params of the detect stage (params/detect.yaml): the scenes, the detector, the scoring.
Defaults and meaning, once."""

from __future__ import annotations

from dataclasses import replace

from maskutils.core.params import Param, Schema, at_most, confidence, dpi, positive_ints, seed
from maskutils.modeling.detectors.params import DETECTOR, KINDS, is_kind

SCHEMA = Schema(
    "detect",
    [
        Param(
            "source.kind",
            "synthetic",
            "`synthetic` scenes, or `voc` (Pascal VOC scenes with annotated faces)",
            choices=("synthetic", "voc"),
        ),
        Param(
            "source.root",
            None,
            "the VOC folder; the `voc_scenes` profile sets `../shared/datasets/voc-300`",
            nullable=(str,),
        ),
        Param("scenes.n", 30, "synthetic scenes", range=(1, 100_000)),
        Param(
            "scenes.faces_per_scene",
            6,
            "faces asked per scene (fewer where they would hide each other)",
            range=(1, 50),
        ),
        Param("scenes.width", 640, "canvas width (px)", range=(64, 8192)),
        Param("scenes.height", 480, "canvas height (px)", range=(64, 8192)),
        Param("scenes.face_min", 32, "smallest face height (px)", range=(8, 4096)),
        Param(
            "scenes.face_max",
            128,
            "largest face height (px; at most 0.6 x the shorter side)",
            range=(8, 4096),
        ),
        seed("scenes.seed", "seeds the scenes and the bootstrap"),
        *(replace(row, key=f"detector.{row.key}") for row in DETECTOR),
        Param(
            "compare",
            "frontal",
            "a second detector scored side by side on the same scenes (a "
            "Haar cascade, `mtcnn`, or `none`)",
            check=lambda v: v == "none" or is_kind(v),
            must="none, " + KINDS,
        ),
        Param(
            "margin",
            0.15,
            "crop margin around a face for the classifier, share of its side",
            range=(0.0, 2.0),
        ),
        Param(
            "iou_threshold",
            0.5,
            "a detection matches a face at this IoU or more (one to one)",
            range=(0.05, 1.0),
        ),
        Param(
            "buckets",
            [16, 32, 64],
            "face-size bucket edges (px, sqrt of box area)",
            check=lambda v: positive_ints(v) and v == sorted(set(v)),
            must="a list of increasing box sides in pixels",
        ),
        Param(
            "incorrect",
            "exclude",
            "VOC mask_weared_incorrect: `exclude`d from accuracy, or counted as `mask`",
            choices=("exclude", "mask"),
        ),
        Param(
            "bootstrap",
            1000,
            "resamples of scenes for intervals (0: Wilson intervals over faces)",
            range=(0, 100_000),
        ),
        confidence(),
        Param("gallery", 4, "annotated scenes shown", range=(0, 100)),
        dpi(80),
    ],
    [at_most("scenes.face_min", "scenes.face_max")],
)
