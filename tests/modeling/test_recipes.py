"""`recipe` (modeling.recipes): `auto` follows the prepared data's source, a named recipe or a
number written in the params overrides it, and what was used reaches the trainer and the train
metrics."""

import pytest

from maskutils.core.params import ParamsError
from maskutils.modeling import checkpoint, recipes
from maskutils.stages.contract import Inputs
from maskutils.stages.train import report
from maskutils.stages.train import run as train
from tests.conftest import TINY_CNN, params, prepared_folder, prepared_synthetic

SETTINGS = {  # where each recipe setting sits in the train params
    "label_smoothing": ("label_smoothing",),
    "rotation": ("augment", "rotation"),
    "crop": ("augment", "crop"),
    "noise": ("augment", "noise"),
    "epochs": ("transfer", "epochs"),
    "unfreeze": ("transfer", "unfreeze"),
}


def _at(cfg: dict, path: tuple):
    for part in path:
        cfg = cfg[part]
    return cfg


def _info(kind: str) -> dict:
    return {"params": {"source": {"kind": kind}}}


def _values(cfg: dict) -> dict:
    return {name: _at(cfg, path) for name, path in SETTINGS.items()}


@pytest.mark.parametrize(
    "kind,expected", [("synthetic", "synthetic"), ("folder", "photos"), ("voc", "synthetic")]
)
def test_auto_follows_the_source(kind, expected):
    cfg = recipes.resolve(params("train"), _info(kind))
    assert cfg["recipe"] == expected
    assert _values(cfg) == _values(recipes.fill(params("train"), expected))
    assert None not in _values(cfg).values()


def test_the_recipes_differ_in_what_they_set():
    """Otherwise `auto` would choose nothing."""
    synthetic, photos = (_values(recipes.fill(params("train"), n)) for n in recipes.RECIPES)
    assert synthetic != photos


def test_a_number_in_the_params_overrides_its_recipe():
    given = params("train", {"label_smoothing": 0.25, "transfer": {"epochs": 2}})
    cfg = recipes.resolve(given, _info("folder"))
    photos = _values(recipes.fill(params("train"), "photos"))
    assert (cfg["label_smoothing"], cfg["transfer"]["epochs"]) == (0.25, 2)
    assert _values(cfg) | {"label_smoothing": None, "epochs": None} == photos | {
        "label_smoothing": None,
        "epochs": None,
    }
    made = recipes.record(given, cfg, _info("folder"))
    assert made["from_params"] == ["label_smoothing", "transfer.epochs"]
    assert made["chosen_by"] == "auto: a folder source"


def test_a_named_recipe_overrides_auto():
    cfg = recipes.resolve(params("train", {"recipe": "synthetic"}), _info("folder"))
    assert _values(cfg) == _values(recipes.fill(params("train"), "synthetic"))
    made = recipes.record(params("train", {"recipe": "synthetic"}), cfg, _info("folder"))
    assert (made["name"], made["chosen_by"]) == ("synthetic", None)


def test_resolving_twice_changes_nothing():
    once = recipes.resolve(params("train"), _info("folder"))
    assert recipes.resolve(once, _info("synthetic")) == once
    assert params("train", once) == once  # resolved params still pass their checks


def test_an_unknown_recipe_is_an_error_naming_the_key():
    with pytest.raises(ParamsError, match="'recipe' is 'photo'"):
        params("train", {"recipe": "photo"})
    with pytest.raises(ParamsError, match="'transfer.epochs' must be null or a number"):
        params("train", {"transfer": {"epochs": "eight"}})


@pytest.mark.parametrize("source", ["synthetic", "folder"])
def test_the_train_stage_trains_and_records_the_recipe_it_chose(source, tmp_path_factory):
    p = (
        prepared_synthetic(tmp_path_factory, 60, 32, 3)
        if source == "synthetic"
        else prepared_folder(tmp_path_factory)
    )
    root = tmp_path_factory.mktemp("train")
    given = params("train", {**TINY_CNN, "baseline": {"enabled": False}})
    paths = {"models": root / "models", "data/train": root / "out"}
    run = train.run(Inputs(paths, {}, p), given)
    expected = {"synthetic": "synthetic", "folder": "photos"}[source]
    made = train.summary(run, given)["recipe"]
    assert (made["name"], made["chosen_by"]) == (expected, f"auto: a {source} source")
    assert made["from_params"] == []
    _, meta = checkpoint.load(root / "models" / "study.pt")
    used = recipes.fill(params("train"), expected)
    assert _values(meta["params"]) == _values(used)  # what the studied model was trained with
    assert made["settings"]["label_smoothing"] == used["label_smoothing"]


def test_the_train_report_says_the_recipe_and_what_the_params_set():
    given = params("train", {"transfer": {"epochs": 3}})
    made = recipes.record(given, recipes.resolve(given, _info("folder")), _info("folder"))
    text = report.recipe_text(made)
    assert "Recipe **`photos`** (auto: a folder source)" in text
    assert "the last 50% of the backbone's weight tensors for 3 epochs" in text
    assert "Set in params/train.yaml instead: `transfer.epochs`." in text
    assert report.recipe_text(None) == ""
