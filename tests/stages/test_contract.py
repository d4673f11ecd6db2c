"""One contract for a stage's work (maskutils/stages/contract.py): every stage's run.py exposes
`run(inputs, params) -> Result` and `summary(result, params) -> dict`, every notebook builds its
inputs with `setup` and calls both, and the inputs name only what the stage's record declares."""

from __future__ import annotations

import importlib
import inspect
import re
import typing

import nbformat
import pytest

from maskutils.core.params import ParamsError
from maskutils.stages import RECIPE, SCHEMAS, STAGES, get
from maskutils.stages.contract import Inputs
from tests.conftest import ROOT

RUNS = sorted(p.parent.name for p in (ROOT / "maskutils" / "stages").glob("*/run.py"))
NOTEBOOKS = [s for s in STAGES if s.notebook]


def test_every_stage_with_a_notebook_has_a_run_module():
    assert RUNS == sorted(s.name for s in NOTEBOOKS)


@pytest.mark.parametrize("name", RUNS)
def test_run_and_summary_have_the_contracts_signature(name):
    module = importlib.import_module(f"maskutils.stages.{name}.run")
    run, summary = inspect.signature(module.run), inspect.signature(module.summary)
    assert list(run.parameters) == ["inputs", "params"], name
    assert list(summary.parameters)[1:] == ["params"] and len(summary.parameters) == 2, name
    for p in (*run.parameters.values(), *summary.parameters.values()):
        assert p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD, (name, p)
    ran = typing.get_type_hints(module.run)
    assert ran["inputs"] is Inputs and ran["params"] is dict, name
    summed = typing.get_type_hints(module.summary)
    result = next(iter(summary.parameters))
    assert summed[result] == ran["return"] and summed["params"] is dict, name
    assert summed["return"] is dict, name


@pytest.mark.parametrize("stage", NOTEBOOKS, ids=lambda s: s.name)
def test_the_notebook_builds_inputs_runs_summarises_and_writes(stage):
    nb = nbformat.read(ROOT / "notebooks" / f"{stage.notebook}.ipynb", as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    imported = re.search(
        rf"^from maskutils\.stages\.{stage.name} import run(?: as (\w+))?$", code, re.M
    )
    assert imported, stage.name
    module = imported.group(1) or "run"
    built = re.search(rf'^inputs, (\w+) = setup\("{stage.name}", params_file, ', code, re.M)
    assert built, stage.name
    params = built.group(1)
    ran = re.search(rf"^(\w+) = {module}\.run\(inputs, {params}\)$", code, re.M)
    assert ran, stage.name
    summed = re.search(rf"^(\w+) = {module}\.summary\({ran.group(1)}, {params}\)$", code, re.M)
    assert summed, stage.name
    assert f"\nwrite_metrics(metrics_out, {summed.group(1)})\n" in code, stage.name
    assert "load_prepared" not in code, stage.name  # the inputs load the prepared data


def test_inputs_name_only_what_the_record_declares():
    with pytest.raises(ParamsError, match="models/cnn.pt not among the reads and writes"):
        get("bias").inputs({"data/kfold": "data/kfold", "models/cnn.pt": "models/cnn.pt"})
    inputs = get("calibration").inputs({"data/kfold": "elsewhere"})
    assert str(inputs.path("data/kfold")) == "elsewhere"
    with pytest.raises(KeyError, match="no path 'models/study.pt' \\(given: data/kfold\\)"):
        inputs.path("models/study.pt")


def test_inputs_hold_the_params_the_record_also_reads():
    params = ROOT / "params"
    kfold = get("kfold").inputs({}, {"train": params / "train.yaml"})
    assert list(kfold.also) == ["train"] and list(kfold.also["train"]) == list(RECIPE)
    external = get("external").inputs({}, {"bias": params / "bias.yaml"})
    assert external.also == {"bias": SCHEMAS["bias"].load(params / "bias.yaml")}
    assert get("eda").inputs({}).also == {}


def test_the_prepared_data_are_read_once_and_only_when_used(tmp_path, monkeypatch):
    from maskutils.stages import contract

    read = []
    monkeypatch.setattr(contract, "load_prepared", lambda d: read.append(d) or object())
    inputs = Inputs({"data/prepared": tmp_path})
    assert read == []
    assert inputs.prepared is inputs.prepared and read == [tmp_path]


def test_every_notebook_stage_tracks_the_contract():
    import yaml

    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for stage in NOTEBOOKS:
        assert "maskutils/stages/contract.py" in stages[stage.name]["deps"], stage.name
