"""`maskutils grid`: its jobs and params errors (before anything runs), and a tiny grid run."""

import json
from pathlib import Path

import pandas as pd
import pytest

from maskutils.cli import main
from maskutils.core.params import ParamsError
from maskutils.experiments import grid
from maskutils.experiments.runner import run_all

PARAMS = Path(__file__).resolve().parents[2] / "params"


def test_jobs_cross_datasets_models_and_seeds_with_each_runs_seed():
    jobs = grid.jobs(["default+tiny", "tiny"], ["transfer", "cnn"], [0, 3], [], PARAMS, 1)
    assert len(jobs) == 8
    j = next(j for j in jobs if j["dataset"] == "tiny" and j["model"] == "cnn" and j["seed"] == 3)
    assert j["recipe"]["seed"] == 3 and j["prepare"]["seed"] == 3 and j["recipe"]["model"] == "cnn"
    assert j["recipe"]["epochs"] == 2  # the tiny profile's k-fold override
    planted = next(j for j in jobs if j["dataset"] == "default+tiny")
    assert planted["prepare"]["split"]["plant_bias"]["keep"] == 0.1
    assert j["prepare"]["split"]["plant_bias"]["keep"] == 1.0


def test_bad_grid_params_are_errors_before_anything_runs():
    with pytest.raises(ParamsError, match=r"profiles/tiyn\.yaml: no such profile; known: .*tiny"):
        grid.jobs(["tiyn"], ["cnn"], [0], [], PARAMS, 1)
    with pytest.raises(ParamsError, match="unknown key 'epoch'"):
        grid.jobs(["tiny"], ["cnn"], [0], ["train.epoch=3"], PARAMS, 1)
    with pytest.raises(ParamsError, match="expected stage.key=value"):
        grid.jobs(["tiny"], ["cnn"], [0], ["epochs=3"], PARAMS, 1)
    with pytest.raises(ParamsError, match="'best' is chosen by the train stage"):
        grid.jobs(["tiny"], ["best"], [0], [], PARAMS, 1)


def _square(job: dict) -> dict:
    return {"x": job["x"] ** 2}


def test_the_runner_returns_results_in_job_order_and_reports_each():
    jobs = [{"x": x, "threads": 1} for x in (3, 1, 2)]
    seen = []
    for workers in (1, 2):
        seen.clear()
        out = run_all(_square, jobs, "local", workers, done=lambda j, r: seen.append(j["x"]))
        assert out == [{"x": 9}, {"x": 1}, {"x": 4}] and sorted(seen) == [1, 2, 3]
    with pytest.raises(ValueError, match="executor 'slurm'"):
        run_all(_square, jobs, "slurm")


@pytest.mark.slow
def test_a_tiny_grid_writes_each_runs_kfold_metrics_and_a_table(tmp_path):
    out = tmp_path / "grid"
    argv = ["grid", "--datasets", "tiny", "--models", "cnn", "--seeds", "0", "1"]
    assert main([*argv, "--threads", "1", "--out", str(out)]) == 0
    table = pd.read_csv(out / "grid.csv")
    assert list(table["seed"]) == [0, 1] and set(table["model"]) == {"cnn"}
    for seed in (0, 1):
        s = json.loads((out / "tiny" / "cnn" / f"seed{seed}" / "kfold.json").read_text())
        row = table[table["seed"] == seed].iloc[0]
        assert s["k"] == row["k"] == 3 and abs(s["pooled_macro_f1"] - row["pooled_macro_f1"]) < 1e-6
