import numpy as np
import pytest

from maskutils.core import stats


def test_resample_is_seeded_and_stays_in_range():
    a = stats.resample(np.random.default_rng(3), 7, 50)
    b = stats.resample(np.random.default_rng(3), 7, 50)
    assert a.shape == (50, 7) and (a == b).all() and a.min() >= 0 and a.max() <= 6


def test_resample_within_keeps_every_row_in_its_group():
    groups = np.array([0, 0, 1, 1, 1, 2])
    draws = stats.resample_within(np.random.default_rng(0), groups, 200)
    assert (groups[draws] == groups[None, :]).all()
    assert len(np.unique(draws[:, 2:5])) == 3  # group 1's rows are all drawn somewhere


def test_permute_within_keeps_each_strata_label_counts():
    labels = np.array([0, 1, 0, 1, 1, 0, 0, 1])
    strata = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    perm = stats.permute_within(np.random.default_rng(0), labels, strata, 100)
    for s in (0, 1):
        rows = strata == s
        assert (np.sort(perm[:, rows], 1) == np.sort(labels[rows])).all()
    assert not (perm == labels).all()  # it does shuffle


def test_permutation_p_counts_the_observed_statistic():
    null = np.array([0.1, 0.2, 0.3, 0.4])
    assert stats.permutation_p(null, 0.35) == pytest.approx(2 / 5)
    assert stats.permutation_p(null, 9.0) == pytest.approx(1 / 5)  # never 0


def test_intervals_with_missing_parts_are_none():
    assert stats.ci(float("nan"), [np.nan, np.nan]) == {
        "value": None,
        "ci_low": None,
        "ci_high": None,
    }
    out = stats.bootstrap_mean([1.0, np.nan, 3.0], 500, 0.95, 0)
    assert out["value"] == 2.0 and out["n"] == 2 and 1.0 <= out["ci_low"] <= out["ci_high"] <= 3.0
    assert stats.bootstrap_mean([], 10, 0.95, 0)["value"] is None


def test_wilson_and_cluster_ratio():
    lo, hi = stats.wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert stats.wilson(0, 0) is None
    k, n = np.array([1.0, 4.0, 0.0]), np.array([2.0, 4.0, 0.0])
    lo, hi = stats.bootstrap_ratio(k, n, 1000, 0.95, np.random.default_rng(0))
    assert 0.0 <= lo <= 5 / 6 <= hi <= 1.0
    assert stats.bootstrap_ratio(k * 0, n * 0, 10, 0.95, np.random.default_rng(0)) is None


def test_holm_and_bh_match_a_hand_computed_example():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04; Holm: 4x, 3x, 2x, 1x with a running max (0.04 -> 0.06)
    np.testing.assert_allclose(stats.adjust_p(p, "holm"), [0.03, 0.06, 0.06, 0.02])
    # BH: m/rank x p = 0.02, 0.02, 0.04, 0.04 with a running min from the largest
    np.testing.assert_allclose(stats.adjust_p(p, "bh"), [0.02, 0.04, 0.04, 0.02])
    np.testing.assert_allclose(stats.adjust_p([0.5, 0.9], "holm"), [1.0, 1.0])  # capped at 1
    assert stats.adjust_p([0.2], "holm")[0] == 0.2 and len(stats.adjust_p([], "bh")) == 0
    with pytest.raises(ValueError, match="unknown adjustment 'bonf'"):
        stats.adjust_p(p, "bonf")
