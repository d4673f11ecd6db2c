"""The exact null: attributes shuffled within class keep every group's size and class mix, remove
a real gap, and the audit then raises false alarms at no more than its stated rate."""

from __future__ import annotations

import numpy as np

from maskutils.fairness import analysis
from maskutils.fairness.exact_null import false_alarms, shuffled_attributes
from tests.conftest import params
from tests.fairness.test_analysis import CFG, CLASSES, HYPOTHESIS, PLANT, _data

BIAS = params(
    "bias", {"bootstrap": 200, "permutations": 200, "planted": HYPOTHESIS, "mde": {"repeats": 0}}
)


def test_shuffling_keeps_group_sizes_and_class_mix_and_breaks_the_tie_to_images():
    table, rows = _data()
    shuffled = shuffled_attributes(rows, table["true"], ["gender", "age"], np.random.default_rng(1))
    key = ["gender", "age"]
    before = rows.assign(true=table["true"]).value_counts(key + ["true"]).sort_index()
    after = shuffled.assign(true=table["true"]).value_counts(key + ["true"]).sort_index()
    assert before.equals(after)  # every group x class cell keeps its count
    assert (shuffled["image_id"] == rows["image_id"]).all()
    assert (shuffled["gender"] != rows["gender"]).mean() > 0.3  # the attributes did move


def test_a_real_gap_is_found_but_not_after_shuffling():
    table, rows = _data()  # female cloth recall 0.65 vs 0.9: a real gap
    found = analysis.analyse(table[["image_id", "true", "before"]], rows, CLASSES, BIAS, CFG, PLANT)
    assert found.planted["found"]
    alarms = false_alarms(table, rows, CLASSES, BIAS, CFG, repeats=10, seed=3)
    assert sum(a["preregistered_fired"] for a in alarms) <= 2


def test_false_alarms_stay_at_the_stated_rate():
    """200 exact nulls over 4 simulated data sets, audited by gender. The Holm family at 5% and
    the one-sided test at 5% each alarm in at most 5% of them if the audit is right: 17 or more
    alarms in 200 would then happen with probability 2.4%; an audit alarming at 10% would stay
    at 16 or fewer one time in five, at 12% one time in twenty."""
    by_gender = {**BIAS, "attributes": ["gender"], "intersections": [], "bootstrap": 100}
    alarms = []
    for seed in range(4):
        table, rows = _data(seed)
        alarms += false_alarms(table, rows, CLASSES, by_gender, CFG, repeats=50, seed=seed)
    assert len(alarms) == 200
    assert sum(bool(a["supported"]) for a in alarms) <= 16
    assert sum(a["preregistered_fired"] for a in alarms) <= 16
