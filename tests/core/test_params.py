import json

import pytest
import yaml

from maskutils.core.params import Param, ParamsError, Schema, compose, read_profile, write_params
from maskutils.publish import params_doc
from maskutils.stages import SCHEMAS, STAGES
from tests.conftest import ROOT, params


def test_defaults_validate():
    for stage, schema in SCHEMAS.items():
        assert schema.validate({}) == schema.defaults(), stage
        json.dumps(schema.defaults())


def test_partial_params_keep_other_defaults():
    p = params("prepare", {"split": {"folds": 10}})
    assert p["split"]["folds"] == 10 and p["split"]["test_fraction"] == 0.2


@pytest.mark.parametrize(
    "given, words",
    [
        ({"split": {"fold": 10}}, ["unknown key 'split.fold'", "folds"]),
        ({"sed": 1}, ["unknown key 'sed'"]),
        ({"split": {"folds": "ten"}}, ["'split.folds' must be int"]),
        ({"split": {"folds": 1}}, ["'split.folds'", "between 2 and 20"]),
        ({"source": {"kind": "zip"}}, ["'source.kind'", "synthetic, folder, voc"]),
        ({"voc": {"incorrect": "maybe"}}, ["'voc.incorrect'"]),
        ({"split": 5}, ["'split' must be a mapping"]),
        ({"synthetic": {"classes": [1, 2]}}, ["'synthetic.classes' must be a list of two"]),
        ({"source": {"root": 3}}, ["'source.root' must be null or text"]),
    ],
)
def test_bad_params_name_file_and_key(given, words, tmp_path):
    path = tmp_path / "prepare.yaml"
    path.write_text(yaml.safe_dump(given))
    with pytest.raises(ParamsError) as err:
        SCHEMAS["prepare"].load(path)
    for w in [str(path)] + words:
        assert w in str(err.value)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        SCHEMAS["eda"].load(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1,\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        SCHEMAS["eda"].load(tmp_path / "bad.yaml")


def test_a_key_is_declared_once():
    with pytest.raises(ValueError, match="declared twice"):
        Schema("x", [Param("a", 1, "one"), Param("a", 2, "two")])


def test_profiles_compose_in_order(tmp_path):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "a.yaml").write_text("prepare: {split: {folds: 7}, image_size: 32}\n")
    (tmp_path / "profiles" / "b.yaml").write_text("prepare: {split: {folds: 3}}\n")
    write_params(tmp_path, ["a", "b"], SCHEMAS)
    p = SCHEMAS["prepare"].load(tmp_path / "prepare.yaml")
    assert p["split"]["folds"] == 3 and p["image_size"] == 32 and p["split"]["test_fraction"] == 0.2


def test_profile_typos_are_errors(tmp_path):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "bad.yaml").write_text("prepare: {splt: {folds: 3}}\n")
    with pytest.raises(ParamsError, match="unknown key 'splt'"):
        write_params(tmp_path, ["bad"], SCHEMAS)
    with pytest.raises(ParamsError, match="no profile 'missing'"):
        write_params(tmp_path, ["missing"], SCHEMAS)


def test_every_shipped_profile_is_valid():
    for path in sorted((ROOT / "params" / "profiles").glob("*.yaml")):
        read_profile(path, SCHEMAS)


def test_committed_params_are_the_default_profile():
    composed = compose([ROOT / "params" / "profiles" / "default.yaml"], SCHEMAS)
    for stage, given in composed.items():
        assert yaml.safe_load((ROOT / "params" / f"{stage}.yaml").read_text()) == given, stage


def test_docs_params_md_is_generated_from_the_rows():
    doc = (ROOT / "docs" / "params.md").read_text()
    assert doc == params_doc.markdown(), "docs/params.md is stale: run `maskutils params-doc`"
    for stage in STAGES:
        for row in stage.schema.rows:
            assert f"| `{row.key}` |" in doc and row.help, (stage.name, row.key)


def test_each_stage_tracks_its_own_params_file_and_runs_one_command():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for stage in STAGES:
        assert {f"params/{stage.name}.yaml": None} in stages[stage.name]["params"], stage.name
        if stage.notebook:
            assert stages[stage.name]["cmd"] == f"maskutils stage {stage.name}"
            assert f"notebooks/{stage.notebook}.ipynb" in stages[stage.name]["deps"]


def test_dvc_yaml_is_the_one_the_stage_declarations_write():
    from maskutils.stages import dvc_yaml

    assert (ROOT / "dvc.yaml").read_text() == dvc_yaml.text(), (
        "dvc.yaml differs from the stage declarations: edit maskutils/stages/__init__.py and "
        "run `maskutils dvc-yaml`"
    )


def test_a_declaration_change_shows_in_dvc_yaml():
    import dataclasses

    from maskutils import stages
    from maskutils.stages import dvc_yaml

    bias = stages.get("bias")
    moved = dataclasses.replace(bias, reads=(*bias.reads, "data/extra"))
    text = dvc_yaml.stage_text(moved)
    assert "      - data/extra" in text and "      - data/extra" not in dvc_yaml.stage_text(bias)


def test_the_import_linter_contract_lists_every_stage_with_a_notebook():
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    independent = next(c for c in contracts["contracts"] if c["type"] == "independence")
    assert independent["modules"] == [f"maskutils.stages.{s.name}" for s in STAGES if s.notebook]


def test_kfold_tracks_the_recipe_keys_of_train_yaml():
    from maskutils.modeling.params import RECIPE_SCHEMA

    kfold = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["kfold"]["params"]
    keys = next(p["params/train.yaml"] for p in kfold if "params/train.yaml" in p)
    assert keys == list(RECIPE_SCHEMA.tree)


def test_dvc_analytics_off():
    assert "analytics = false" in (ROOT / ".dvc" / "config").read_text()


def test_notebooks_take_the_params_file_and_have_no_outputs():
    import nbformat

    for stage in STAGES:
        if not stage.notebook:
            continue
        nb = nbformat.read(ROOT / "notebooks" / f"{stage.notebook}.ipynb", as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert f'params_file = "params/{stage.name}.yaml"' in cell.source, stage.name
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), stage.name


@pytest.mark.parametrize(
    "dropout, words",
    [(5, "between 0.0 and 0.9"), (True, "null or a number"), ("x", "null or a number")],
)
def test_optional_numbers_are_range_checked(dropout, words):
    with pytest.raises(ParamsError, match=words):
        params("train", {"cnn": {"dropout": dropout}})
    assert params("train", {"cnn": {"dropout": 0.3}})["cnn"]["dropout"] == 0.3
