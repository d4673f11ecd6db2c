"""The bias stage on photos without attributes (class folders, no attributes.csv): nothing to
group by, so nothing is audited or trained; the metrics file says so and why, the output folder
dvc.yaml declares is made, and a hypothesis declared on a column the data lack is an error naming
the key."""

from __future__ import annotations

import json

import pytest

from maskutils.core.results import write_metrics
from maskutils.modeling import crossval
from maskutils.stages.bias import report as br
from maskutils.stages.bias import run as bias_study
from maskutils.stages.contract import Inputs
from tests.conftest import TINY_CNN, params, prepared_folder

RECIPE = TINY_CNN


@pytest.fixture(scope="module")
def folds(tmp_path_factory):
    """Photos without attributes and their k-fold stage's folds (a tiny CNN, one epoch)."""
    p = prepared_folder(tmp_path_factory)
    kfold = tmp_path_factory.mktemp("kfold")
    crossval.run(p, params("train", RECIPE), kfold, concurrent=False)
    return p, kfold


def test_nothing_to_audit_still_makes_the_output_and_says_why(folds, tmp_path):
    p, kfold = folds
    assert not {"gender", "age", "skin_tone"} & set(p.manifest.columns)
    cfg = params("bias", {})
    study = bias_study.run(
        Inputs({"data/kfold": kfold, "data/bias": tmp_path / "bias"}, {}, p), cfg
    )
    assert isinstance(study, bias_study.NothingToAudit)
    assert (tmp_path / "bias").is_dir() and not any((tmp_path / "bias").iterdir())  # none trained
    s = bias_study.summary(study, cfg)
    assert s == {"audited": False, "reason": study.reason}
    assert "no group attributes" in s["reason"] and "gender, age and skin_tone" in s["reason"]
    saved = json.loads(write_metrics(tmp_path / "bias.json", s).read_text())
    assert saved["audited"] is False and saved["reason"] == s["reason"]
    assert br.not_audited(saved).startswith(f"**Nothing to audit**: {s['reason']}.")


def test_a_hypothesis_on_a_column_the_data_lack_names_the_key(folds, tmp_path):
    p, kfold = folds
    planted = {"attribute": "gender", "group": "female", "class": "surgical"}
    inputs = Inputs({"data/kfold": kfold, "data/bias": tmp_path / "bias"}, {}, p)
    with pytest.raises(KeyError, match="planted.attribute names 'gender'"):
        bias_study.run(inputs, params("bias", {"planted": planted}))
