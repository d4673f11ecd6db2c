"""The audit finds a bias planted on purpose, and the mitigation narrows it (a small profile)."""

from __future__ import annotations

import pytest

from maskutils.modeling import crossval
from maskutils.prepare.prepared import load_prepared
from maskutils.prepare.run import run as prepare
from maskutils.stages.bias import run as bias_study
from tests.conftest import params

pytestmark = pytest.mark.slow

PLANT = {"where": {"gender": "female", "label": "cloth"}, "keep": 0.1}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("planted")
    prepare(
        params(
            "prepare",
            {
                "image_size": 32,
                "workers": 1,
                "synthetic": {"n_images": 1000, "render_size": 32},
                "split": {"folds": 3, "plant_bias": PLANT},
            },
        ),
        out / "prepared",
        progress=False,
    )
    p = load_prepared(out / "prepared")
    cfg = params("train", {"epochs": 10, "batch_size": 64, "device": "cpu", "model": "cnn"})
    crossval.run(p, cfg, out / "kfold", concurrent=False)
    audit = params("bias", {"bootstrap": 500, "permutations": 500, "intersections": []})
    return bias_study.run(p, audit, out / "kfold", out / "bias")


def test_the_planted_group_is_the_worst_on_its_class_with_a_separate_interval(study):
    pl = study.planted
    assert pl["attribute"] == "gender" and pl["group"] == "female" and pl["class"] == "cloth"
    assert pl["group_recall"]["judged"] and pl["worst"]
    assert pl["interval_excludes_others"] and pl["gap_supported"] and pl["found"], pl
    gap = study.results["gender"]["gaps"]["recall_cloth"]
    assert gap["supported"] and gap["p_value"] < 0.05


def test_mitigation_narrows_the_planted_gap(study):
    pl = study.planted
    assert pl["narrowed"], pl
    assert pl["gap_after"]["value"] < pl["gap_before"]["value"]


def test_the_metrics_file_holds_intervals_and_words(study):
    s = bias_study.summary(study, params("bias", {}))
    female = s["attributes"]["gender"]["groups"]["female"]["recall_cloth"]
    assert female["before"]["ci_low"] <= female["before"]["value"] <= female["before"]["ci_high"]
    assert "after" in female and s["mitigation"]["method"] == "both"
    assert any(
        "gender" in line and "cloth" in line and "supported by the data" in line
        for line in s["findings"]
    )
