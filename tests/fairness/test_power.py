"""The audit's power on simulated predictions (no training): a planted gap is found at the stated
rate, a null case is flagged no more than the stated rate, the minimum detectable gap means what
it says and grows when the groups are smaller."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from maskutils.fairness import audit as bias
from maskutils.fairness import power

CLASSES = ["no_mask", "cloth"]
MDE = {"gaps": [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4], "repeats": 100, "power": 0.8}


def _simulate(rng, n: dict, cloth_recall: dict, other: float = 0.9):
    """Binary predictions; group k has n[k] images, half cloth, whose cloth recall is
    cloth_recall[k] and whose no_mask recall is `other`."""
    groups = np.repeat(list(n), list(n.values()))
    true = np.where(np.arange(len(groups)) % 2 == 0, "cloth", "no_mask")
    rate = np.where(true == "cloth", pd.Series(groups).map(cloth_recall).to_numpy(), other)
    right = rng.random(len(true)) < rate
    pred = np.where(right, true, np.where(true == "cloth", "no_mask", "cloth"))
    return true, pred, pd.Series(groups, name="gender")


def _directed(true, pred, groups, seed):
    return bias.directed(
        true,
        {"before": pred},
        groups,
        CLASSES,
        group="female",
        metric="recall_cloth",
        direction="lower",
        reps=200,
        permutations=500,
        seed=seed,
    )


def test_a_planted_gap_of_0_2_is_found_in_at_least_90_percent_of_20_seeds():
    # 120 cloth images a side, recall 0.7 vs 0.9: the one-sided test's power is about 0.98
    found = [
        _directed(
            *_simulate(
                np.random.default_rng(s), {"female": 240, "male": 240}, {"female": 0.7, "male": 0.9}
            ),
            s,
        )["found"]
        for s in range(20)
    ]
    assert sum(found) >= 18, sum(found)


def test_with_nothing_planted_the_directed_test_fires_at_most_its_level():
    found = [
        _directed(
            *_simulate(
                np.random.default_rng(100 + s),
                {"female": 240, "male": 240},
                {"female": 0.85, "male": 0.85},
            ),
            s,
        )["found"]
        for s in range(40)
    ]
    assert sum(found) <= 4, sum(found)  # 5% expected; 10% allowed


def test_with_nothing_planted_the_adjusted_family_flags_at_most_10_percent_of_seeds():
    flagged, raw = 0, 0
    for s in range(30):
        rng = np.random.default_rng(200 + s)
        true, pred, gender = _simulate(
            rng, {"female": 200, "male": 200}, {"female": 0.85, "male": 0.85}
        )
        age = pd.Series(rng.choice(["child", "adult", "elder"], len(true)), name="age")
        results = {
            g.name: bias.audit(
                true, {"before": pred}, g, CLASSES, reps=200, permutations=400, seed=s
            )
            for g in (gender, age)
        }
        raw += any(gap["p_value"] < 0.05 for r in results.values() for gap in r["gaps"].values())
        assert bias.adjust(results, "holm", 0.95, "before") == 10
        flagged += any(gap["supported"] for r in results.values() for gap in r["gaps"].values())
    assert flagged <= 3, flagged  # Holm: any false alarm in at most 5% of seeds (10% allowed)
    assert raw > flagged  # 10 tests at 5% each: unadjusted, false alarms are common


def test_adjust_writes_the_adjusted_p_and_judges_on_it():
    ok = {"ci_low": 0.1}
    results = {
        "a": {
            "gaps": {
                "x": {"p_value": 0.01, "before": {"difference": ok}},
                "y": {"p_value": 0.04, "before": {"difference": ok}},
            }
        },
        "b": {"gaps": {"x": {"p_value": 0.03, "before": {"difference": ok}}}},
    }
    assert bias.adjust(results, "holm", 0.95, "before") == 3
    a, b = results["a"]["gaps"], results["b"]["gaps"]["x"]
    assert a["x"]["p_adjusted"] == pytest.approx(0.03) and a["x"]["supported"]
    assert a["y"]["p_adjusted"] == pytest.approx(0.06) and not a["y"]["supported"]
    assert b["p_adjusted"] == pytest.approx(0.06) and not b["supported"]
    bias.adjust(results, "bh", 0.95, "before")
    assert a["y"]["p_adjusted"] == pytest.approx(0.04) and a["y"]["supported"]


def _preregistered_mde(n_side: int, seed: int = 0) -> dict:
    true, pred, groups = _simulate(
        np.random.default_rng(seed),
        {"female": n_side, "male": n_side},
        {"female": 0.85, "male": 0.85},
    )
    return power.preregistered(
        true,
        pred,
        groups,
        CLASSES,
        group="female",
        metric="recall_cloth",
        direction="lower",
        alpha=0.05,
        mde=MDE,
        permutations=500,
        seed=0,
    )


def test_the_minimum_detectable_gap_grows_when_groups_are_smaller_and_is_deterministic():
    large, small = _preregistered_mde(600), _preregistered_mde(120)
    assert large["gap"] is not None and small["gap"] is not None
    assert small["gap"] > large["gap"] and large["n"] == 300 and small["n"] == 60
    assert large["target"] == "female" and large["curve"][0]["gap"] == pytest.approx(
        0.05, abs=0.005
    )
    assert json.dumps(_preregistered_mde(600)) == json.dumps(large)


def test_a_gap_of_the_minimum_detectable_size_is_found_about_as_often_as_claimed():
    mde = _preregistered_mde(240)["gap"]  # 120 cloth images a side
    assert 0.08 <= mde <= 0.2, mde  # normal approximation: about 0.11
    found = [
        _directed(
            *_simulate(
                np.random.default_rng(300 + s),
                {"female": 240, "male": 240},
                {"female": 0.85 - mde / 2, "male": 0.85 + mde / 2},
            ),
            s,
        )["found"]
        for s in range(30)
    ]
    assert 0.6 <= np.mean(found) <= 1.0, np.mean(found)


def test_exploratory_mde_per_metric_against_the_smallest_group():
    rng = np.random.default_rng(7)
    true, pred, _ = _simulate(rng, {"a": 400, "b": 200}, {"a": 0.85, "b": 0.85})
    groups = pd.Series(np.repeat(["a", "b"], [400, 200]), name="g")
    out = power.exploratory(
        true, pred, groups, CLASSES, min_group=30, level=0.05, mde=MDE, permutations=500, seed=0
    )
    assert set(out) == set(bias.metric_names(CLASSES))
    assert all(v["target"] == "b" for v in out.values())
    assert out["recall_cloth"]["n"] == 100 and out["accuracy"]["n"] == 200
    assert out["accuracy"]["gap"] < out["recall_cloth"]["gap"]  # more images: smaller gap found
    strict = power.exploratory(
        true, pred, groups, CLASSES, min_group=30, level=0.005, mde=MDE, permutations=500, seed=0
    )
    assert strict["accuracy"]["gap"] >= out["accuracy"]["gap"]  # a stricter level needs more
