"""What every notebook runs first: work from the project root, its params, figure defaults."""

from __future__ import annotations

import os
from pathlib import Path


def project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) that holds dvc.yaml."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file():
            return folder
    raise FileNotFoundError(f"no dvc.yaml at or above {here}: open the notebook inside the project")


def setup(schema, params_file: str, dpi_key: str = "dpi") -> dict:
    """What a notebook runs first: chdir to the project root (JupyterLab starts in notebooks/,
    papermill at the root), read and check the stage's params, set figure and table defaults.
    Returns the params."""
    import matplotlib
    import pandas as pd
    import seaborn as sns

    os.chdir(project_root())
    params = schema.load(params_file)
    dpi = params
    for part in dpi_key.split("."):
        dpi = dpi[part]
    sns.set_theme(style="whitegrid", context="notebook")
    matplotlib.rcParams.update({"figure.dpi": dpi, "savefig.dpi": dpi, "figure.autolayout": True})
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.precision", 3)
    return params
