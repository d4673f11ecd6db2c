"""The power study's arms (benchmarks/bias_power.py): the unplanted arms (null, shuffled) plant
nothing (no group's own look, nothing under-sampled), a planted run keeps the profile's plant,
the shuffled arm unties every recorded group from its pictures, and each arm and seed has its own
run key, so a kept run of one design is never read for another."""

import pandas as pd
import pytest

from benchmarks.bias_power import (
    ARMS,
    arm_prepare,
    flags,
    measured_methods,
    parse_method,
    run_key,
    shuffle_groups,
)
from maskutils.experiments.compose import params_for
from tests.conftest import ROOT


def _job(arm: str, seed: int = 3) -> dict:
    params = params_for(["default"], [], ROOT / "params")
    return {"params": params, "seed": seed, "arm": arm, "threads": 1, "shuffles": 2}


def test_unplanted_arms_plant_nothing_and_planted_keeps_the_plant():
    planted, null, shuffled = (arm_prepare(_job(a)) for a in ("planted", "null", "shuffled"))
    assert planted["seed"] == null["seed"] == shuffled["seed"] == 3
    assert planted["synthetic"]["pale_cloth"] == {"age": "elder"}
    assert planted["split"]["plant_bias"]["keep"] < 1.0
    assert null == shuffled
    assert null["synthetic"]["pale_cloth"] == {}
    assert null["split"]["plant_bias"]["keep"] == 1.0
    # the rest of the design is the same in every arm
    for prep in (planted, null):
        del prep["synthetic"]["pale_cloth"], prep["split"]["plant_bias"]["keep"]
    assert planted == null


def test_run_keys_differ_by_arm_and_seed():
    keys = {run_key(_job(arm, seed)) for arm in ARMS for seed in (0, 1)}
    assert len(keys) == 2 * len(ARMS)


def _manifest(n: int = 240) -> pd.DataFrame:
    # age tied to the picture (image_id) and to nothing else
    return pd.DataFrame(
        {
            "image_id": [f"img{i:03d}" for i in range(n)],
            "label": [("cloth", "surgical", "no_mask")[i % 3] for i in range(n)],
            "gender": [("female", "male")[(i // 3) % 2] for i in range(n)],
            "age": [("child", "adult", "elder")[(i // 6) % 3] for i in range(n)],
            "skin_tone": [1 + (i // 18) % 6 for i in range(n)],
            "split": ["pool"] * n,
        }
    )


def test_shuffle_groups_keeps_every_groups_size_and_class_mix_and_unties_it_from_the_pictures():
    m = _manifest()
    audit = {"attributes": "auto", "intersections": "auto"}
    out = shuffle_groups(m, audit, seed=0)
    assert out[["image_id", "label", "split"]].equals(m[["image_id", "label", "split"]])
    for col in ("gender", "age", "skin_tone"):
        assert (out[col] != m[col]).mean() > 0.3, col  # moved between pictures
        before = m.groupby([col, "label"]).size()
        assert out.groupby([col, "label"]).size().equals(before)
    # moved together: every gender x age x skin tone combination keeps its size
    trio = ["gender", "age", "skin_tone"]
    assert sorted(map(tuple, out[trio].to_numpy())) == sorted(map(tuple, m[trio].to_numpy()))
    again = shuffle_groups(m, audit, seed=0)
    assert again.equals(out) and not shuffle_groups(m, audit, seed=1).equals(out)


def _run(found: bool, supported: list[bool], difference: float | None) -> dict:
    return {
        "planted": {"found": found, "difference": {"value": difference} if difference else None},
        "gaps": [
            {"grouping": "age", "metric": f"m{k}", "supported": s} for k, s in enumerate(supported)
        ],
    }


def test_flags_count_runs_that_flag_anything_and_name_the_gaps():
    runs = [
        _run(True, [False, True], 0.1),
        _run(False, [False, False], -0.02),
        _run(False, [False, True], None),
    ]
    f = flags(runs)
    assert f["preregistered_fired"]["k"] == 1 and f["preregistered_fired"]["n"] == 3
    assert f["runs_with_any_supported_gap"]["k"] == 2
    assert f["runs_flagging_anything"]["k"] == 2  # the first run did both
    assert f["gaps_supported"]["k"] == 2 and f["gaps_supported"]["n"] == 6
    assert f["supported_by_gap"] == {"age: m1": 2}
    assert f["gap"] == [0.1, -0.02]


def test_each_arm_measures_the_mitigations_it_can_judge():
    methods = ["group_prior:1", "both"]
    job = {"methods": methods, "mitigate": True}
    assert measured_methods({**job, "arm": "planted"}) == methods
    # a retrained method's false narrowing would cost a k-fold run per seed
    assert measured_methods({**job, "arm": "shuffled"}) == ["group_prior:1"]
    assert measured_methods({**job, "arm": "null"}) == []
    assert measured_methods({**job, "arm": "planted", "mitigate": False}) == []
    assert measured_methods({**job, "arm": "shuffled", "retrain_shuffled": True}) == methods
    assert parse_method("group_prior:0.5") == {"method": "group_prior", "strength": 0.5}
    assert parse_method("worst_reweight:3") == {"method": "worst_reweight", "worst_boost": 3.0}
    assert parse_method("worst_oversample") == {"method": "worst_oversample"}
    for label in ("threshold", "both:2"):
        with pytest.raises(SystemExit, match="--methods"):
            parse_method(label)


def test_a_method_label_names_what_the_bias_params_choose():
    from maskutils.stages.bias.report import method_label

    mit = {"method": "group_prior", "strength": 1.0, "worst_boost": 3.0, "oversample_cap": 4.0}
    assert method_label(mit) == "group_prior:1"
    assert method_label({**mit, "method": "worst_reweight"}) == "worst_reweight:3"
    assert method_label({**mit, "method": "both"}) == "both"
    for label in ("group_prior:1", "worst_reweight:3", "both"):
        assert method_label({**mit, **parse_method(label)}) == label
