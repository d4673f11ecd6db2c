"""The k-fold stage: the training recipe with k-fold's overrides, cross-validated over the
train+val pool (`modeling.crossval`), and its metrics: per fold and across folds."""

from __future__ import annotations

from pathlib import Path

from maskutils.core import metrics as m
from maskutils.core.params import deep_update
from maskutils.core.stats import t_interval
from maskutils.modeling import build, crossval
from maskutils.modeling.crossval import KFoldRun
from maskutils.modeling.params import RECIPE_SCHEMA, executor_args
from maskutils.stages.contract import Inputs


def recipe_of(given: dict, kfold: dict, origin: str, models_dir: str | Path = "models") -> dict:
    """The training recipe of train params already read (`origin` names them in errors) with
    `kfold.overrides` applied (both checked); `model: best` becomes the kind the train stage
    chose (models_dir/study.json)."""
    base = RECIPE_SCHEMA.validate(
        {k: v for k, v in given.items() if k in RECIPE_SCHEMA.tree}, origin=origin
    )
    if base["model"] == "best":
        base["model"] = build.read_choice(Path(models_dir))
    return RECIPE_SCHEMA.validate(
        deep_update(base, kfold["overrides"]), origin="params/kfold.yaml (overrides)"
    )


def run(inputs: Inputs, params: dict) -> KFoldRun:
    """The train params' recipe (`inputs.also["train"]`) with k-fold's overrides (`model: best`:
    the kind in models/study.json), cross-validated in data/kfold (folds already on disk with
    the same key are resumed), with every out-of-fold prediction in data/kfold/predictions.csv."""
    kfold, out_dir = params, inputs.path("data/kfold")
    choice = inputs.path("models/study.json").parent
    cfg = recipe_of(inputs.also["train"], kfold, "params/train.yaml", choice)
    concurrent = {"auto": None, "on": True, "off": False}[kfold["concurrent"]]
    res = crossval.run(inputs.prepared, cfg, out_dir, concurrent, **executor_args(kfold))
    res.oof.to_csv(out_dir / "predictions.csv", index=False)
    return res


def summary(run: KFoldRun, params: dict) -> dict:
    """The metrics file: per fold and across folds (no timings, so equal runs give equal bytes),
    with `confidence` intervals across folds."""
    confidence = params["confidence"]
    cols = ["accuracy", "macro_precision", "macro_recall", "macro_f1"] + [
        f"f1_{c}" for c in run.classes
    ]
    total = sum(run.confusions.values())
    return {
        "classes": run.classes,
        "k": len(run.folds),
        "n": int(total.sum()),
        "per_fold": run.folds[["fold", "n", *cols, "epochs", "best_epoch"]].to_dict("records"),
        "summary": {c: t_interval(run.folds[c], confidence, (0, 1)) for c in cols},  # scores
        "confusion": total.tolist(),
        "pooled_macro_f1": float(m.macro_f1_from(total)),
    }
