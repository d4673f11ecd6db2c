"""Params of the bias stage (params/bias.yaml): the audit and the mitigation. Training uses the
recipe the k-fold stage wrote (data/kfold/recipe.json). Defaults and meaning, once."""

from __future__ import annotations

from maskutils.core.params import Param, Schema, bootstrap, confidence, dpi, names
from maskutils.modeling.params import EXECUTOR

COLUMNS = "'auto' or a list of manifest column names"


def _auto_or_columns(v) -> bool:
    return v == "auto" or names(v)


def _shares(v) -> bool:
    return (
        isinstance(v, list)
        and bool(v)
        and all(isinstance(i, (int, float)) and not isinstance(i, bool) and 0 < i < 1 for i in v)
        and v == sorted(set(v))
    )


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
            "adjust",
            "holm",
            "multiple-comparison adjustment of the exploratory p-values, all gaps of all "
            "groupings one family: `holm` (chance of any false alarm) or `bh` "
            "(Benjamini-Hochberg: expected share of false alarms among the findings)",
            choices=("holm", "bh"),
        ),
        Param(
            "planted.attribute",
            None,
            "the pre-registered hypothesis, tested one-sided and outside the family: the "
            "manifest column of its group; null: no hypothesis",
            nullable=(str,),
        ),
        Param("planted.group", None, "the group (a value of that column)", nullable=(str,)),
        Param(
            "planted.class",
            None,
            "for `metric: recall`: the class (a prepared label, mapped to the task's class)",
            nullable=(str,),
        ),
        Param(
            "planted.metric",
            "recall",
            "the metric compared",
            choices=("recall", "accuracy", "macro_f1"),
        ),
        Param(
            "planted.direction",
            "lower",
            "the group's metric is `lower` (or `higher`) than that of the other groups pooled",
            choices=("lower", "higher"),
        ),
        Param(
            "mde.gaps",
            [0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3],
            "minimum detectable gap: shares of a group's right predictions turned wrong "
            "to test (each a gap of about that size)",
            check=_shares,
            must="an increasing list of numbers between 0 and 1",
        ),
        Param(
            "mde.repeats",
            100,
            "simulations per gap (0: no minimum detectable gap)",
            range=(0, 10_000),
        ),
        Param(
            "mde.power",
            0.8,
            "the minimum detectable gap is the smallest one found in this share of simulations",
            range=(0.5, 0.99),
        ),
        Param(
            "mitigation.method",
            "group_prior",
            "`group_prior`: each group's class prior corrected after training, counted on the "
            "training rows (`fairness.group_prior`; needs the group at prediction time); "
            "`reweight`, `oversample` or `both`: the folds retrained on rows rebalanced by "
            "group (`modeling.rebalance`); `worst_reweight` or `worst_oversample`: the folds "
            "retrained with more weight on, or more copies of, each fold's `worst_cells` "
            "(`fairness.worst_cells`, found on inner folds of its training rows); `none`. "
            "docs/bias_power.md measures them",
            choices=(
                "none",
                "group_prior",
                "reweight",
                "oversample",
                "both",
                "worst_reweight",
                "worst_oversample",
            ),
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
        Param(
            "mitigation.strength",
            1.0,
            "`group_prior`: the share of the prior correction applied, in log space "
            "(0: none, 1: the full ratio of the overall to the group's class share)",
            range=(0.0, 2.0),
        ),
        Param(
            "mitigation.worst_cells",
            2,
            "`worst_*`: how many (group, class) cells each fold targets, those whose recall "
            "on inner folds of its training rows falls furthest below their class's",
            range=(1, 100),
        ),
        Param(
            "mitigation.worst_boost",
            3.0,
            "`worst_reweight`: the loss weight of a targeted cell's images, times their "
            "class-balanced weight; `worst_oversample`: about how many copies of each",
            range=(1.0, 20.0),
        ),
        Param(
            "power_study",
            "benchmarks/results/bias_power.json",
            "the power study the report quotes (`benchmarks/bias_power.py --results`), "
            "relative to the project; the report quotes it only for the design it measured",
        ),
        *EXECUTOR,
        dpi(),
    ],
)
