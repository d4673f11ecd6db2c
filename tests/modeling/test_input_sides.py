"""Each model's input side follows the cached faces (`auto`), a number overrides it, and a model
fed larger than the cache says so."""

import pandas as pd
import pytest
import torch

from maskutils.modeling import build, checkpoint
from maskutils.modeling.params import RECIPE_SCHEMA
from maskutils.stages.train.report import resolution_text
from maskutils.stages.train.run import ModelResult, TrainRun, input_side


def _cfg(**given):
    return RECIPE_SCHEMA.validate({"transfer": {"weights": None}} | given)


@pytest.mark.parametrize(
    "cached, cnn, transfer", [(32, 32, 96), (64, 64, 96), (128, 64, 128), (160, 64, 160)]
)
def test_auto_sides(cached, cnn, transfer):
    assert build.input_sides(_cfg(), cached) == {"cnn": cnn, "transfer": transfer}


def test_numbers_override_auto():
    cfg = _cfg(cnn={"input_size": 48}, transfer={"input_size": 224, "weights": None})
    assert build.input_sides(cfg, 160) == {"cnn": 48, "transfer": 224}


def test_the_cnn_is_fed_at_its_own_side_and_keeps_it_in_its_file(tmp_path):
    model = build.build("cnn", _cfg(), 3, 160)
    assert model.size == 64
    x = torch.rand(2, 3, 160, 160)
    assert model.eval()(x).shape == (2, 3)
    path = checkpoint.save(
        model,
        tmp_path / "m.pt",
        kind="cnn",
        name="small",
        classes=["a", "b", "c"],
        image_size=160,
        task="mask_type",
    )
    loaded, meta = checkpoint.load(path)
    assert loaded.size == 64 and meta["spec"]["input_size"] == 64
    torch.testing.assert_close(loaded(x), model(x))


def _run(model, cached: int) -> TrainRun:
    r = ModelResult("MobileNetV2", "transfer", pd.DataFrame(), {}, 0, 0.0, 0.0, model=model)
    return TrainRun(["a", "b"], "mask_type", "cpu", {}, [r], image_size=cached)


def test_an_upsampled_input_is_said_in_the_metrics_and_the_report():
    model = build.build("transfer", _cfg(), 2, 64)
    assert model.size == 96
    run = _run(model, 64)
    assert input_side(run.results[0], 64) == {"input_px": 96, "upsampled": True}
    assert "upsampled" in resolution_text(run, 64)


def test_a_model_fed_at_the_cached_side_is_not_called_upsampled():
    model = build.build("transfer", _cfg(), 2, 128)
    run = _run(model, 128)
    assert input_side(run.results[0], 128) == {"input_px": 128, "upsampled": False}
    assert "upsampled" not in resolution_text(run, 128)
