"""The group prior correction (fairness.group_prior): counted on training rows only, it raises a
group's rare class by the log ratio of the shares, leaves a group with everyone's mix alone, and
touches no row whose group it does not know."""

import numpy as np
import pandas as pd
import pytest

from maskutils.fairness import group_prior


def _training() -> tuple[np.ndarray, np.ndarray]:
    # group a: every class 30 times; group b: class 1 only 3 times (under-sampled), others 30
    keys, y = [], []
    for g, counts in (("a", (30, 30, 30)), ("b", (30, 3, 30))):
        for c, n in enumerate(counts):
            keys += [g] * n
            y += [c] * n
    return np.array(keys, dtype=object), np.array(y)


def test_a_rare_class_of_a_group_is_raised_by_the_log_ratio_of_its_shares():
    keys, y = _training()
    fitted = group_prior.fit(keys, y, 3, strength=1.0)
    overall = (np.bincount(y) + 1) / (len(y) + 3)
    b = (np.array([30, 3, 30]) + 1) / (63 + 3)
    assert fitted["b"] == pytest.approx(np.log(overall) - np.log(b))
    assert fitted["b"][1] > 1.0 > 0 > fitted["b"][0]  # the rare class up, the others down
    half = group_prior.fit(keys, y, 3, strength=0.5)
    assert half["b"] == pytest.approx(0.5 * np.array(fitted["b"]))
    assert group_prior.fit(keys, y, 3, strength=0.0)["b"] == pytest.approx([0, 0, 0])


def test_a_group_with_everyones_class_mix_is_left_alone():
    keys = np.array(["a", "b"] * 60, dtype=object)
    y = np.repeat([0, 1, 2], 40)
    fitted = group_prior.fit(keys, y, 3, strength=1.0)
    for g in ("a", "b"):
        assert np.abs(fitted[g]).max() < 0.05


def test_the_correction_flips_a_close_call_of_the_rare_group_only():
    keys, y = _training()
    fitted = group_prior.fit(keys, y, 3, strength=1.0)
    probs = np.array([[0.55, 0.40, 0.05]] * 4)
    out = group_prior.apply(probs, np.array(["a", "b", None, "unseen"], dtype=object), fitted)
    assert out.sum(1) == pytest.approx(np.ones(4))
    assert out.argmax(1).tolist() == [0, 1, 0, 0]
    assert out[2] == pytest.approx(probs[2]) and out[3] == pytest.approx(probs[3])


def test_group_keys_join_columns_and_mark_missing_values():
    rows = pd.DataFrame({"age": ["elder", "adult", None], "gender": ["f", "m", "f"]})
    keys = group_prior.group_keys(rows, ["age", "gender"])
    assert keys.tolist() == ["elder|f", "adult|m", None]
