"""The study's stages in pipeline order: each one's params rows, notebook and report.

A stage's folder holds `params.py` (its rows), `run.py` (the work) and `report.py` (tables and
figures for its notebook). No stage imports another: the bias stage reads what k-fold wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

from maskutils.core.params import ParamsError, Schema
from maskutils.prepare.params import SCHEMA as PREPARE
from maskutils.stages.bias.params import SCHEMA as BIAS
from maskutils.stages.detect.params import SCHEMA as DETECT
from maskutils.stages.eda.params import SCHEMA as EDA
from maskutils.stages.external.params import SCHEMA as EXTERNAL
from maskutils.stages.gradcam.params import SCHEMA as GRADCAM
from maskutils.stages.kfold.params import SCHEMA as KFOLD
from maskutils.stages.train.params import SCHEMA as TRAIN


@dataclass(frozen=True)
class Stage:
    name: str  # params/<name>.yaml, reports/metrics/<name>.json
    title: str
    schema: Schema
    notebook: str | None = None  # notebooks/<notebook>.ipynb -> reports/<notebook>.html

    @property
    def report(self) -> str | None:
        return f"{self.notebook}.html" if self.notebook else None


STAGES = [
    Stage("prepare", "Prepared data", PREPARE),
    Stage("eda", "The data", EDA, "01_eda"),
    Stage("train", "Training and evaluation", TRAIN, "02_train"),
    Stage("kfold", "K-fold cross-validation", KFOLD, "03_kfold"),
    Stage("bias", "Bias", BIAS, "04_bias"),
    Stage("gradcam", "Grad-CAM", GRADCAM, "05_gradcam"),
    Stage("detect", "Detection", DETECT, "06_detect"),
    Stage("external", "External test sets", EXTERNAL, "07_external"),
]
SCHEMAS = {s.name: s.schema for s in STAGES}
REPORTED = [s for s in STAGES if s.notebook]


def get(name: str) -> Stage:
    for s in STAGES:
        if s.name == name:
            return s
    raise ParamsError(f"unknown stage {name!r}; stages are {', '.join(s.name for s in STAGES)}")
