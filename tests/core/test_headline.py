"""The headline metrics files (`core.results.headline`, what dvc.yaml declares as each stage's
`metrics`): wildcards expand, absent blocks are left out, every declared path finds a number in
the committed metrics, and the committed headline files are those numbers."""

import json

import pytest

from maskutils.core.results import headline
from maskutils.stages import STAGES
from tests.conftest import ROOT

DECLARED = [s for s in STAGES if s.headline]


def test_paths_wildcards_and_absent_blocks():
    m = {"sets": {"a": {"f1": {"value": 0.5}}, "b": {"f1": {"value": 0.7}}}, "t": 1.5, "x": "s"}
    out = headline(m, ("sets.*.f1.value", "t", "x", "planted.before"))
    assert out == {"sets.a.f1.value": 0.5, "sets.b.f1.value": 0.7, "t": 1.5}


def test_every_reported_stage_declares_a_headline():
    assert {s.name for s in DECLARED} == {s.name for s in STAGES if s.notebook}


@pytest.mark.parametrize("stage", DECLARED, ids=lambda s: s.name)
def test_every_declared_path_finds_a_number_in_the_committed_metrics(stage):
    full = json.loads((ROOT / stage.metrics).read_text())
    for path in stage.headline:
        assert headline(full, (path,)), f"{stage.name}: {path} finds nothing in {stage.metrics}"
    committed = json.loads((ROOT / stage.headline_file).read_text())
    assert committed == json.loads(json.dumps(headline(full, stage.headline)))
