"""Params of the face detector (the detect stage's `detector:` section and `maskutils predict
--faces`). Defaults and meaning, once."""

from __future__ import annotations

from maskutils.core.params import Param

CASCADE_PARTS = ("frontal", "frontal_alt", "frontal_alt2", "frontal_alt_tree", "profile")

DETECTOR = [
    Param(
        "kind",
        "frontal",
        "Haar cascade: `frontal`, `frontal_alt`, `frontal_alt2`, "
        "`frontal_alt_tree`, `profile` (both directions); join with `+` to merge by NMS",
        check=lambda v: isinstance(v, str) and bool(v) and set(v.split("+")) <= set(CASCADE_PARTS),
        must="frontal, frontal_alt, frontal_alt2, frontal_alt_tree or profile, or several "
        "joined with '+'",
    ),
    Param("scale_factor", 1.1, "image pyramid step", range=(1.01, 2.0)),
    Param("min_neighbors", 5, "overlapping hits a face needs", range=(0, 100)),
    Param("min_size", 24, "smallest face side searched, in scene pixels", range=(1, 4096)),
    Param(
        "upscale",
        1.0,
        "enlarge scenes first (helps small faces only with a lower `min_size`)",
        range=(0.25, 8.0),
    ),
    Param("nms_iou", 0.3, "overlap above which merged boxes are suppressed", range=(0.01, 1.0)),
]
