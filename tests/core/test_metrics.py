import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, precision_recall_fscore_support

from maskutils.core import metrics as m
from maskutils.modeling.evaluate import predictions_table, report


def test_binary_rates_by_hand():
    # positive = no_mask (index 0): TP 8, FN 2, FP 3, TN 17
    y = [0] * 10 + [1] * 20
    p = [0] * 8 + [1] * 2 + [0] * 3 + [1] * 17
    r = m.binary_rates(m.confusion(y, p, 2), 0)
    assert r["sensitivity"] == pytest.approx(0.8) and r["specificity"] == pytest.approx(17 / 20)
    assert r["precision"] == pytest.approx(8 / 11) and r["npv"] == pytest.approx(17 / 19)


def test_macro_f1_by_hand_and_against_sklearn():
    y, p = [0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0]
    f1 = [2 * 0.5 * 0.5 / 1.0, 2 * (2 / 3) * 1 / (2 / 3 + 1), 2 * 1 * 0.5 / 1.5]
    assert m.macro_f1(y, p, 3) == pytest.approx(np.mean(f1))
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 400)
    p = np.where(rng.random(400) < 0.6, y, rng.integers(0, 4, 400))  # class 4 never predicted
    assert m.macro_f1(y, p, 5) == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
    pc = m.per_class(m.confusion(y, p, 5))
    sk = precision_recall_fscore_support(y, p, labels=range(5), zero_division=0)
    for ours, theirs in zip((pc["precision"], pc["recall"], pc["f1"], pc["support"]), sk):
        assert np.allclose(ours, theirs)


def _table(n, acc, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < acc, y, 1 - y)
    probs = np.eye(2)[pred] * 0.8 + 0.1
    return predictions_table([f"i{i}" for i in range(n)], y, probs, ["no_mask", "mask"])


def test_report_intervals_contain_the_estimate_and_shrink_with_n():
    small, large = (
        report(_table(60, 0.8), ["no_mask", "mask"], "no_mask"),
        report(_table(2000, 0.8), ["no_mask", "mask"], "no_mask"),
    )
    for r in (small, large):
        for key in ("accuracy", "macro_f1", "specificity", "npv"):
            assert r[key]["ci_low"] <= r[key]["value"] <= r[key]["ci_high"]
    width = lambda r: r["accuracy"]["ci_high"] - r["accuracy"]["ci_low"]  # noqa: E731
    assert width(large) < width(small) / 3
    assert (
        large["confusion"][0][0] + large["confusion"][0][1]
        == large["per_class"]["no_mask"]["support"]
    )


def test_interval_coverage_on_simulated_data():
    """About 95% of 95% intervals cover the true accuracy (checked over 200 simulated test sets)."""
    hits = 0
    for s in range(200):
        r = report(_table(150, 0.85, seed=s), ["no_mask", "mask"], reps=300, seed=s)
        hits += r["accuracy"]["ci_low"] <= 0.85 <= r["accuracy"]["ci_high"]
    assert 0.88 <= hits / 200 <= 0.99


def test_predictions_table_shape():
    t = predictions_table(["a", "b"], [0, 1], np.array([[0.9, 0.1], [0.3, 0.7]]), ["x", "y"])
    assert list(t.columns) == ["image_id", "true", "pred", "p_x", "p_y"] and list(t["pred"]) == [
        "x",
        "y",
    ]
    assert isinstance(t, pd.DataFrame)
