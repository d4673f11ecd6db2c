"""What every notebook runs first: work from the project root, its params and inputs, figure
defaults."""

from __future__ import annotations

import os
from pathlib import Path

from maskutils import stages
from maskutils.stages.contract import Inputs


def project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) that holds dvc.yaml."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file():
            return folder
    raise FileNotFoundError(f"no dvc.yaml at or above {here}: open the notebook inside the project")


def setup(
    stage: str,
    params_file: str,
    paths: dict[str, str],
    also: dict[str, str] | None = None,
    dpi_key: str = "dpi",
) -> tuple[Inputs, dict]:
    """What a notebook runs first: chdir to the project root (JupyterLab starts in notebooks/,
    papermill at the root), read and check the stage's params, set figure and table defaults.
    Returns the stage's `Inputs` (`paths`: its reads and writes, named as in its record; `also`:
    the params files of the stages it also reads, default params/NAME.yaml) and its params."""
    import matplotlib
    import pandas as pd
    import seaborn as sns

    os.chdir(project_root())
    record = stages.get(stage)
    params = record.schema.load(params_file)
    inputs = record.inputs(paths, also)
    dpi = params
    for part in dpi_key.split("."):
        dpi = dpi[part]
    sns.set_theme(style="whitegrid", context="notebook")
    matplotlib.rcParams.update({"figure.dpi": dpi, "savefig.dpi": dpi, "figure.autolayout": True})
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.precision", 3)
    return inputs, params
