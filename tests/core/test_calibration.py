"""Calibration scores (core.calibration): a calibrated model has an ECE near 0, an over-confident
one the gap it was given; the bootstrap's vectorised ECE equals a loop over the draws; Brier and
NLL of a small case by hand."""

import numpy as np
import pytest

from maskutils.core import calibration as cal
from maskutils.core.stats import resample


def _predictions(n: int, overconfidence: float, seed: int = 0):
    """Two-class probabilities whose top class is right with probability confidence - gap."""
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.55, 1.0, n)
    right = rng.random(n) < conf - overconfidence
    y = rng.integers(0, 2, n)
    top = np.where(right, y, 1 - y)
    probs = np.zeros((n, 2))
    probs[np.arange(n), top] = conf
    probs[np.arange(n), 1 - top] = 1 - conf
    return probs, y


def test_a_calibrated_model_has_an_ece_near_zero_and_an_overconfident_one_its_gap():
    probs, y = _predictions(20_000, 0.0)
    calibrated = cal.scores({"m": probs}, y, bins=10, reps=200, confidence=0.95, seed=0)["m"]
    assert calibrated["ece"]["value"] < 0.02
    probs, y = _predictions(20_000, 0.15)
    over = cal.scores({"m": probs}, y, bins=10, reps=200, confidence=0.95, seed=0)["m"]
    assert over["ece"]["value"] == pytest.approx(0.15, abs=0.02)
    assert over["ece"]["ci_low"] > calibrated["ece"]["ci_high"]


def test_the_bootstrap_ece_equals_a_loop_over_the_draws():
    probs, y = _predictions(500, 0.1, seed=1)
    img = cal.per_image(probs, y)
    b = cal.bin_of(img["confidence"], 10)
    draws = resample(np.random.default_rng(3), len(y), 20)
    fast = cal.ece_of(b, img["confidence"], img["correct"], 10, draws)
    slow = [cal.ece_of(b[d], img["confidence"][d], img["correct"][d], 10) for d in draws]
    assert fast == pytest.approx(slow)


def test_brier_nll_and_the_paired_change_by_hand():
    probs = np.array([[0.8, 0.2], [0.4, 0.6]])
    y = np.array([0, 0])
    img = cal.per_image(probs, y)
    assert img["brier"] == pytest.approx([0.08, 0.72])
    assert img["nll"] == pytest.approx([-np.log(0.8), -np.log(0.4)])
    assert img["correct"].tolist() == [1.0, 0.0]
    out = cal.scores({"a": probs, "b": probs}, y, bins=5, reps=50, confidence=0.95, seed=0)
    assert out["change_b"]["brier"] == {"value": 0.0, "ci_low": 0.0, "ci_high": 0.0}


def test_the_reliability_bins_count_every_image_once():
    probs, y = _predictions(300, 0.0, seed=2)
    d = cal.reliability(probs, y, 10)
    assert d["n"].sum() == 300 and len(d) == 10
    full = d[d["n"] > 0]
    assert ((full["confidence"] >= full["low"]) & (full["confidence"] <= full["high"])).all()
