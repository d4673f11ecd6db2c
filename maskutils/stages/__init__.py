"""The study's stages in pipeline order: each one's params rows, notebook and report.

A stage's folder holds `params.py` (its rows), `run.py` (the work: `run(inputs, params)` and
`summary(result, params)`, stages/contract.py) and `report.py` (tables and figures for its
notebook). No stage imports another: the bias stage reads what k-fold wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from maskutils.core.params import ParamsError, Schema
from maskutils.modeling.params import RECIPE_SCHEMA
from maskutils.prepare.params import SCHEMA as PREPARE
from maskutils.stages.bias.params import SCHEMA as BIAS
from maskutils.stages.calibration.params import SCHEMA as CALIBRATION
from maskutils.stages.contract import Inputs
from maskutils.stages.detect.params import SCHEMA as DETECT
from maskutils.stages.eda.params import SCHEMA as EDA
from maskutils.stages.external.params import SCHEMA as EXTERNAL
from maskutils.stages.gradcam.params import SCHEMA as GRADCAM
from maskutils.stages.kfold.params import SCHEMA as KFOLD
from maskutils.stages.train.params import SCHEMA as TRAIN


@dataclass(frozen=True)
class Stage:
    """One stage, declared once: `maskutils dvc-yaml` writes dvc.yaml from these records, the
    index lists the reports of those with a notebook, and the tests hold the import-linter
    contract and the notebooks to them."""

    name: str  # params/<name>.yaml, reports/metrics/<name>.json, maskutils/stages/<name>
    title: str
    schema: Schema
    notebook: str | None = None  # notebooks/<notebook>.ipynb -> reports/<notebook>.html
    code: tuple[str, ...] = ()  # maskutils folders (or files) it runs, besides core and its own
    reads: tuple[str, ...] = ()  # data, models and records it reads (dvc deps)
    writes: tuple[str, ...] = ()  # data it writes (dvc outs, cached)
    keeps: tuple[str, ...] = ()  # of those, the ones kept between runs (resumable work)
    params_also: tuple[tuple[str, tuple[str, ...] | None], ...] = ()  # (stage, keys or None: all)
    note: str = ""  # one comment for dvc.yaml: what is not evident from the above
    plots: tuple[tuple[str, dict], ...] = ()  # (title, dvc plot definition) of files it writes
    headline: tuple[str, ...] = ()  # dotted paths (`*`: every key) of its metrics to compare

    @property
    def report(self) -> str | None:
        return f"{self.notebook}.html" if self.notebook else None

    @property
    def metrics(self) -> str | None:
        """The full metrics file the notebook writes (the reports and the card read it)."""
        return f"reports/metrics/{self.name}.json" if self.notebook else None

    @property
    def headline_file(self) -> str | None:
        """The few numbers of `headline`, what dvc.yaml declares as the stage's metrics."""
        return f"reports/headlines/{self.name}.json" if self.headline else None

    def inputs(
        self, paths: dict[str, str | Path], also: dict[str, str | Path] | None = None
    ) -> Inputs:
        """Its `Inputs` (stages/contract.py): `paths` keyed by the names of its `reads` and
        `writes` (any other name is an error), and the params of each stage in `params_also`,
        read from `also[stage]` (default params/STAGE.yaml), checked, cut to the declared keys."""
        unknown = sorted(set(paths) - {*self.reads, *self.writes})
        if unknown:
            raise ParamsError(
                f"{self.name}: {', '.join(unknown)} not among the reads and writes its record "
                "declares (maskutils/stages/__init__.py)"
            )
        given = {}
        for stage, keys in self.params_also:
            full = SCHEMAS[stage].load((also or {}).get(stage, f"params/{stage}.yaml"))
            given[stage] = full if keys is None else {k: full[k] for k in keys}
        return Inputs({k: Path(v) for k, v in paths.items()}, given)


#: the training recipe's keys of params/train.yaml (maskutils/modeling/params.py), which the
#: stages that train folds again read, and not the train report's keys
RECIPE = tuple(RECIPE_SCHEMA.tree)
#: what runs a stage's notebook and renders its report (`maskutils stage`): the only parts of
#: maskutils/publish a stage depends on, so that editing the card, the index or their headlines
#: re-renders those pages and re-runs no stage
RENDERS = (
    "publish/notebook.py",
    "publish/runner.py",
    "publish/html.py",
    "publish/templates/offline",
)
TRAINS = ("prepare", "modeling", *RENDERS)

STAGES = [
    Stage(
        "prepare",
        "Prepared data",
        PREPARE,
        code=("prepare",),
        writes=("data/prepared",),
    ),
    Stage(
        "eda",
        "The data",
        EDA,
        "01_eda",
        code=("prepare", *RENDERS),
        reads=("data/prepared",),
        headline=("n_images", "n_problems", "image_size"),
    ),
    Stage(
        "train",
        "Training and evaluation",
        TRAIN,
        "02_train",
        code=TRAINS,
        reads=("data/prepared",),
        writes=("models", "data/train", "data/train_kept"),
        keeps=("data/train_kept",),
        note="a model trained before with the same recipe, data and code is loaded, not trained",
        plots=(
            (
                "CNN training curves",
                {
                    "x": "epoch",
                    "y": {"data/train/history_cnn.csv": ["train_loss", "val_loss", "val_macro_f1"]},
                },
            ),
            (
                "pretrained model training curves (head phase, then fine-tuning)",
                {"x": "epoch", "y": {"data/train/history_transfer.csv": ["val_macro_f1"]}},
            ),
            (
                "CNN test confusion",
                {
                    "template": "confusion",
                    "x": "pred",
                    "y": {"data/train/predictions_cnn.csv": "true"},
                },
            ),
        ),
        headline=(
            "models.*.macro_f1.value",
            "models.*.accuracy.value",
            "finetune_vs_probe.macro_f1_difference.value",
        ),
    ),
    Stage(
        "kfold",
        "K-fold cross-validation",
        KFOLD,
        "03_kfold",
        code=TRAINS,
        reads=("data/prepared", "models/study.json"),
        writes=("data/kfold",),
        keeps=("data/kfold",),
        params_also=(("train", RECIPE),),
        note="finished folds survive an interrupted run, and a re-run resumes from them",
        plots=(
            (
                "k-fold out-of-fold confusion",
                {"template": "confusion", "x": "pred", "y": {"data/kfold/predictions.csv": "true"}},
            ),
        ),
        headline=("summary.macro_f1.*", "pooled_macro_f1"),
    ),
    Stage(
        "bias",
        "Bias",
        BIAS,
        "04_bias",
        code=(*TRAINS, "fairness"),
        reads=("data/prepared", "data/kfold", "benchmarks/results"),
        writes=("data/bias",),
        keeps=("data/bias",),
        note="the recipe: data/kfold/recipe.json; measured power: benchmarks/bias_power.py",
        headline=(
            "planted.before.difference.value",
            "planted.after.difference.value",
            "planted.change_after.*",
            "planted.narrowed_with_confidence",
            "overall.change_after.macro_f1.value",
        ),
    ),
    Stage(
        "gradcam",
        "Grad-CAM",
        GRADCAM,
        "05_gradcam",
        code=TRAINS,
        reads=(
            "data/prepared",
            "models/study.pt",
            "models/cnn.pt",
            "benchmarks/results/gradcam_grid.json",
        ),
        note="method and depth: benchmarks/gradcam_grid.py (its record)",
        headline=(
            "localisation.overall.pointing_hit.value",
            "faithfulness.overall.drop_vs_random.value",
            "sanity.randomisation.passes",
        ),
    ),
    Stage(
        "detect",
        "Detection",
        DETECT,
        "06_detect",
        code=TRAINS,
        reads=("models/study.pt",),
        headline=("recall.value", "precision.value", "ap"),
    ),
    Stage(
        "external",
        "External test sets",
        EXTERNAL,
        "07_external",
        code=(*TRAINS, "fairness"),
        reads=("data/prepared", "data/train", "models/study.pt", "reports/metrics/bias.json"),
        writes=("data/external",),
        params_also=(("bias", None),),
        note="the studied model on other test sets, audited with the bias stage's settings, plan",
        headline=(
            "in_distribution.macro_f1.value",
            "sets.*.metrics.macro_f1.value",
            "sets.*.gap.macro_f1.value",
        ),
    ),
    Stage(
        "calibration",
        "Calibration",
        CALIBRATION,
        "08_calibration",
        code=(*TRAINS, "fairness"),
        reads=("data/prepared", "models/study.pt", "data/kfold"),
        note="temperature fitted on the validation split only; the k-fold predictions as they are",
        headline=(
            "temperature",
            "test.*.ece.value",
            "test.*.brier.value",
            "out_of_fold.before.ece.value",
        ),
    ),
]
SCHEMAS = {s.name: s.schema for s in STAGES}
REPORTED = [s for s in STAGES if s.notebook]


def get(name: str) -> Stage:
    for s in STAGES:
        if s.name == name:
            return s
    raise ParamsError(f"unknown stage {name!r}; stages are {', '.join(s.name for s in STAGES)}")
