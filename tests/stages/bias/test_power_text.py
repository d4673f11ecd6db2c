"""The bias report's measured power: shown for the design it was measured on, refused (naming
the params that differ, the folds' training recipe among them) for another, and a pointer to the
benchmark when none is on record."""

import json
from pathlib import Path

import pytest

from maskutils.experiments.compose import recipe
from maskutils.modeling import recipes
from maskutils.stages.bias.report import power_text
from tests.conftest import params

ROOT = Path(__file__).resolve().parents[3]


def r(k, n):
    return {"k": k, "n": n, "rate": k / n, "ci95": [0.5, 1.0]}


def _record(prepare: dict, bias: dict, fold_recipe: dict) -> dict:
    return {
        "design": {"prepare": prepare, "bias": bias, "recipe": fold_recipe},
        "seeds": [0, 9],
        "machine": {"processor": "x86_64", "cpus": 2},
        "summary": {
            "detection_rate_preregistered": r(10, 10),
            "detection_rate_exploratory": r(9, 10),
            "null": {"preregistered_fired": r(1, 10), "runs_with_any_supported_gap": r(7, 10)},
            "shuffled": {
                "preregistered_fired": r(2, 10),
                "runs_with_any_supported_gap": r(3, 10),
                "runs_flagging_anything": r(4, 10),
            },
            "exact_null": {
                "any_supported": r(3, 400),
                "preregistered_fired": r(17, 400),
                "anything": r(19, 400),
            },
            "planted_gap": {"mean": 0.5, "min": 0.25, "max": 0.75},
            "mitigation": {
                "seeds": [10, 19],
                "arms": ["planted", "shuffled"],
                "machine": {"processor": "x86_64", "cpus": 2},
                "methods": {
                    "group_prior:1": {
                        "narrowed_with_confidence": r(8, 10),
                        "shuffled_narrowed_with_confidence": r(1, 10),
                        "macro_f1_change": {"mean": 0.004},
                    },
                    "both": {
                        "narrowed_with_confidence": r(3, 10),
                        "shuffled_narrowed_with_confidence": {"k": 0, "n": 0},
                        "macro_f1_change": {"mean": -0.001},
                    },
                },
            },
        },
    }


def test_the_power_of_this_design_is_shown_and_another_designs_is_refused(tmp_path):
    prepare, bias = params("prepare"), params("bias")
    fold_recipe = recipe({name: params(name) for name in ("train", "kfold")}, 0)
    path = tmp_path / "bias_power.json"
    assert "No power study on record" in power_text(path, prepare, bias, fold_recipe)
    path.write_text(json.dumps(_record(prepare, bias, fold_recipe)))
    # what differs only in what decides no result (seed, workers, threads, dpi) still applies
    same = power_text(
        path,
        {**prepare, "seed": 5, "workers": 1},
        {**bias, "dpi": 50, "threads": 4},
        {**fold_recipe, "seed": 3, "device": "cuda"},
    )
    assert "for this design" in same and "**10/10 (100%" in same and "**1/10 (10%" in same
    assert "from 0.250 to 0.750" in same and "seeds 10-19 of the planted and shuffled arms" in same
    # every measured method, this run's marked; a retraining method's shuffled arm not measured
    assert "`group_prior:1` (this run): narrowed the planted gap with confidence in 8/10" in same
    assert "+0.004" in same and "`both`: narrowed" in same and "not measured (it retrains)" in same
    assert "7/10 (70%" in same  # the null runs' real gaps
    assert "any supported gap over all groupings **3/10 (30%" in same  # the shuffled runs
    assert "2/10 (20%" in same and "either: 4/10 (40%" in same
    # small rates keep a decimal: 0.75%, not 1%
    assert "any supported gap over all groupings **3/400 (0.8%" in same and "17/400 (4.2%" in same
    assert "either: 19/400 (4.8%" in same
    bigger = {**prepare, "synthetic": {**prepare["synthetic"], "n_images": 3000}}
    other = power_text(path, bigger, {**bias, "permutations": 2000}, fold_recipe)
    assert "another design" in other and "prepare.synthetic, bias.permutations" in other
    assert "10/10" not in other


def test_folds_trained_another_way_are_another_design(tmp_path):
    prepare, bias = params("prepare"), params("bias")
    fold_recipe = recipe({name: params(name) for name in ("train", "kfold")}, 0)
    path = tmp_path / "bias_power.json"
    path.write_text(json.dumps(_record(prepare, bias, fold_recipe)))
    head_only = {**fold_recipe, "transfer": {**fold_recipe["transfer"], "epochs": 0}}
    other = power_text(path, prepare, bias, head_only)
    assert "another design" in other and "in recipe.transfer," in other and "10/10" not in other
    # a record that does not say how its folds were trained describes no run
    unsaid = _record(prepare, bias, fold_recipe)
    del unsaid["design"]["recipe"]
    path.write_text(json.dumps(unsaid))
    other = power_text(path, prepare, bias, fold_recipe)
    assert "recipe (not recorded)" in other and "10/10" not in other


@pytest.mark.parametrize("profiles", [["default"], ["default", "quick"]])
def test_each_committed_power_study_is_the_one_its_profiles_quote(profiles):
    """The record a profile's bias report quotes (`power_study`) is of that profile's design."""
    from benchmarks.bias_power import design
    from maskutils.experiments.compose import params_for

    composed = params_for(profiles, [], ROOT / "params")
    rec = json.loads((ROOT / composed["bias"]["power_study"]).read_text())
    assert rec["profiles"] == profiles and rec["overrides"] == []
    assert rec["design"] == design(composed)
    # and the bias report of such a run, whose folds recorded the recipe resolved (`recipe: auto`
    # named as the recipe it chose), quotes it as its own design
    folds = recipes.resolve(recipe(composed, 0), {"params": composed["prepare"]})
    path = ROOT / composed["bias"]["power_study"]
    text = power_text(path, composed["prepare"], composed["bias"], folds)
    assert "another design" not in text
