"""The power study's arms (benchmarks/bias_power.py): a null run plants nothing (no group's own
look, nothing under-sampled), a planted run keeps the profile's plant, and each arm and seed has
its own run key, so a kept run of one design is never read for another."""

from benchmarks.bias_power import arm_prepare, run_key
from maskutils.experiments.compose import params_for
from tests.conftest import ROOT


def _job(arm: str, seed: int = 3) -> dict:
    params = params_for(["default"], [], ROOT / "params")
    return {"params": params, "seed": seed, "arm": arm, "threads": 1, "shuffles": 2}


def test_null_plants_nothing_and_planted_keeps_the_plant():
    planted, null = arm_prepare(_job("planted")), arm_prepare(_job("null"))
    assert planted["seed"] == null["seed"] == 3
    assert planted["synthetic"]["pale_cloth"] == {"age": "elder"}
    assert planted["split"]["plant_bias"]["keep"] < 1.0
    assert null["synthetic"]["pale_cloth"] == {}
    assert null["split"]["plant_bias"]["keep"] == 1.0
    # the rest of the design is the same in both arms
    for prep in (planted, null):
        del prep["synthetic"]["pale_cloth"], prep["split"]["plant_bias"]["keep"]
    assert planted == null


def test_run_keys_differ_by_arm_and_seed():
    keys = {run_key(_job(arm, seed)) for arm in ("planted", "null") for seed in (0, 1)}
    assert len(keys) == 4
