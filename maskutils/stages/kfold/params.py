"""Params of the k-fold stage (params/kfold.yaml). Its training recipe is the train stage's
(params/train.yaml) with `overrides` applied. Defaults and meaning, once."""

from __future__ import annotations

from maskutils.core.params import Param, Schema, confidence, dpi
from maskutils.modeling.params import EXECUTOR

SCHEMA = Schema(
    "kfold",
    [
        Param(
            "concurrent",
            "auto",
            "train the folds concurrently: `auto` (on a GPU), `on`, `off`",
            choices=("auto", "on", "off"),
        ),
        Param(
            "overrides",
            {"epochs": 12},
            "training-recipe params that differ for k-fold (checked against the recipe's keys)",
            mapping=True,
        ),
        Param(
            "gallery",
            4,
            "images shown for each direction of the most confused pair of classes",
            range=(1, 100),
        ),
        *EXECUTOR,
        confidence(),
        dpi(),
    ],
)
