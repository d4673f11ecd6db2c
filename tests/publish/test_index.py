"""reports/index.html (maskutils.publish.index): headline numbers, links, params, provenance; never
crashes on odd input."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from maskutils.publish import index, provenance
from maskutils.publish.html import offline_problems
from maskutils.stages import REPORTED

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "git": {"commit": "abc1234", "dirty": False, "changed": []},
    "date": "2026-01-02T03:04:05Z",
    "versions": {"python": "3.11.0", "torch": "9.9"},
    "device": "CPU: Test CPU (2 logical cores)",
}

EDA = {
    "classes": {"cloth": 30, "no_mask": 30},
    "n_files": 61,
    "n_images": 60,
    "n_problems": 1,
    "duplicates": {
        "groups": 5,
        "groups_across_classes": 2,
        "groups_across_sources": 0,
        "groups_across_splits": 0,
        "images_in_groups": 10,
    },
    "flags": {},
    "shortcut": {
        "baseline_balanced_accuracy": 0.5,
        "tree_balanced_accuracy": 0.5,
        "warning": False,
    },
    "splits": {"test": 12, "train": 40, "val": 8},
}


def _ci(v, lo, hi):
    return {"value": v, "ci_low": lo, "ci_high": hi}


TRAIN = {
    "classes": ["no_mask", "cloth"],
    "task": "mask_type",
    "study_model": "cnn",
    "models": {
        "cnn": {
            "name": "CNN (small)",
            "n": 300,
            "macro_f1": _ci(0.976514, 0.95804, 0.992357),
            "accuracy": _ci(0.976667, 0.96, 0.993333),
        },
        "baseline": {
            "name": "PCA + SVM",
            "n": 300,
            "macro_f1": _ci(0.668296, 0.611882, 0.720143),
            "accuracy": _ci(0.666667, 0.61, 0.720083),
        },
    },
}
KFOLD = {
    "k": 5,
    "n": 1200,
    "pooled_macro_f1": 0.897616,
    "summary": {
        "macro_f1": {"mean": 0.896942, "sd": 0.021995, "ci_low": 0.869632, "ci_high": 0.924253},
        "accuracy": {"mean": 0.8975, "sd": 0.02, "ci_low": 0.869022, "ci_high": 0.925978},
    },
}


def _write(d: Path, name: str, obj) -> None:
    (d / "metrics").mkdir(parents=True, exist_ok=True)
    (d / "metrics" / f"{name}.json").write_text(obj if isinstance(obj, str) else json.dumps(obj))


@pytest.fixture
def study(tmp_path):
    reports, params = tmp_path / "reports", tmp_path / "params"
    reports.mkdir()
    params.mkdir()
    for name, obj in (("eda", EDA), ("train", TRAIN), ("kfold", KFOLD)):
        _write(reports, name, obj)
    for page in ("01_eda.html", "02_train.html", "03_kfold.html"):
        (reports / page).write_text("<html><body><h1>x</h1></body></html>")
    header = "# Written by `maskutils profile tiny`; README lists every key.\n"
    (params / "prepare.yaml").write_text(
        header + "seed: 0\nsource:\n  kind: folder\n  root: ../shared/faces\n"
    )
    (params / "train.yaml").write_text(header + "epochs: 2\nevaluate:\n  confidence: 0.95\n")
    (params / "kfold.yaml").write_text(header + "confidence: 0.9\n")
    return reports, params


def _text(path: Path) -> str:
    return path.read_text()


def test_index_shows_headlines_links_params_and_provenance(study):
    reports, params = study
    out = index.build_index(reports, params, reports / "index.html", env=ENV)
    page = _text(out)
    assert out == reports / "index.html"
    # headline numbers with intervals, from the JSON, formatted
    assert "0.977 [0.958, 0.992]" in page and "0.668 [0.612, 0.720]" in page  # train, per model
    assert "0.897 [0.870, 0.924]" in page and "90% t-interval" in page  # kfold, level from params
    assert "95% bootstrap CI" in page and "0.898" in page
    assert "60 from 61 files" in page and "5 groups holding 10 images" in page  # eda
    assert page.index("CNN (small)") < page.index("PCA + SVM")  # best model first
    # links to the reports that exist, relative; "not run" for the later stages
    for name in ("01_eda.html", "02_train.html", "03_kfold.html"):
        assert f'href="{name}"' in page
    assert "04_bias.html" not in page and page.count("not run") >= 3
    # dataset, profile, params dump, provenance
    assert "folder" in page and "../shared/faces" in page and "maskutils profile tiny" in page
    assert "<details><summary>params/prepare.yaml</summary>" in page
    assert "abc1234" in page and "(clean)" in page and "2026-01-02T03:04:05Z" in page
    assert "Test CPU" in page and "torch 9.9" in page
    # self-contained: no scripts, nothing remote
    assert offline_problems(page) == [] and "<script" not in page and "<style>" in page


def test_missing_metrics_and_report_is_not_run(tmp_path):
    out = index.build_index(
        tmp_path / "reports", tmp_path / "params", tmp_path / "out" / "index.html", env=ENV
    )
    page = _text(out)
    assert page.count('badge notrun">not run<') == len(REPORTED) + 1  # and the model card
    assert "<a href" not in page and "No params/*.yaml found" in page


def test_the_model_card_is_linked_once_written(study, tmp_path):
    reports, params = study
    page = _text(index.build_index(reports, params, reports / "index.html", env=ENV))
    card = page.split('id="model_card"')[1].split("</div>")[0]
    assert "not run" in card and "<a href" not in card
    (reports / "model_card.html").write_text("<html></html>")
    page = _text(index.build_index(reports, params, tmp_path / "site" / "index.html", env=ENV))
    card = page.split('id="model_card"')[1].split("</div>")[0]
    assert 'badge ok">ok<' in card and 'href="../reports/model_card.html"' in card


def test_unknown_or_changed_schema_degrades_to_top_level_numbers(study):
    reports, params = study
    _write(
        reports,
        "train",
        {"accuracy": 0.91, "n": 300, "models": "gone", "note": "text is not shown"},
    )
    _write(
        reports, "bias", {"max_gap": 0.12345, "groups": 6, "per_group": {"a": 1}}
    )  # an old schema: read as unreadable headlines, top-level numbers shown
    _write(reports, "kfold", "{not json")
    _write(reports, "newstage", {"score": 2})  # not in STAGES
    (reports / "04_bias.html").write_text("<html></html>")
    page = _text(index.build_index(reports, params, reports / "index.html", env=ENV))
    assert "headlines unreadable" in page and "could not be read from train.json" in page
    assert "0.910" in page and "text is not shown" not in page
    assert "max_gap" in page and "0.123" in page and 'href="04_bias.html"' in page
    assert "unreadable" in page and "kfold.json" in page
    assert "newstage" in page and "score" in page


def test_report_without_metrics_is_linked(study):
    reports, params = study
    (reports / "metrics" / "eda.json").unlink()
    page = _text(index.build_index(reports, params, reports / "index.html", env=ENV))
    assert 'href="01_eda.html"' in page and "no metrics" in page


def test_offline_problems_of_a_report_are_shown(study):
    reports, params = study
    (reports / "02_train.html").write_text(
        '<html><script src="https://cdn.example/x.js"></script></html>'
    )
    page = _text(index.build_index(reports, params, reports / "index.html", env=ENV))
    assert "offline check: 1 problem" in page and "cdn.example" in page


def test_links_are_relative_to_the_index(study, tmp_path):
    reports, params = study
    page = _text(index.build_index(reports, params, tmp_path / "site" / "index.html", env=ENV))
    assert 'href="../reports/01_eda.html"' in page


def test_environment_outside_git(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    env = provenance.environment(tmp_path)
    assert env["git"] == {"commit": "unknown", "dirty": None, "changed": []}
    assert env["date"] == "1970-01-01T00:00:00Z"
    assert env["versions"]["python"].count(".") == 2 and env["versions"]["maskutils"] != ""
    assert set(env["versions"]) == {
        "python",
        "torch",
        "torchvision",
        "numpy",
        "pandas",
        "scikit-learn",
        "grad-cam",
        "opencv",
        "maskutils",
    }
    assert env["device"]


def test_git_commit_and_dirty_flag(tmp_path):
    if not shutil.which("git"):
        pytest.skip("git not installed")

    def run(*a):
        return subprocess.run(["git", "-C", str(tmp_path), *a], check=True, capture_output=True)

    run("init", "-q")
    (tmp_path / "a.txt").write_text("1")
    run("add", "a.txt")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    clean = provenance.git_commit(tmp_path)
    assert len(clean["commit"]) >= 7 and clean["dirty"] is False
    (tmp_path / "a.txt").write_text("2")
    dirty = provenance.git_commit(tmp_path)
    assert dirty["dirty"] is True and dirty["changed"] == ["a.txt"]


def test_command_line(study, capsys):
    reports, params = study
    assert index.main(["--reports", str(reports), "--params", str(params)]) == 0
    assert (reports / "index.html").is_file() and "wrote" in capsys.readouterr().out


@pytest.mark.skipif(
    not (ROOT / "params" / "prepare.yaml").is_file(), reason="no params/ in this checkout"
)
def test_builds_from_the_repository_params(tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(ROOT / "reports" / "metrics", reports / "metrics") if (
        ROOT / "reports" / "metrics"
    ).is_dir() else reports.mkdir()
    page = _text(index.build_index(reports, ROOT / "params", env=ENV))
    assert "params/train.yaml" in page and offline_problems(page) == []


def test_index_shows_what_decided_each_metrics_files_bytes(study):
    reports, params = study
    machine = {
        "cpu": "Xeon 8480+",
        "cpu_flags": ["avx2", "avx512f", "amx_tile"],
        "torch": "2.x",
        "torch_cpu_capability": "AVX512",
        "torch_threads": 8,
        "onednn": "3.12.0",
        "numpy": "2.4",
        "blas": "openblas 0.3",
        "device": "cpu",
        "env": {},
    }
    _write(reports, "eda", {**EDA, "provenance": machine})
    page = _text(
        index.build_index(reports, params, env={**ENV, "machine": {**machine, "cpu": "EPYC"}})
    )
    eda_row = page.split("<td>eda.json</td>")[1].split("</tr>")[0]
    assert "Xeon 8480+" in eda_row and "AVX512 · avx2 avx512f amx_tile" in eda_row
    assert "8 · ?" in eda_row and "2.x · 3.12.0" in eda_row
    assert "train.json</td><td colspan='7'>not recorded" in page
    assert "this machine (index)</td><td>EPYC" in page
