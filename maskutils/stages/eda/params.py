"""Params of the EDA stage (params/eda.yaml): what the data report shows. Defaults, once."""

from __future__ import annotations

from maskutils.core.params import Param, Schema, dpi

SCHEMA = Schema(
    "eda",
    [
        Param("samples_per_class", 8, "thumbnails per class in the sample grid", range=(1, 64)),
        Param(
            "duplicate_pairs_shown", 8, "near-duplicate pairs shown side by side", range=(0, 200)
        ),
        Param(
            "problems_shown",
            30,
            "rows of the problems table shown in the report",
            range=(0, 10_000),
        ),
        Param(
            "shortcut_margin",
            0.1,
            "warn when format/width/height predict the class this much better than the baseline",
            range=(0.0, 1.0),
        ),
        dpi(),
    ],
)
