"""The bias and external stages through `dvc repro` on photos without attributes, from each kind
of source that has none (class folders without attributes.csv; VOC street scenes, a face crop
per box), in a copy of the project: they finish, say there is nothing to audit, and leave every
output dvc.yaml declares (the synthetic source, which has attributes: test_pipeline.py). Only
`prepare` runs upstream of them: the k-fold folds and the studied model are made here (a tiny
CNN), so that the stages under test are the only ones whose notebooks run."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from maskutils.modeling import crossval
from maskutils.prepare.prepared import load_prepared
from tests.conftest import ROOT, TINY_CNN, params, photo_folders, run_in, save_studied, shared

pytestmark = pytest.mark.slow

RECIPE = TINY_CNN
CAMERA = {"camera": {"kind": "synthetic", "synthetic": {"n_images": 30}}}  # it has attributes
PROFILE = {
    "prepare": {"image_size": 32, "workers": 1, "split": {"folds": 3}},
    "bias": {"bootstrap": 100, "permutations": 100, "dpi": 30},
    "external": {"bootstrap": 100, "gallery": 1, "dpi": 30},
}


def _studied(work, p) -> None:
    """What the train and k-fold stages leave for bias and external: the folds (a tiny CNN, one
    epoch), the studied model (untrained) and its test predictions."""
    cfg = params("train", RECIPE)
    crossval.run(p, cfg, work / "data" / "kfold", concurrent=False)
    save_studied(p, cfg, work / "models" / "study.pt", work / "data" / "train")


def tiny_voc(root: Path, scenes: int = 60) -> Path:
    """The first `scenes` street scenes of voc-300 (images and annotations), copied."""
    voc = shared("voc-300")
    for xml in sorted((voc / "annotations").glob("*.xml"), key=lambda f: f.name)[:scenes]:
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        shutil.copy(xml, root / "annotations" / xml.name)
        for image in (voc / "images").glob(xml.stem + ".*"):
            (root / "images").mkdir(parents=True, exist_ok=True)
            shutil.copy(image, root / "images" / image.name)
    return root


def _source(kind: str, where: Path) -> dict:
    if kind == "voc":  # the rare `incorrect` class would leave a fold without it: dropped
        return {
            "source": {"kind": "voc", "root": str(tiny_voc(where))},
            "voc": {"incorrect": "drop"},
        }
    return {"source": {"kind": "folder", "root": str(photo_folders(where))}}


@pytest.fixture(scope="module", params=["folder", "voc"])
def project(tmp_path_factory, request):
    work = tmp_path_factory.mktemp(f"{request.param}_project")
    for name in ("params", "notebooks", "maskutils", "benchmarks/results"):
        shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "dvc.yaml", work / "dvc.yaml")
    others = photo_folders(work.parent / f"{work.name}_others", per_class=4, first=500)
    profile = {
        **PROFILE,
        "prepare": {
            **PROFILE["prepare"],
            **_source(request.param, work.parent / f"{work.name}_src"),
        },
        "external": {**PROFILE["external"], "sets": {**CAMERA, "web": {"root": str(others)}}},
    }
    (work / "params" / "profiles" / "photos.yaml").write_text(yaml.safe_dump(profile))
    run_in(["dvc", "init", "--no-scm", "-q"], work)
    run_in(["dvc", "config", "core.analytics", "false"], work)
    run_in(["maskutils", "profile", "photos"], work)
    run_in(["dvc", "repro", "--single-item", "prepare"], work)
    _studied(work, load_prepared(work / "data" / "prepared"))
    run_in(["dvc", "repro", "--single-item", "bias"], work)  # fails if a declared output is missing
    run_in(["dvc", "repro", "--single-item", "external"], work)
    return work


def test_bias_finishes_with_nothing_to_audit_and_its_outputs(project):
    work = project
    metrics = json.loads((work / "reports" / "metrics" / "bias.json").read_text())
    assert metrics["audited"] is False and "no group attributes" in metrics["reason"]
    assert (work / "data" / "bias").is_dir() and "bias" in yaml.safe_load(
        (work / "dvc.lock").read_text()
    )["stages"]
    page = (work / "reports" / "04_bias.html").read_text()
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page
    assert "Nothing to audit" in page and "no group attributes" in page
    assert page.count("Not run: nothing to audit") == 5  # every section below the top


def test_external_scores_a_set_without_attributes_and_says_it_is_not_audited(project):
    work = project
    metrics = json.loads((work / "reports" / "metrics" / "external.json").read_text())
    assert {"gender", "age"} <= set(metrics["sets"]["camera"]["bias"]["attributes"])
    web = metrics["sets"]["web"]
    assert web["counts"]["used"] == web["metrics"]["n"] > 0 and web["gap"]
    assert web["bias"]["audited"] is False and "no group attributes" in web["bias"]["reason"]
    assert metrics["mitigation"] is None  # the bias stage had none to share
    assert (work / "data" / "external" / "web" / "predictions.csv").is_file()
    page = (work / "reports" / "07_external.html").read_text()
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page
    assert "is not audited by group: the images carry no group attributes" in page
