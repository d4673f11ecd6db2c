"""Models kept under a key of what decides them (modeling.trained): the train stage run again
with the same recipe, data and code loads them instead of training and gives the same
predictions; another recipe trains anew."""

import numpy as np
import pandas as pd
import pytest

from maskutils.modeling import build
from maskutils.stages.contract import Inputs
from maskutils.stages.train import run as train
from tests.conftest import TINY_CNN, params, prepared_synthetic

CFG = {
    **TINY_CNN,
    "transfer": {"backbone": "none"},
    "baseline": {"enabled": False},
    "evaluate": {"bootstrap": 100},
}


def _inputs(p, root, k: int) -> Inputs:
    """Run k's models and outputs in folders of their own, the kept models shared."""
    paths = {
        "models": root / f"m{k}",
        "data/train": root / f"o{k}",
        "data/train_kept": root / "kept",
    }
    return Inputs(paths, {}, p)


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    p = prepared_synthetic(tmp_path_factory, 90, 32, 3)
    root = tmp_path_factory.mktemp("kept")
    run = train.run(_inputs(p, root, 1), params("train", CFG))
    return p, root, run


def test_a_second_run_loads_the_kept_model_and_predicts_the_same(first, monkeypatch):
    p, root, run = first

    def no_training(*a, **k):
        raise AssertionError("trained again although the model was kept")

    monkeypatch.setattr(build, "trainer", no_training)
    again = train.run(_inputs(p, root, 2), params("train", CFG))
    a, b = run.by_kind("cnn"), again.by_kind("cnn")
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    pd.testing.assert_frame_equal(a.history, b.history)
    assert a.best_epoch == b.best_epoch
    assert (root / "m2" / "cnn.pt").is_file()
    # byte for byte, so that dvc finds nothing changed after the train stage
    for name in ("predictions_cnn.csv", "history_cnn.csv"):
        assert (root / "o1" / name).read_bytes() == (root / "o2" / name).read_bytes(), name
    for name in ("cnn.pt", "study.pt"):
        assert (root / "m1" / name).read_bytes() == (root / "m2" / name).read_bytes(), name


def test_another_recipe_trains_anew(first):
    p, root, run = first
    other = params("train", {**CFG, "lr": CFG.get("lr", 0.001) * 2})
    again = train.run(_inputs(p, root, 3), other)
    assert len(list((root / "kept").iterdir())) == 2
    assert not np.array_equal(
        run.by_kind("cnn").predictions.filter(like="p_").to_numpy(),
        again.by_kind("cnn").predictions.filter(like="p_").to_numpy(),
    )


def test_a_kept_fine_tuned_model_predicts_the_same_bytes(tmp_path_factory):
    """Fine-tuning leaves MobileNetV2 laid out channels_last, which picks other kernels than a
    fresh model's layout: a kept model is loaded in the layout it was trained in, so its
    predictions (every digit the stage writes) and checkpoint are those of the first run."""
    p = prepared_synthetic(tmp_path_factory, 90, 32, 3)
    root = tmp_path_factory.mktemp("kept_transfer")
    tr = {"backbone": "mobilenet_v2", "input_size": 32, "head_epochs": 1, "epochs": 1}
    cfg = params("train", {**CFG, "transfer": tr, "compare": {"random_init": False}})
    for k in (1, 2):
        train.run(_inputs(p, root, k), cfg)
    for name in ("predictions_transfer.csv", "predictions_probe.csv", "history_transfer.csv"):
        assert (root / "o1" / name).read_bytes() == (root / "o2" / name).read_bytes(), name
    assert (root / "m1" / "study.pt").read_bytes() == (root / "m2" / "study.pt").read_bytes()
