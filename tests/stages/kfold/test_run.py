import dataclasses

import numpy as np
import pytest
from scipy import stats

from maskutils.core.params import ParamsError, read_yaml
from maskutils.core.stats import t_interval
from maskutils.modeling import crossval
from maskutils.stages.kfold import run as kfold
from tests.conftest import params, prepared_synthetic


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepared_synthetic(tmp_path_factory, 150, 24, 3)


CFG = params(
    "train", {"epochs": 2, "batch_size": 32, "cnn": {"preset": "small"}, "model": "cnn"}
)  # has dropout


def test_folds_partition_the_pool_and_keep_groups_and_proportions(prepared):
    classes, y = prepared.task("mask_type")
    plan = crossval.plan(prepared, y, 0.1, 0)
    pool = set(np.flatnonzero(prepared.manifest["fold"].to_numpy() >= 0))
    tests = [set(f["test"]) for f in plan]
    assert set().union(*tests) == pool and sum(map(len, tests)) == len(pool)
    groups = prepared.manifest["dup_group"].to_numpy()
    for f in plan:
        assert not set(f["test"]) & (set(f["train"]) | set(f["val"]))
        assert not set(groups[f["test"]]) & set(groups[f["train"]])
        share = np.bincount(y[f["test"]], minlength=len(classes)) / len(f["test"])
        assert (
            np.abs(share - np.bincount(y[list(pool)], minlength=len(classes)) / len(pool)).max()
            < 0.08
        )


def test_concurrent_equals_sequential(prepared, tmp_path):
    seq = crossval.run(prepared, CFG, tmp_path / "seq", concurrent=False)
    con = crossval.run(prepared, CFG, tmp_path / "con", concurrent=True)
    cols = ["accuracy", "macro_f1", "epochs"]
    assert np.allclose(seq.folds[cols].to_numpy(float), con.folds[cols].to_numpy(float), atol=1e-6)
    assert np.allclose(
        seq.oof.filter(like="p_").to_numpy(), con.oof.filter(like="p_").to_numpy(), atol=1e-5
    )


def test_folds_in_processes_equal_sequential_byte_for_byte(prepared, tmp_path):
    seq = crossval.run(prepared, CFG, tmp_path / "seq", threads=1, workers=1)
    par = crossval.run(prepared, CFG, tmp_path / "par", threads=1, workers=2)
    assert (seq.mode, par.mode) == ("sequential", "2 processes")
    for k in range(3):  # the predictions files, byte for byte
        name = f"fold{k}_predictions.csv"
        assert (tmp_path / "seq" / name).read_bytes() == (tmp_path / "par" / name).read_bytes()
        assert (
            seq.histories[k]
            .drop(columns=["seconds", "train_images_per_second"])
            .equals(par.histories[k].drop(columns=["seconds", "train_images_per_second"]))
        )
    assert kfold.summary(seq, params("kfold", {})) == kfold.summary(par, params("kfold", {}))


def test_threads_are_part_of_a_folds_key(prepared, tmp_path):
    crossval.run(prepared, CFG, tmp_path, threads=1)
    assert crossval.run(prepared, CFG, tmp_path, threads=1).trained == []
    assert crossval.run(prepared, CFG, tmp_path, threads=2).trained == [0, 1, 2]
    assert crossval.load(prepared, tmp_path).trained == []  # load checks the key it was saved with


def test_workers_auto_is_the_cores_over_threads_capped_by_the_folds(monkeypatch):
    from maskutils.modeling import local_folds

    monkeypatch.setattr(local_folds.os, "sched_getaffinity", lambda _: set(range(8)))
    assert local_folds.workers_for("auto", 1, 5) == 5
    assert local_folds.workers_for("auto", 2, 5) == 4
    assert local_folds.workers_for("auto", 16, 5) == 1
    assert local_folds.workers_for(3, 1, 2) == 2


def test_oof_covers_every_pool_image_once_and_confusion_sums(prepared, tmp_path):
    run = crossval.run(prepared, CFG, tmp_path)
    pool = prepared.manifest[prepared.manifest["fold"] >= 0]
    assert sorted(run.oof["image_id"]) == sorted(pool["image_id"])
    merged = run.oof.merge(pool[["image_id", "fold"]], on="image_id", suffixes=("", "_manifest"))
    assert (merged["fold"] == merged["fold_manifest"]).all()
    s = kfold.summary(run, params("kfold", {}))
    assert np.array_equal(np.array(s["confusion"]), sum(run.confusions.values()))
    assert s["n"] == len(pool) == sum(r["n"] for r in s["per_fold"])


def test_resume_skips_finished_folds(prepared, tmp_path):
    first = crossval.run(prepared, CFG, tmp_path)
    assert first.trained == [0, 1, 2]
    (tmp_path / "fold1_meta.json").unlink()  # as if interrupted while fold 1 trained
    assert (tmp_path / "fold2_meta.json").is_file()  # each fold is saved when it finishes
    again = crossval.run(prepared, CFG, tmp_path)
    assert again.trained == [1] and again.folds.equals(
        first.folds.assign(seconds=again.folds["seconds"])
    )
    changed = crossval.run(prepared, {**CFG, "lr": 0.002}, tmp_path)
    assert changed.trained == [0, 1, 2]  # other params: nothing is reused


def test_mean_ci_arithmetic():
    v = [0.8, 0.9, 0.85, 0.95, 0.75]
    r = t_interval(v)
    half = stats.t.ppf(0.975, 4) * np.std(v, ddof=1) / np.sqrt(5)
    assert r["mean"] == pytest.approx(0.85) and r["ci_high"] - r["mean"] == pytest.approx(half)
    assert r["sd"] == pytest.approx(np.std(v, ddof=1))
    near_one = t_interval([1.0, 1.0, 0.97], 0.95, (0, 1))  # a score's interval stays in [0, 1]
    assert near_one["ci_high"] == 1.0 and t_interval([1.0, 1.0, 0.97])["ci_high"] > 1.0


def _recipe(train, kfold_params: dict, models="models") -> dict:
    """The k-fold recipe of a train params file, as the stage builds it (`recipe_of`)."""
    return kfold.recipe_of(read_yaml(train), kfold_params, str(train), models)


def test_recipe_takes_train_yaml_and_checks_the_overrides(tmp_path):
    train = tmp_path / "train.yaml"
    train.write_text("epochs: 7\nlr: 0.01\nreport: {dpi: 50}\n")
    cfg = _recipe(train, {"overrides": {"epochs": 3}})
    assert cfg["epochs"] == 3 and cfg["lr"] == 0.01 and "report" not in cfg
    with pytest.raises(ParamsError, match="unknown key 'epoch'"):
        _recipe(train, {"overrides": {"epoch": 3}})
    train.write_text("lr: fast\n")
    with pytest.raises(ParamsError, match=f"{train}: 'lr' must be float"):
        _recipe(train, {"overrides": {}})


def test_fold_code_folders_are_the_stage_deps():
    import yaml

    from tests.conftest import ROOT

    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name in ("kfold", "bias"):
        for folder in crossval.CODE_FOLDERS:
            assert f"maskutils/{folder}" in stages[name]["deps"], (name, folder)


def test_planted_rows_are_tested_out_of_fold_but_never_trained_on(prepared):
    df = prepared.manifest.copy()
    pool = np.flatnonzero(df["fold"].to_numpy() >= 0)
    df.loc[df.index[pool[:10]], "split"] = "excluded"
    p = dataclasses.replace(prepared, manifest=df)
    _, y = p.task("mask_type")
    plan = crossval.plan(p, y, 0.1, 0)
    excluded = set(pool[:10])
    assert all(not excluded & (set(f["train"]) | set(f["val"])) for f in plan)
    assert excluded <= set().union(*(set(f["test"]) for f in plan))


def test_load_needs_every_fold_and_mitigation_changes_the_key(prepared, tmp_path):
    with pytest.raises(FileNotFoundError, match="dvc repro kfold"):
        crossval.load(prepared, tmp_path)
    run = crossval.run(prepared, CFG, tmp_path)
    assert crossval.load(prepared, tmp_path).folds.equals(run.folds)
    _, y = prepared.task("mask_type")
    f = crossval.plan(prepared, y, 0.1, 0)[0]
    plan = {"method": "reweight", "by": ["gender"], "oversample_cap": 4.0}
    assert crossval.fold_key(prepared, CFG, f, None, 2) != crossval.fold_key(
        prepared, CFG, f, plan, 2
    )


def test_the_pretrained_model_cross_validates_and_ignores_cnn_keys(prepared, tmp_path):
    cfg = params(
        "train",
        {
            "batch_size": 32,
            "model": "transfer",
            "transfer": {"input_size": 32, "head_epochs": 3, "epochs": 1},
        },
    )
    seq = crossval.run(prepared, cfg, tmp_path / "seq", concurrent=False)
    con = crossval.run(prepared, cfg, tmp_path / "con", concurrent=True)
    assert np.allclose(
        seq.oof.filter(like="p_").to_numpy(), con.oof.filter(like="p_").to_numpy(), atol=1e-5
    )
    assert seq.folds["epochs"].tolist() == [4, 4, 4]  # 3 head epochs + 1 fine-tuning epoch
    other_cnn = {**cfg, "cnn": {**cfg["cnn"], "preset": "tiny3"}}
    assert crossval.run(prepared, other_cnn, tmp_path / "seq").trained == []
