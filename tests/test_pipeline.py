"""`dvc repro` on the tiny profile, in a copy of the project: the stages, the HTML, the metrics."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maskutils.publish.html import check_offline, remote_resources
from maskutils.stages import STAGES
from tests.conftest import ROOT, project_env, run_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    work = tmp_path_factory.mktemp("project")
    for name in ("dvc.yaml", "params", "notebooks", "maskutils", "benchmarks/results"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, work / name)
    run_in(["dvc", "init", "--no-scm", "-q"], work)
    run_in(["dvc", "config", "core.analytics", "false"], work)
    run_in(["maskutils", "profile", "tiny"], work)
    run_in(["dvc", "repro"], work)
    return work


def test_eda_report_and_metrics(project):
    page = (project / "reports" / "01_eda.html").read_text()
    assert remote_resources(page) == []
    assert page.count("data:image/png;base64,") >= 4  # class counts, sizes, samples, duplicates
    for heading in ("Classes", "Near-duplicates", "Shortcut check", "Split"):
        assert heading in page
    assert (
        'data-mime-type="application/vnd.jupyter.stderr"' not in page
    )  # no warnings shown to readers
    metrics = json.loads((project / "reports" / "metrics" / "eda.json").read_text())
    assert metrics["n_images"] == 150 and metrics["duplicates"]["groups_across_splits"] == 0


def test_train_report_models_and_metrics(project):
    page = (project / "reports" / "02_train.html").read_text()
    assert (
        remote_resources(page) == []
        and 'data-mime-type="application/vnd.jupyter.stderr"' not in page
    )
    for heading in (
        "Model comparison",
        "Training curves",
        "Test results of the studied model",
        "McNemar",
        "Where it goes wrong",
        "The most confused pair",
    ):
        assert heading in page
    metrics = json.loads((project / "reports" / "metrics" / "train.json").read_text())
    assert set(metrics["models"]) == {"cnn", "transfer", "probe", "scratch", "baseline"}
    assert metrics["finetune_vs_probe"]["n"] == 30 and "linear probe" in page
    assert metrics["split"]["test"] == 30 and metrics["study_model"] == "transfer"
    assert metrics["paired"]["n"] == 30 and 0 <= metrics["paired"]["mcnemar_p"] <= 1
    assert metrics["models"]["transfer"]["name"] == "mobilenet_v2 (ImageNet, 32 px)"
    for kind in ("cnn", "transfer", "scratch", "study"):
        assert (project / "models" / f"{kind}.pt").is_file()
    assert (project / "data" / "train" / "predictions_transfer.csv").is_file()


def test_kfold_report_and_metrics(project):
    page = (project / "reports" / "03_kfold.html").read_text()
    assert (
        remote_resources(page) == []
        and 'data-mime-type="application/vnd.jupyter.stderr"' not in page
    )
    metrics = json.loads((project / "reports" / "metrics" / "kfold.json").read_text())
    assert metrics["k"] == 3 and len(metrics["per_fold"]) == 3 and "macro_f1" in metrics["summary"]
    assert len(list((project / "data" / "kfold").glob("fold*_predictions.csv"))) == 3


def test_bias_report_and_metrics(project):
    page = (project / "reports" / "04_bias.html").read_text()
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page
    for heading in ("What the data supports", "The planted bias", "Per group", "Gaps"):
        assert heading in page
    # the committed power study is of the default design, not the tiny profile's
    assert "Power of this design." in page and "for another design" in page
    metrics = json.loads((project / "reports" / "metrics" / "bias.json").read_text())
    assert set(metrics["attributes"]) == {"gender", "age", "skin_tone", "gender x age"}
    assert metrics["n"] == 120  # the pool, out of fold
    # the default mitigation corrects the k-fold predictions: nothing retrained
    assert metrics["mitigation"]["method"] == "group_prior"
    assert (project / "data" / "bias" / "predictions.csv").is_file()
    assert not list((project / "data" / "bias").glob("fold*_predictions.csv"))


def test_gradcam_report_and_metrics(project):
    page = (project / "reports" / "05_gradcam.html").read_text()
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page
    metrics = json.loads((project / "reports" / "metrics" / "gradcam.json").read_text())
    assert metrics["localisation"]["available"] and metrics["n_images"] == 30
    assert metrics["shortcut"]["available"] and metrics["shortcut"]["n"] == 10


def test_detect_report_and_metrics(project):
    page = (project / "reports" / "06_detect.html").read_text()
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page
    metrics = json.loads((project / "reports" / "metrics" / "detect.json").read_text())
    assert metrics["n_scenes"] == 3 and metrics["n_faces"] > 0 and "classification" in metrics


def test_external_report_and_metrics(project):
    page = (project / "reports" / "07_external.html").read_text()
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page
    for heading in ("What was scored", "Removed copies", "The gap", "Bias on the external sets"):
        assert heading in page
    metrics = json.loads((project / "reports" / "metrics" / "external.json").read_text())
    camera = metrics["sets"]["camera"]
    assert camera["counts"]["images"] == 60 and camera["metrics"]["n"] == camera["counts"]["used"]
    assert {"accuracy", "macro_f1", "recall_cloth"} <= set(camera["gap"])
    assert {"gender", "age"} <= set(camera["bias"]["attributes"])
    assert metrics["mitigation"]["method"] == "group_prior"  # the bias stage's: audited after too
    groups = camera["bias"]["attributes"]["age"]["groups"].values()
    assert groups and all("after" in g["accuracy"] for g in groups)


def test_every_report_opens_offline_and_the_index_links_them(project):
    pages = sorted((project / "reports").glob("*.html"))
    assert [p.name for p in pages] == [
        "01_eda.html",
        "02_train.html",
        "03_kfold.html",
        "04_bias.html",
        "05_gradcam.html",
        "06_detect.html",
        "07_external.html",
        "08_calibration.html",
        "index.html",
        "model_card.html",
    ]
    for page in pages:
        assert check_offline(page) == [], page.name
        assert page.stat().st_size < 4_000_000, page.name
    index = (project / "reports" / "index.html").read_text()
    for page in pages:
        assert page.name == "index.html" or f'href="{page.name}"' in index


def test_dvc_push_and_pull_restore_the_study_without_recomputing(project, tmp_path):
    """data/ and models/ are DVC-cached: pushed to a local-folder remote and pulled into a fresh
    copy of the project (no data, models or cache), they come back byte-identical and nothing is
    left to re-run."""
    run_in(["dvc", "remote", "add", "-f", "-d", "store", str(tmp_path / "remote")], project)
    run_in(["dvc", "push", "-q"], project)
    clone = tmp_path / "clone"
    skip = {"data", "models", "cache", "tmp"}
    shutil.copytree(project, clone, ignore=lambda d, names: [n for n in names if n in skip])
    assert not (clone / "models").exists() and not (clone / ".dvc" / "cache").exists()
    run_in(["dvc", "pull", "-q"], clone)
    for rel in ("models/study.pt", "data/prepared/images.npy", "data/kfold/predictions.csv"):
        assert (clone / rel).read_bytes() == (project / rel).read_bytes(), rel
    assert "up to date" in run_in(["dvc", "status"], clone)


def test_the_stages_import_the_code_under_test(project):
    """Run from outside the copy, as the `maskutils` script runs: it imports the copy's package
    (what dvc.yaml tracks), not the checkout the environment was installed from."""
    code = "import maskutils; print(maskutils.__file__)"
    out = run_in([sys.executable, "-c", code], project, cwd=project.parent)
    assert Path(out.splitlines()[0]).resolve() == (project / "maskutils" / "__init__.py").resolve()


# The tests below change code or params in the project: they run last.


def test_a_card_edit_rerenders_the_pages_and_runs_no_stage(project):
    card = project / "maskutils" / "publish" / "card" / "__init__.py"
    card.write_text(card.read_text() + "# a comment\n")
    log = run_in(["dvc", "repro"], project)
    for stage in STAGES:
        assert f"Stage '{stage.name}' didn't change" in log, stage.name
    assert "Running stage 'card'" in log and "Running stage 'index'" in log


def test_a_report_edit_retrains_nothing(project):
    """A train report's sentence changed: the train stage re-renders with the models it kept,
    and nothing after it has to run again (its outputs are the same bytes)."""
    report = project / "maskutils" / "stages" / "train" / "report.py"
    report.write_text(report.read_text() + "# a comment\n")
    t0 = time.perf_counter()
    log = run_in(["dvc", "repro"], project)
    seconds = time.perf_counter() - t0
    assert "Running stage 'train'" in log and "trained before with this recipe" in log
    for stage in (s.name for s in STAGES if s.name not in ("prepare", "eda", "train")):
        assert f"Stage '{stage}' didn't change" in log, stage
    assert seconds < 60, seconds


def test_display_param_reruns_only_eda(project):
    params = project / "params" / "eda.yaml"
    params.write_text(params.read_text().replace("samples_per_class: 4", "samples_per_class: 3"))
    log = run_in(["dvc", "repro"], project)
    assert "Stage 'prepare' didn't change" in log and "Running stage 'eda'" in log
    for stage in ("train", "kfold", "bias", "gradcam", "detect", "external"):
        assert f"Stage '{stage}' didn't change" in log


def test_param_typo_fails_the_stage(project):
    params = project / "params" / "eda.yaml"
    params.write_text(params.read_text() + "sample_per_clas: 2\n")
    out = subprocess.run(
        ["dvc", "repro"],
        cwd=project,
        capture_output=True,
        text=True,
        env=project_env(project),
    )
    assert out.returncode != 0 and "unknown key 'sample_per_clas'" in out.stdout + out.stderr
