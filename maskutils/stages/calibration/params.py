"""Params of the calibration stage (params/calibration.yaml): how far the studied model's
confidence can be trusted. Defaults and meaning, once."""

from __future__ import annotations

from maskutils.core.params import Param, Schema, bootstrap, confidence, dpi, names, seed

SCHEMA = Schema(
    "calibration",
    [
        Param(
            "bins",
            10,
            "equal-width confidence bins of the reliability diagram and the expected "
            "calibration error",
            range=(2, 100),
        ),
        bootstrap(),
        confidence(),
        seed(),
        Param(
            "attributes",
            "auto",
            "manifest columns to score calibration by group on the test split; `auto`: gender, "
            "age and skin_tone, those the dataset has",
            check=lambda v: v == "auto" or names(v),
            must="'auto' or a list of manifest column names",
        ),
        Param(
            "min_group",
            30,
            "a group's calibration is judged only with at least this many test images",
            range=(1, 100_000),
        ),
        dpi(),
    ],
)
