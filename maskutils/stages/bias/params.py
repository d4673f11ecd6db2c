"""Params of the bias stage (params/bias.yaml): the audit and the mitigation. Training uses the
recipe the k-fold stage wrote (data/kfold/recipe.json). Defaults and meaning, once."""

from __future__ import annotations

from maskutils.core.params import Param, Schema, bootstrap, confidence, dpi, names

COLUMNS = "'auto' or a list of manifest column names"


def _auto_or_columns(v) -> bool:
    return v == "auto" or names(v)


SCHEMA = Schema(
    "bias",
    [
        Param(
            "attributes",
            "auto",
            "manifest columns to group by; `auto`: gender, age and skin_tone, "
            "those the dataset has",
            check=_auto_or_columns,
            must=COLUMNS,
        ),
        Param(
            "intersections",
            "auto",
            "lists of columns grouped together, e.g. `[[gender, age]]`; "
            "`auto`: gender x age when both exist",
            check=lambda v: (
                v == "auto" or (isinstance(v, list) and all(names(i) and len(i) >= 2 for i in v))
            ),
            must="'auto' or a list of column-name lists, e.g. [[gender, age]]",
        ),
        Param(
            "min_group",
            30,
            "a metric is judged only for groups with at least this many images it "
            "counts (for a class's recall: images of that class)",
            range=(1, 100_000),
        ),
        bootstrap(),
        Param("permutations", 1000, "shuffles for the permutation test", range=(100, 100_000)),
        confidence(),
        Param(
            "mitigation.method",
            "both",
            "`none`, `reweight`, `oversample` or `both`",
            choices=("none", "reweight", "oversample", "both"),
        ),
        Param(
            "mitigation.by",
            "auto",
            "attributes whose group x class cells are rebalanced "
            "(several: their intersection); `auto`: gender, else age, else skin_tone",
            check=_auto_or_columns,
            must=COLUMNS,
        ),
        Param(
            "mitigation.oversample_cap",
            4.0,
            "a cell is repeated up to this many times its own "
            "size, at most up to its class's largest cell",
            range=(1.0, 100.0),
        ),
        dpi(),
    ],
)
