import pytest
import yaml

from maskutils.core import params as config
from maskutils.core.params import ParamsError
from tests.conftest import ROOT


def test_defaults_validate():
    for stage in config.SCHEMA:
        assert config.validate(stage, {}) == config.defaults(stage)


def test_partial_params_keep_other_defaults():
    p = config.validate("prepare", {"split": {"folds": 10}})
    assert p["split"]["folds"] == 10 and p["split"]["test_fraction"] == 0.2


@pytest.mark.parametrize(
    "params, words",
    [
        ({"split": {"fold": 10}}, ["unknown key 'split.fold'", "folds"]),
        ({"sed": 1}, ["unknown key 'sed'"]),
        ({"split": {"folds": "ten"}}, ["'split.folds' must be int"]),
        ({"split": {"folds": 1}}, ["'split.folds'", "between 2 and 20"]),
        ({"source": {"kind": "zip"}}, ["'source.kind'", "synthetic, folder, voc"]),
        ({"voc": {"incorrect": "maybe"}}, ["'voc.incorrect'"]),
        ({"split": 5}, ["'split' must be a mapping"]),
        ({"synthetic": {"classes": [1, 2]}}, ["'synthetic.classes' must be list"]),
        ({"source": {"root": 3}}, ["'source.root' must be null or text"]),
    ],
)
def test_bad_params_name_file_and_key(params, words, tmp_path):
    path = tmp_path / "prepare.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError) as err:
        config.load("prepare", path)
    for w in [str(path)] + words:
        assert w in str(err.value)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        config.load("eda", tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1,\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        config.load("eda", tmp_path / "bad.yaml")


def test_profiles_compose_in_order(tmp_path):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "a.yaml").write_text("prepare: {split: {folds: 7}, image_size: 32}\n")
    (tmp_path / "profiles" / "b.yaml").write_text("prepare: {split: {folds: 3}}\n")
    config.write_params(tmp_path, ["a", "b"])
    p = config.load("prepare", tmp_path / "prepare.yaml")
    assert p["split"]["folds"] == 3 and p["image_size"] == 32 and p["split"]["test_fraction"] == 0.2


def test_profile_typos_are_errors(tmp_path):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "bad.yaml").write_text("prepare: {splt: {folds: 3}}\n")
    with pytest.raises(ParamsError, match="unknown key 'splt'"):
        config.write_params(tmp_path, ["bad"])
    with pytest.raises(ParamsError, match="no profile 'missing'"):
        config.write_params(tmp_path, ["missing"])


def test_every_shipped_profile_is_valid():
    for path in sorted((ROOT / "params" / "profiles").glob("*.yaml")):
        config.read_profile(path)


def test_committed_params_are_the_default_profile():
    composed = config.compose([ROOT / "params" / "profiles" / "default.yaml"])
    for stage, params in composed.items():
        assert yaml.safe_load((ROOT / "params" / f"{stage}.yaml").read_text()) == params, stage


def _leaf_keys(d, prefix=""):
    for k, v in d.items():
        if (
            isinstance(v, dict)
            and v
            and f"{prefix}{k}" not in {"split.plant_bias.where", "source.aliases", "overrides"}
        ):
            yield from _leaf_keys(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}"


def test_readme_documents_every_param():
    readme = (ROOT / "README.md").read_text()
    missing = [
        f"{stage}: {key}"
        for stage in config.SCHEMA
        for key in _leaf_keys(config.defaults(stage))
        if f"`{key}`" not in readme
    ]
    assert not missing, f"README lacks: {missing}"


def test_each_stage_tracks_its_own_params_file():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for stage in config.SCHEMA:
        assert {f"params/{stage}.yaml": None} in stages[stage]["params"], stage
        assert f"check-params {stage} params/{stage}.yaml" in stages[stage]["cmd"][0]


def test_dvc_analytics_off():
    assert "analytics = false" in (ROOT / ".dvc" / "config").read_text()


def test_notebook_parameter_cells_match_the_schema():
    import ast

    import nbformat

    for nb_name, stage in (
        ("01_eda.ipynb", "eda"),
        ("02_train.ipynb", "train"),
        ("03_kfold.ipynb", "kfold"),
        ("04_bias.ipynb", "bias"),
        ("05_gradcam.ipynb", "gradcam"),
        ("06_detect.ipynb", "detect"),
    ):
        nb = nbformat.read(ROOT / "notebooks" / nb_name, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        values = {t.targets[0].id: ast.literal_eval(t.value) for t in ast.parse(cell.source).body}
        assert {k: values[k] for k in config.SCHEMA[stage]} == config.defaults(stage), nb_name
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
            f"{nb_name} has outputs"
        )


@pytest.mark.parametrize(
    "dropout, words",
    [(5, "between 0.0 and 0.9"), (True, "null or a number"), ("x", "null or a number")],
)
def test_optional_numbers_are_range_checked(dropout, words):
    with pytest.raises(ParamsError, match=words):
        config.validate("train", {"cnn": {"dropout": dropout}})
    assert config.validate("train", {"cnn": {"dropout": 0.3}})["cnn"]["dropout"] == 0.3
