"""The bias audit: group metrics, the label guard, intervals, gaps, permutation test, mitigation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from maskutils.fairness import audit as bias
from maskutils.modeling import rebalance as mitigation
from maskutils.modeling import recipes
from tests.conftest import params

CLASSES = ["no_mask", "cloth"]


def _hand_made():
    # group A: 4 images, all right; group B: 4 images, both cloth images predicted no_mask
    true = ["no_mask", "cloth", "no_mask", "cloth"] * 2
    pred = ["no_mask", "cloth", "no_mask", "cloth", "no_mask", "no_mask", "no_mask", "no_mask"]
    groups = pd.Series(["A"] * 4 + ["B"] * 4)
    return true, pred, groups


def test_group_metrics_on_hand_made_predictions():
    true, pred, groups = _hand_made()
    by = bias.group_metrics(true, pred, groups, CLASSES)
    assert by.loc["A", "accuracy"] == 1.0 and by.loc["B", "accuracy"] == 0.5
    assert by.loc["B", "recall_cloth"] == 0.0 and by.loc["B", "recall_no_mask"] == 1.0
    assert by.loc["B", "miss_rate_no_mask"] == 0.0
    # B predicts only no_mask: F1(no_mask) = 2/3, F1(cloth) = 0
    assert by.loc["B", "macro_f1"] == pytest.approx(1 / 3)
    res = bias.audit(
        true, {"before": pred}, groups, CLASSES, min_group=1, reps=200, permutations=200
    )
    assert res["groups"]["B"]["recall_cloth"]["before"]["value"] == 0.0
    assert (
        res["gaps"]["recall_cloth"]["worst"] == "B" and res["gaps"]["recall_cloth"]["best"] == "A"
    )
    assert res["gaps"]["recall_cloth"]["before"]["difference"]["value"] == 1.0


def test_group_ids_are_never_used_as_labels():
    true, pred, groups = _hand_made()
    with pytest.raises(ValueError, match="group ids are never labels"):
        bias.group_metrics(groups, pred, groups, CLASSES)
    with pytest.raises(ValueError, match="not class names"):
        bias.audit(true, {"before": groups}, groups, CLASSES)


def test_vectorised_confusions_agree_with_fairlearn():
    rng = np.random.default_rng(1)
    classes = ["no_mask", "cloth", "surgical"]
    y, p = rng.integers(0, 3, 300), rng.integers(0, 3, 300)
    g = rng.integers(0, 4, 300)
    frame = bias.group_metrics(
        np.array(classes)[y], np.array(classes)[p], pd.Series(g).astype(str), classes
    )
    cms = bias._confusions(y, [p], g, 4, 3)[0][0]
    mine = bias.from_confusions(cms, classes)
    for metric in bias.metric_names(classes):
        np.testing.assert_allclose(mine[metric], frame[metric].to_numpy(float), err_msg=metric)


def _simulate(rng, n, rates):
    """Binary predictions whose accuracy in group k is rates[k]."""
    true = rng.choice(CLASSES, size=n * len(rates))
    groups = np.repeat([f"g{k}" for k in range(len(rates))], n)
    right = rng.random(len(true)) < np.repeat(rates, n)
    pred = np.where(right, true, np.where(true == "cloth", "no_mask", "cloth"))
    return true, pred, pd.Series(groups)


def test_intervals_cover_the_true_value_about_as_often_as_they_claim():
    rng = np.random.default_rng(0)
    sims, hits_acc, hits_gap = 150, 0, 0
    for i in range(sims):
        true, pred, groups = _simulate(rng, 120, [0.8, 0.7])
        res = bias.audit(true, {"m": pred}, groups, CLASSES, reps=400, permutations=100, seed=i)
        acc = res["groups"]["g0"]["accuracy"]["m"]
        hits_acc += acc["ci_low"] <= 0.8 <= acc["ci_high"]
        gap = res["gaps"]["accuracy"]
        d = gap["m"]["difference"]
        truth = 0.1 if gap["best"] == "g0" else -0.1
        hits_gap += d["ci_low"] <= truth <= d["ci_high"]
    assert 0.88 <= hits_acc / sims <= 0.99, hits_acc / sims
    assert 0.88 <= hits_gap / sims <= 0.99, hits_gap / sims


def test_permutation_test_separates_equal_and_different_groups():
    rng = np.random.default_rng(3)
    p_equal = []
    for i in range(40):
        true, pred, groups = _simulate(rng, 100, [0.8, 0.8])
        p_equal.append(
            bias.audit(true, {"m": pred}, groups, CLASSES, reps=100, permutations=200, seed=i)[
                "gaps"
            ]["accuracy"]["p_value"]
        )
    assert np.mean(np.array(p_equal) < 0.05) <= 0.15
    true, pred, groups = _simulate(rng, 200, [0.95, 0.6])
    gap = bias.audit(true, {"m": pred}, groups, CLASSES, reps=200, permutations=500)["gaps"][
        "accuracy"
    ]
    assert gap["p_value"] < 0.01 and gap["supported"] and gap["worst"] == "g1"


def test_small_groups_are_shown_but_not_judged():
    rng = np.random.default_rng(4)
    true, pred, groups = _simulate(rng, 60, [0.9, 0.9, 0.2])
    groups = groups.where(
        ~((groups == "g2") & (np.arange(len(groups)) % 60 >= 10)), None
    )  # g2 keeps 10 images
    res = bias.audit(true, {"m": pred}, groups, CLASSES, min_group=30, reps=100, permutations=100)
    assert res["groups"]["g2"]["n"] == 10 and res["unknown"] == 50
    assert (
        not res["groups"]["g2"]["accuracy"]["judged"] and res["groups"]["g0"]["accuracy"]["judged"]
    )
    assert (
        res["gaps"]["accuracy"]["worst"] != "g2"
    )  # the terrible but tiny group cannot be the worst
    one = bias.audit(
        true,
        {"m": pred},
        groups.where(groups != "g1", None),
        CLASSES,
        min_group=30,
        reps=100,
        permutations=100,
    )
    assert "accuracy" not in one["gaps"]  # one judged group: no gap to measure


def test_paired_change_and_overall_cost():
    rng = np.random.default_rng(5)
    true, before, groups = _simulate(rng, 150, [0.95, 0.6])
    after = np.where(
        (groups == "g1") & (rng.random(len(true)) < 0.6), true, before
    )  # fixes most of g1's errors
    res = bias.audit(
        true, {"before": before, "after": after}, groups, CLASSES, reps=300, permutations=100
    )
    change = res["gaps"]["accuracy"]["change_after"]
    assert change["value"] > 0.15 and change["ci_low"] > 0
    cost = bias.overall(true, {"before": before, "after": after}, CLASSES, 300, 0.95, 0)[
        "change_after"
    ]["macro_f1"]
    assert cost["value"] > 0 and cost["ci_low"] > 0


def test_resolve_auto_and_missing_columns():
    df = pd.DataFrame({"gender": ["f", "m"], "age": ["young", "old"], "label": ["cloth", "n95"]})
    assert bias.resolve(df, "auto", "auto") == (["gender", "age"], [["gender", "age"]])
    assert bias.resolve(df[["label"]], "auto", "auto") == ([], [])
    with pytest.raises(KeyError, match="skin_tone"):
        bias.resolve(df, ["skin_tone"], [])
    labels = bias.group_labels(
        pd.DataFrame({"gender": ["f", None], "age": ["young", "old"]}), ["gender", "age"]
    )
    assert labels.name == "gender x age" and labels[0] == "f / young" and pd.isna(labels[1])


def test_oversampling_raises_small_cells_towards_their_class_largest_with_a_cap():
    df = pd.DataFrame({"gender": ["f"] * 4 + ["m"] * 20 + ["f"] * 10 + ["m"] * 10})
    y = np.array([1] * 24 + [0] * 20)
    rows = np.arange(44)
    cell = mitigation.cells(df, rows, y, ["gender"])
    out = mitigation.oversample(rows, y, cell, cap=3.0, seed=0)
    counts = pd.Series(df["gender"].to_numpy()[out] + y[out].astype(str)).value_counts()
    assert counts["f1"] == 12 and counts["m1"] == 20  # 4 images x cap 3, not up to 20
    assert counts["f0"] == 10 and counts["m0"] == 10  # balanced cells untouched
    assert set(out[len(rows) :]) <= set(range(4))  # repeats come from the small cell only


def test_inverse_frequency_weights_balance_the_cells():
    cell = np.array([0] * 30 + [1] * 10 + [2] * 5)
    w = mitigation.inverse_frequency(cell)
    assert w.mean() == pytest.approx(1.0)
    totals = np.bincount(cell, weights=w)
    np.testing.assert_allclose(totals, totals[0])
    df = pd.DataFrame({"gender": ["f"] * 45})
    rows, weight = mitigation.rebalance(df, np.arange(45), np.zeros(45, int), {"method": "none"}, 0)
    assert weight is None and len(rows) == 45


def test_uniform_sample_weights_leave_the_loss_unchanged():
    import torch

    from maskutils.modeling.fit import Trainer
    from maskutils.modeling.models import build_cnn

    x = np.random.default_rng(0).integers(0, 255, (8, 3, 16, 16), dtype=np.uint8)
    y = np.array([0, 1] * 4)
    cfg = recipes.fill(
        params("train", {"epochs": 1, "class_weights": "none", "device": "cpu", "model": "cnn"}),
        "synthetic",
    )
    plain = Trainer(build_cnn("tiny3", 2, 16), x, y, x, y, cfg, 2)
    weighted = Trainer(build_cnn("tiny3", 2, 16), x, y, x, y, cfg, 2, sample_weight=np.full(8, 3.0))
    logits, idx = torch.randn(8, 2), torch.arange(8)
    assert torch.allclose(
        plain._loss(logits, torch.as_tensor(y), idx),
        weighted._loss(logits, torch.as_tensor(y), idx),
    )
    skewed = Trainer(
        build_cnn("tiny3", 2, 16), x, y, x, y, cfg, 2, sample_weight=np.r_[np.ones(4), np.zeros(4)]
    )
    half = plain.loss_fn(logits[:4], torch.as_tensor(y[:4]))
    assert torch.allclose(skewed._loss(logits, torch.as_tensor(y), idx), half)


def test_oversampled_rows_train_for_the_same_number_of_steps():
    from maskutils.modeling.fit import Trainer
    from maskutils.modeling.models import build_cnn

    x = np.random.default_rng(0).integers(0, 255, (12, 3, 16, 16), dtype=np.uint8)
    y = np.array([0, 1] * 6)
    cfg = recipes.fill(
        params("train", {"epochs": 1, "batch_size": 4, "device": "cpu", "model": "cnn"}),
        "synthetic",
    )
    plain = Trainer(build_cnn("tiny3", 2, 16), x[:8], y[:8], x, y, cfg, 2)
    repeated = Trainer(build_cnn("tiny3", 2, 16), x, y, x, y, cfg, 2, epoch_size=8)
    assert plain.steps == repeated.steps == 2
    repeated.epoch()
    assert repeated.rows[0]["train_accuracy"] * 8 == round(
        repeated.rows[0]["train_accuracy"] * 8
    )  # out of 8 drawn
