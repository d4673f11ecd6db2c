"""`executor: ray`: folds, and the runs of a grid, as tasks on a Ray cluster (a head started
here, as `ray start` starts one on a real cluster) give the same bytes as the local executor; folds
resume the same way."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import ray

from maskutils.core.results import write_metrics
from maskutils.experiments import grid
from maskutils.modeling import crossval
from maskutils.stages.kfold import run as kfold
from tests.conftest import params, prepared_synthetic

TIMES = ["seconds", "train_images_per_second"]
CFG = params("train", {"epochs": 2, "batch_size": 32, "cnn": {"preset": "small"}, "model": "cnn"})


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepared_synthetic(tmp_path_factory, 120, 24, 3)


@pytest.fixture(scope="module")
def cluster():
    """The address of a Ray head on this machine, 2 CPUs, stopped afterwards. Its token
    authentication is off (RAY_AUTH_MODE is read once, when `ray` is imported; a real cluster's
    driver sets RAY_AUTH_MODE=token and the token before it starts: docs/cluster.md)."""
    ray_cli = str(Path(sys.executable).with_name("ray"))
    port = "6391"
    subprocess.run(
        [
            ray_cli,
            "start",
            "--head",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "RAY_AUTH_MODE": "disabled"},
    )
    yield f"127.0.0.1:{port}"
    subprocess.run([ray_cli, "stop", "--force"], capture_output=True)


def test_ray_folds_equal_local_folds_byte_for_byte(prepared, tmp_path, cluster):
    local = crossval.run(prepared, CFG, tmp_path / "local", concurrent=False)
    remote = crossval.run(prepared, CFG, tmp_path / "ray", executor="ray", address=cluster)
    assert not ray.is_initialized()  # the session it opened is closed again
    assert sorted(remote.trained) == sorted(local.trained) == [0, 1, 2]
    for k in local.trained:
        for part in ("predictions.csv", "history.csv"):
            name = f"fold{k}_{part}"
            a, b = (tmp_path / d / name for d in ("local", "ray"))
            if part == "history.csv":  # every column but the wall times
                a, b = (pd.read_csv(x).drop(columns=TIMES) for x in (a, b))
                pd.testing.assert_frame_equal(a, b, check_exact=True)
            else:
                assert a.read_bytes() == b.read_bytes(), name
    blobs = [
        write_metrics(tmp_path / f"{d}.json", kfold.summary(r, params("kfold", {}))).read_bytes()
        for d, r in (("local", local), ("ray", remote))
    ]
    assert blobs[0] == blobs[1]
    keys = [
        json.loads((tmp_path / "ray" / f"fold{k}_meta.json").read_text())["key"] for k in range(3)
    ]
    assert keys == [
        json.loads((tmp_path / "local" / f"fold{k}_meta.json").read_text())["key"] for k in range(3)
    ]
    again = crossval.run(prepared, CFG, tmp_path / "ray", executor="ray", address=cluster)
    assert again.trained == []  # finished folds are resumed, not sent again


def test_the_cluster_address_can_come_from_ray_address(prepared, tmp_path, cluster, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", cluster)
    crossval.run(prepared, CFG, tmp_path / "local", concurrent=False)
    run = crossval.run(prepared, CFG, tmp_path / "ray", executor="ray")
    assert sorted(run.trained) == [0, 1, 2]
    for k in run.trained:
        name = f"fold{k}_predictions.csv"
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_a_grid_on_ray_equals_the_grid_run_here(tmp_path, cluster):
    params_dir = Path(__file__).resolve().parents[1] / "params"
    jobs = grid.jobs(["tiny"], ["cnn"], [0, 1], [], params_dir, threads=1)
    here = grid.run(jobs, tmp_path / "local", "local", 1, None)
    there = grid.run(jobs, tmp_path / "ray", "ray", 1, cluster)
    assert here.read_bytes() == there.read_bytes()
    for seed in (0, 1):
        name = Path("tiny") / "cnn" / f"seed{seed}" / "kfold.json"
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes()
