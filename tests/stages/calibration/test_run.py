"""The calibration stage on a small prepared set: the temperature is fitted on validation images
only, the test scores come raw and scaled with a paired change, the k-fold predictions are scored
when there are some, groups too small are shown but not judged, and the metrics file holds it
all with its reliability bins."""

import json

import numpy as np
import pytest

from maskutils.core.results import write_metrics
from maskutils.modeling import temperature
from maskutils.modeling.evaluate import predictions_table
from maskutils.stages.calibration import report
from maskutils.stages.calibration import run as calibration
from maskutils.stages.contract import Inputs
from tests.conftest import TINY_CNN, params, prepared_synthetic, save_studied


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    p = prepared_synthetic(tmp_path_factory, 150, 32, 3)
    root = tmp_path_factory.mktemp("calibration")
    save_studied(p, params("train", TINY_CNN), root / "study.pt", root / "train")
    return p, root


def _inputs(p, root, kfold) -> Inputs:
    """The studied model in root, the k-fold stage's predictions.csv (if any) in kfold."""
    return Inputs({"models/study.pt": root / "study.pt", "data/kfold": kfold}, {}, p)


def test_the_temperature_is_fitted_on_validation_predictions_only(study, monkeypatch):
    p, root = study
    seen = []
    fit = temperature.fit
    monkeypatch.setattr(temperature, "fit", lambda z, y: seen.append(len(y)) or fit(z, y))
    c = calibration.run(_inputs(p, root, root / "no_kfold"), params("calibration", {}))
    assert seen == [len(p.rows("val"))]
    assert c.temperature > 0 and c.out_of_fold is None
    assert c.test["n"] == len(p.rows("test"))
    # one temperature changes no predicted class
    assert c.test["change_after"]["accuracy"]["value"] == 0.0


def test_the_metrics_file_holds_groups_bins_and_the_folds(study, tmp_path):
    p, root = study
    classes, y = p.task("mask_type")
    pool = np.flatnonzero(p.manifest["fold"].to_numpy() >= 0)
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(len(classes)), len(pool))
    oof = predictions_table(p.manifest["image_id"].to_numpy()[pool], y[pool], probs, classes)
    oof.to_csv(tmp_path / "predictions.csv", index=False)  # as the k-fold stage writes it
    d = params("calibration", {"min_group": 40, "bootstrap": 200})
    c = calibration.run(_inputs(p, root, tmp_path), d)
    s = json.loads(
        write_metrics(tmp_path / "calibration.json", calibration.summary(c, d)).read_text()
    )
    assert s["out_of_fold"]["n"] == len(pool)
    assert sum(s["reliability"]["out of fold"]["n"]) == len(pool)
    assert sum(s["reliability"]["test, before"]["n"]) == len(p.rows("test"))
    for groups in s["groups"].values():
        for g in groups.values():
            assert g["judged"] == (g["n"] >= 40)
            assert ("before" in g) == g["judged"]
    assert {"gender", "age"} <= set(s["groups"])
    rows = dict(report.headlines(s, {}))
    assert rows["temperature, fitted on validation"] == f"{s['temperature']:.3f}"
    assert "out-of-fold ECE (raw)" in rows and "n/a" not in rows["out-of-fold ECE (raw)"]


def test_a_named_attribute_the_data_lack_is_an_error_naming_it(study):
    p, root = study
    with pytest.raises(KeyError, match="attributes names 'hair'"):
        calibration.run(
            _inputs(p, root, root / "no_kfold"), params("calibration", {"attributes": ["hair"]})
        )
