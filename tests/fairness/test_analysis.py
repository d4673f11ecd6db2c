"""The bias stage's analysis on simulated predictions (no training): the adjusted family, the
pre-registered test, minimum detectable gaps, the words, the tables and a byte-stable summary."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from maskutils.fairness import analysis, tables
from maskutils.stages.bias import report as br
from maskutils.stages.bias import run as bias_study
from tests.conftest import params

CLASSES = ["no_mask", "cloth"]
PLANT = {"where": {"gender": "female", "label": "cloth"}, "keep": 0.1}
HYPOTHESIS = {"attribute": "gender", "group": "female", "class": "cloth"}
CFG = {"seed": 0, "task": "mask_type"}


def _data(seed: int = 0, n: int = 600):
    rng = np.random.default_rng(seed)
    rows = pd.DataFrame(
        {
            "image_id": [f"i{k}" for k in range(n)],
            "gender": rng.choice(["female", "male"], n),
            "age": rng.choice(["young", "old"], n),
        }
    )
    true = np.where(np.arange(n) % 2 == 0, "cloth", "no_mask")
    rate = np.where((rows["gender"] == "female") & (true == "cloth"), 0.65, 0.9)
    before = np.where(rng.random(n) < rate, true, np.where(true == "cloth", "no_mask", "cloth"))
    after = np.where(rng.random(n) < 0.9, true, before)  # the mitigation fixes most errors
    table = pd.DataFrame({"image_id": rows["image_id"], "true": true, "before": before})
    table["after"] = after
    return table, rows


def _study(**overrides):
    table, rows = _data()
    cfg = params(
        "bias",
        {
            "bootstrap": 200,
            "permutations": 400,
            "planted": HYPOTHESIS,
            "mde": {"repeats": 30},
            **overrides,
        },
    )
    found = analysis.analyse(table, rows, CLASSES, cfg, CFG, PLANT)
    study = bias_study.BiasStudy(
        **vars(found), plan={"method": "both", "by": ["gender"]}, trained=[], recipe=CFG
    )
    return study, cfg


def test_the_planted_gap_is_found_by_the_preregistered_test_and_narrowed():
    study, _ = _study()
    pl = study.planted
    assert pl["metric"] == "recall_cloth" and pl["judged"] and pl["found"], pl
    assert pl["p_value"] < 0.05 and pl["before"]["difference"]["value"] > 0.15
    assert pl["narrowed"] and pl["narrowed_with_confidence"]
    assert 0 < pl["mde"]["gap"] < 0.25 and pl["mde"]["target"] == "female"
    assert pl["planted_in_training"] == PLANT and "exploratory_supported" in pl


def test_the_family_is_adjusted_and_every_gap_has_a_detectable_size():
    study, _ = _study()
    gaps = [g for r in study.results.values() for g in r["gaps"].values()]
    assert (
        study.family["method"] == "holm" and study.family["size"] == len(gaps) == 15
    )  # 3 groupings x 5 metrics
    assert study.family["level"] == pytest.approx(0.05 / 15)
    assert all(g["p_adjusted"] >= g["p_value"] for g in gaps)
    assert all(g["supported"] <= (g["p_adjusted"] < 0.05) for g in gaps)
    assert all("mde" in g and g["mde"]["level"] == study.family["level"] for g in gaps)
    bh, _ = _study(adjust="bh")
    assert bh.family["method"] == "bh"
    bh_gaps = [g for r in bh.results.values() for g in r["gaps"].values()]
    assert all(b["p_adjusted"] <= h["p_adjusted"] for b, h in zip(bh_gaps, gaps))


def test_words_tables_and_a_byte_stable_summary():
    study, cfg = _study()
    s = bias_study.summary(study, cfg)
    assert s["findings"][0].startswith("**Pre-registered**") and "found" in s["findings"][0]
    assert "Holm-adjusted as one family" in s["findings"][1]
    unsupported = [line for line in s["findings"] if "no difference supported" in line]
    assert unsupported and all("detectable" in line for line in unsupported)
    table = tables.gap_table(study)
    assert {"p holm", "detectable", "supported"} <= set(table.columns)
    assert "Planted in training: gender = female, label = cloth, 10% kept" in tables.planted_text(
        s["planted"]
    )
    assert "Holm-adjusted over 15 gaps" in br.header(s, study, cfg["min_group"])
    again, _ = _study()
    assert json.dumps(bias_study.summary(again, cfg), sort_keys=True) == json.dumps(
        s, sort_keys=True
    )


def test_no_hypothesis_and_no_simulations_are_allowed():
    study, cfg = _study(planted={"attribute": None}, mde={"repeats": 0})
    assert study.planted is None
    assert not any("mde" in g for r in study.results.values() for g in r["gaps"].values())
    assert not analysis.findings(study, 0.95)[0].startswith("**Pre-registered**")


def test_nothing_to_audit_says_why_and_a_named_column_must_exist():
    _, rows = _data(n=20)
    cfg = params("bias", {})
    assert analysis.nothing_to_audit(rows, cfg) is None
    plain = rows[["image_id"]].assign(gender=None)  # a column with no value counts as none
    assert analysis.nothing_to_audit(plain, cfg).startswith("the images carry no group attributes")
    assert analysis.nothing_to_audit(rows.iloc[:0], cfg) == "no image to audit"
    assert analysis.unaudited("why") == {"audited": False, "reason": "why"}
    with pytest.raises(KeyError, match="no attribute column 'skin_tone'"):
        analysis.nothing_to_audit(rows, params("bias", {"attributes": ["skin_tone"]}))


@pytest.mark.parametrize(
    "hypothesis, error, words",
    [
        ({"attribute": "sex"}, KeyError, "planted.attribute names 'sex'"),
        ({"group": "femal"}, ValueError, "planted.group is 'femal', not a value of gender"),
        ({"class": "n95"}, ValueError, "planted.class 'n95' is not a class"),
        ({"class": None}, ValueError, "planted.class must name a class"),
    ],
)
def test_a_bad_hypothesis_is_a_clear_error(hypothesis, error, words):
    with pytest.raises(error, match=words):
        _study(planted={**HYPOTHESIS, **hypothesis})


def test_bad_simulation_params_are_refused():
    from maskutils.core.params import ParamsError

    with pytest.raises(ParamsError, match="'mde.gaps' must be an increasing list"):
        params("bias", {"mde": {"gaps": [0.2, 0.1]}})
    with pytest.raises(ParamsError, match="'adjust' is 'bonferroni'"):
        params("bias", {"adjust": "bonferroni"})
