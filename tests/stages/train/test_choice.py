"""`model: best`: the studied kind is chosen on validation macro-F1, never on test, and the k-fold
stage's recipe reads the train stage's choice."""

import json

import pandas as pd
import pytest

from maskutils.core.params import read_yaml
from maskutils.modeling import build
from maskutils.stages.kfold import run as kfold
from maskutils.stages.train.run import ModelResult, choose


def _result(kind: str, val: list[float] | None, test_f1: float) -> ModelResult:
    history = None if val is None else pd.DataFrame({"val_macro_f1": val})
    metrics = {"macro_f1": {"value": test_f1}}
    return ModelResult(kind, kind, pd.DataFrame(), metrics, 1, 0.0, 1.0, history=history)


def test_best_is_the_higher_validation_score_not_the_higher_test_score():
    results = [
        _result("cnn", [0.5, 0.91, 0.8], test_f1=0.70),
        _result("transfer", [0.6, 0.88], test_f1=0.99),
        _result("scratch", [0.97], test_f1=0.99),  # a contrast arm: never studied
        _result("efficientnet_lite0", [0.99], test_f1=0.99),
        _result("baseline", None, test_f1=0.99),
    ]
    kind, scores = choose(results, "best")
    assert kind == "cnn" and scores == {"cnn": 0.91, "transfer": 0.88}
    results[1] = _result("transfer", [0.91], test_f1=0.5)
    assert choose(results, "best")[0] == "transfer"  # a tie goes to the pretrained model
    assert choose(results, "cnn") == ("cnn", None)


def _recipe(train, kfold_params: dict, models="models") -> dict:
    """The k-fold recipe of a train params file, as the stage builds it (`recipe_of`)."""
    return kfold.recipe_of(read_yaml(train), kfold_params, str(train), models)


def test_kfold_recipe_reads_the_train_stages_choice(tmp_path):
    train = tmp_path / "train.yaml"
    train.write_text("model: best\n")
    models = tmp_path / "models"
    with pytest.raises(FileNotFoundError, match=r"study\.json: missing.*run it first"):
        _recipe(train, {"overrides": {}}, models)
    models.mkdir()
    for kind in build.CANDIDATES:
        build.write_choice(models, kind, "best")
        assert _recipe(train, {"overrides": {}}, models)["model"] == kind
    (models / build.CHOICE).write_text(json.dumps({"model": "scratch"}))
    with pytest.raises(ValueError, match="model is 'scratch'"):
        _recipe(train, {"overrides": {}}, models)
    train.write_text("model: cnn\n")  # a named model needs no choice file
    (models / build.CHOICE).unlink()
    assert _recipe(train, {"overrides": {}}, models)["model"] == "cnn"
