"""Params of the face detector (the detect stage's `detector:` section and `maskutils predict
--faces`). Defaults and meaning, once. `kind` picks the detector; each other row says which
detector reads it."""

from __future__ import annotations

from maskutils.core.params import Param

CASCADE_PARTS = ("frontal", "frontal_alt", "frontal_alt2", "frontal_alt_tree", "profile")


def is_kind(v) -> bool:
    """`mtcnn`, or one Haar cascade or several joined with '+'."""
    return v == "mtcnn" or (
        isinstance(v, str) and bool(v) and set(v.split("+")) <= set(CASCADE_PARTS)
    )


def _thresholds(v) -> bool:
    return (
        isinstance(v, list)
        and len(v) == 3
        and all(isinstance(t, (int, float)) and not isinstance(t, bool) and 0 <= t < 1 for t in v)
    )


KINDS = "mtcnn, or a Haar cascade (frontal, frontal_alt, frontal_alt2, frontal_alt_tree, profile; "
KINDS += "several joined with '+')"

DETECTOR = [
    Param(
        "kind",
        "mtcnn",
        "`mtcnn` (facenet-pytorch's P/R/O-Nets, shipped in its wheel) or an "
        "OpenCV Haar cascade: `frontal`, `frontal_alt`, `frontal_alt2`, `frontal_alt_tree`, "
        "`profile` (both directions); join cascades with `+` to merge them by NMS",
        check=is_kind,
        must=KINDS,
    ),
    Param("min_size", 20, "smallest face side searched, in scene pixels (both)", range=(1, 4096)),
    Param(
        "upscale",
        1.0,
        "enlarge scenes first, so faces under a detector's window can be found (both)",
        range=(0.25, 8.0),
    ),
    Param(
        "thresholds",
        [0.6, 0.7, 0.7],
        "MTCNN: face-probability cut-offs of the P-, R- and O-Net",
        check=_thresholds,
        must="three numbers in [0, 1)",
    ),
    Param(
        "factor",
        0.709,
        "MTCNN: image pyramid step (scale factor between levels)",
        range=(0.3, 0.95),
    ),
    Param("scale_factor", 1.1, "Haar: image pyramid step", range=(1.01, 2.0)),
    Param("min_neighbors", 5, "Haar: overlapping hits a face needs", range=(0, 100)),
    Param(
        "nms_iou",
        0.3,
        "Haar: overlap above which merged cascades' boxes are suppressed",
        range=(0.01, 1.0),
    ),
]
