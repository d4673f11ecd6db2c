"""The bias report's measured power: shown for the design it was measured on, refused (naming
the params that differ) for another, and a pointer to the benchmark when none is on record."""

import json

from maskutils.stages.bias.report import power_text
from tests.conftest import params


def _record(prepare: dict, bias: dict) -> dict:
    def r(k, n):
        return {"k": k, "n": n, "rate": k / n, "ci95": [0.5, 1.0]}

    return {
        "design": {"prepare": prepare, "bias": bias, "kfold_overrides": {"epochs": 12}},
        "seeds": [0, 9],
        "machine": {"processor": "x86_64", "cpus": 2},
        "summary": {
            "detection_rate_preregistered": r(10, 10),
            "detection_rate_exploratory": r(9, 10),
            "false_positive_rate_preregistered": r(1, 10),
            "null_runs_with_any_supported_gap": r(7, 10),
            "planted_gap": {"mean": 0.5, "min": 0.25, "max": 0.75},
            "narrowed_with_confidence": r(8, 10),
        },
    }


def test_the_power_of_this_design_is_shown_and_another_designs_is_refused(tmp_path):
    prepare, bias = params("prepare"), params("bias")
    path = tmp_path / "bias_power.json"
    assert "No power study on record" in power_text(path, prepare, bias)
    path.write_text(json.dumps(_record(prepare, bias)))
    # what differs only in what decides no result (seed, workers, dpi, executor) still applies
    same = power_text(path, {**prepare, "seed": 5, "workers": 1}, {**bias, "dpi": 50})
    assert "for this design" in same and "**10/10 (100%" in same and "**1/10 (10%" in same
    assert "from 0.250 to 0.750" in same and "8/10 (80%" in same
    bigger = {**prepare, "synthetic": {**prepare["synthetic"], "n_images": 3000}}
    other = power_text(path, bigger, {**bias, "permutations": 2000})
    assert "another design" in other and "prepare.synthetic, bias.permutations" in other
    assert "10/10" not in other


def test_a_study_with_exact_nulls_states_their_false_alarm_rate(tmp_path):
    prepare, bias = params("prepare"), params("bias")
    rec = _record(prepare, bias)
    rec["summary"]["exact_null"] = {
        "any_supported": {"k": 3, "n": 400, "rate": 0.0075, "ci95": [0.003, 0.02]},
        "preregistered_fired": {"k": 17, "n": 400, "rate": 0.0425, "ci95": [0.03, 0.07]},
    }
    path = tmp_path / "bias_power.json"
    path.write_text(json.dumps(rec))
    text = power_text(path, prepare, {**bias, "threads": 4, "workers": 2})
    assert "for this design" in text  # threads and workers decide no verdict's design
    assert "any supported gap over all groupings **3/400 (1%" in text and "17/400 (4%" in text
    path.write_text(json.dumps(_record(prepare, bias)))  # an older study without them
    assert "exact nulls" not in power_text(path, prepare, bias)
