"""The `train` stage: the from-scratch CNN, a transfer model and the PCA+SVM baseline, trained on
the same split and evaluated on the same test images. The notebook only calls `run` and shows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from maskutils.core.progress import note
from maskutils.modeling import baseline, build, checkpoint, recipes, trained
from maskutils.modeling.evaluate import paired, predictions_table, report
from maskutils.modeling.fit import resolve_device, run_to_end
from maskutils.modeling.models import cnn_spec, count_parameters
from maskutils.modeling.predict import predict_proba
from maskutils.prepare.prepared import Prepared
from maskutils.stages.contract import Inputs

#: the key of the studied transfer model's linear probe in the results and train.json
PROBE = "probe"


@dataclass
class ModelResult:
    name: str  # what the comparison table calls it
    kind: str  # cnn | transfer | scratch | baseline | an extra backbone's name
    predictions: pd.DataFrame
    metrics: dict
    parameters: int
    train_seconds: float
    inference_images_per_second: float
    history: pd.DataFrame | None = None
    best_epoch: int | None = None
    model: object = None  # the trained torch model (None for the baseline)


@dataclass
class TrainRun:
    classes: list[str]
    task: str
    device: str
    split_sizes: dict
    results: list[ModelResult]
    study: str = "transfer"  # the kind the k-fold, bias, Grad-CAM and detect stages study
    paired: dict | None = None  # the best two models on the same test images
    chosen: dict | None = None  # `model: best`: each candidate's validation macro-F1
    image_size: int = 0  # the side the faces are cached at (prepare)
    image_size_auto: dict | None = None  # how `image_size: auto` chose it (None: a number)
    finetune_vs_probe: dict | None = None  # paired: fine-tuned transfer model minus its probe
    vs_random_init: dict | None = None  # paired: the pretrained transfer model minus the same
    # network from random weights, trained like the CNN (compare.random_init)
    recipe: dict | None = None  # the recipe's name, why `auto` chose it, and its settings

    def by_kind(self, kind: str) -> ModelResult | None:
        return next((r for r in self.results if r.kind == kind), None)


def run(inputs: Inputs, params: dict) -> TrainRun:
    """Trains every model the params ask for; writes `models` and, in `data/train`, predictions
    and histories. A model trained before with the same recipe, data and code is loaded from
    `data/train_kept` instead (`modeling.trained`), and every model trained is kept there (when
    the inputs have no such path, every model is trained and none kept)."""
    p = inputs.prepared
    cfg = recipes.resolve(params, p.info)
    models_dir, out_dir = inputs.path("models"), inputs.path("data/train")
    kept_dir = inputs.path("data/train_kept") if "data/train_kept" in inputs.paths else None
    classes, y = p.task(cfg["task"])
    split = {name: p.rows(name) for name in ("train", "val", "test")}
    if not len(split["val"]):
        raise ValueError(
            "the split has no validation images: set split.val_fraction > 0 in params/prepare.yaml"
        )
    positive = (
        cfg["evaluate"]["positive"]
        if len(classes) == 2 and cfg["evaluate"]["positive"] in classes
        else None
    )
    ev = dict(
        positive=positive,
        reps=cfg["evaluate"]["bootstrap"],
        confidence=cfg["evaluate"]["confidence"],
        seed=cfg["seed"],
    )
    data = (p, y, split, classes, ev)
    tr = cfg["transfer"]
    kinds = [("cnn", None)]
    if tr["backbone"] != "none":
        kinds.append(("transfer", None))
        if cfg["compare"]["random_init"]:
            kinds.append(("scratch", None))
    kinds += [("transfer", b) for b in cfg["compare"]["backbones"]]
    if cfg["model"] not in [k for k, b in kinds if b is None] + ["best"]:
        raise ValueError(
            f"params/train.yaml: model is {cfg['model']!r} but transfer.backbone is 'none'"
        )
    results = [
        r
        for kind, backbone in kinds
        for r in _torch(kind, backbone, data, cfg, models_dir, kept_dir)
    ]
    kind, chosen = choose(results, cfg["model"])
    study = next(r for r in results if r.kind == kind)
    checkpoint.save(study.model, models_dir / "study.pt", **_meta(study, p, {**cfg, "model": kind}))
    build.write_choice(models_dir, kind, cfg["model"])
    if cfg["baseline"]["enabled"]:
        note("PCA + SVM baseline: grid search")
        results.append(_baseline(data, cfg))
    _save(results, out_dir)
    sizes = {name: len(rows) for name, rows in split.items()} | {
        "excluded": len(p.rows("excluded"))
    }
    best = sorted(results, key=lambda r: -r.metrics["macro_f1"]["value"])[:2]
    pair = None
    if len(best) > 1:
        pair = paired(
            best[0].predictions,
            best[1].predictions,
            classes,
            ev["reps"],
            ev["confidence"],
            ev["seed"],
        )
    if pair is not None:
        pair = {"a": best[0].kind, "b": best[1].kind, **pair}
    tuned = next((r for r in results if r.kind == "transfer"), None)

    def minus(kind: str) -> dict | None:
        """The transfer model minus the model of `kind`, on the same test images (paired)."""
        other = next((r for r in results if r.kind == kind), None)
        if tuned is None or other is None:
            return None
        args = (classes, ev["reps"], ev["confidence"], ev["seed"])
        return paired(tuned.predictions, other.predictions, *args)

    return TrainRun(
        classes,
        cfg["task"],
        str(resolve_device(cfg["device"])),
        sizes,
        results,
        kind,
        pair,
        chosen,
        p.info["image_size"],
        p.info.get("image_size_auto"),
        minus(PROBE),
        minus("scratch") if cfg["transfer"]["weights"] else None,  # else: random vs random
        recipes.record(params, cfg, p.info),
    )


def choose(results: list[ModelResult], requested: str) -> tuple[str, dict | None]:
    """The studied kind: `requested`, or for `best` the candidate with the highest validation
    macro-F1 at its kept epoch (never a test number), with every candidate's score."""
    if requested != "best":
        return requested, None
    scores = {
        r.kind: float(r.history["val_macro_f1"].max())
        for r in results
        if r.kind in build.CANDIDATES and r.history is not None
    }
    return max(scores, key=lambda k: (scores[k], -build.CANDIDATES.index(k))), scores


def _name(kind: str, model, cfg) -> str:
    if kind == "cnn":
        return f"CNN ({cfg['cnn']['preset']})"
    init = "random init" if kind == "scratch" or not cfg["transfer"]["weights"] else "ImageNet"
    return f"{model.name} ({init}, {model.size} px)"


def _meta(r, p: Prepared, cfg) -> dict:
    if r.kind == "cnn":
        preset = cfg["cnn"]["preset"]
        kind, name, spec = "cnn", preset, cnn_spec(preset, build.cnn_overrides(cfg))
    else:
        kind, name, spec = "transfer", r.model.name, None
    return dict(
        kind=kind,
        name=name,
        spec=spec,
        classes=p.task(cfg["task"])[0],
        image_size=p.info["image_size"],
        task=cfg["task"],
        params=cfg,
    )


def _torch(kind, backbone, data, cfg, models_dir, kept_dir) -> list[ModelResult]:
    """Trains one torch model of `kind` (`modeling.build`) and evaluates it on the test images;
    for the studied transfer model that fine-tunes, its linear probe (the head on the frozen
    backbone, before fine-tuning) is evaluated too, as the bar fine-tuning must clear."""
    p, y, split, classes, ev = data
    if kind == "scratch":
        cfg = {**cfg, "epochs": cfg["compare"]["random_init_epochs"]}
    model = build.build(kind, cfg, len(classes), p.info["image_size"], backbone)
    name = _name(kind, model, cfg)
    tr = cfg["transfer"]
    epochs = tr["head_epochs"] + tr["epochs"] if kind == "transfer" else cfg["epochs"]
    rows = np.concatenate([split["train"], split["val"]])
    k = trained.key(kind, backbone, cfg, p.images[rows], p.manifest["image_id"].iloc[rows], y[rows])
    kept = trained.load(kept_dir, k, model) if kept_dir else None
    if kept:
        note(f"{name}: trained before with this recipe, data and code (kept in {kept_dir})")
        res, probe = kept
    else:
        t = build.trainer(
            kind,
            model,
            p.images[split["train"]],
            y[split["train"]],
            *build.validation(p.images[split["val"]], y[split["val"]], cfg),
            cfg,
            len(classes),
        )
        res = run_to_end(t, epochs, label=name)
        probe = t.probe() if kind == "transfer" and backbone is None else None
        if kept_dir:
            trained.save(kept_dir, k, res, probe)
    key = backbone or kind
    r = _torch_result(name, key, res, data)
    checkpoint.save(r.model, models_dir / f"{key}.pt", **_meta(r, p, cfg))
    if probe is None:
        return [r]
    return [r, _torch_result(f"{model.name} (ImageNet, frozen: linear probe)", PROBE, probe, data)]


def _baseline(data, cfg) -> ModelResult:
    p, y, split, classes, ev = data
    pool, test = np.concatenate([split["train"], split["val"]]), split["test"]
    b = cfg["baseline"]
    search, seconds = baseline.fit_pca_svm(
        p.images[pool], y[pool], b["components"], b["image_size"], cfg["seed"]
    )
    t0 = time.perf_counter()
    probs = baseline.predict_proba(search, p.images[test], len(classes), b["image_size"])
    ips = len(test) / max(time.perf_counter() - t0, 1e-9)
    table = predictions_table(p.manifest["image_id"].to_numpy()[test], y[test], probs, classes)
    best = search.best_estimator_
    name = f"PCA + SVM ({best['svm'].kernel}, C={best['svm'].C:g})"
    n_params = int(best["pca"].components_.size + best["svm"].support_vectors_.size)
    return ModelResult(
        name, "baseline", table, report(table, classes, **ev), n_params, seconds, ips
    )


def _save(results: list[ModelResult], out_dir: Path) -> None:
    """Each model's test predictions and history: no wall times (the report shows them), so a
    run that loads its kept models writes the same bytes and the stages after it do not re-run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for r in results:
        r.predictions.to_csv(out_dir / f"predictions_{r.kind}.csv", index=False)
        if r.history is not None:
            r.history.to_csv(out_dir / f"history_{r.kind}.csv", index=False)


def _torch_result(name, kind, res, data) -> ModelResult:
    """Test-set predictions, metrics and speed of a trained torch model."""
    p, y, split, classes, ev = data
    test = split["test"]
    t0 = time.perf_counter()
    probs = predict_proba(res.model, p.images[test])
    ips = len(test) / max(time.perf_counter() - t0, 1e-9)
    table = predictions_table(p.manifest["image_id"].to_numpy()[test], y[test], probs, classes)
    return ModelResult(
        name,
        kind,
        table,
        report(table, classes, **ev),
        count_parameters(res.model),
        res.seconds,
        ips,
        history=res.history,
        best_epoch=res.best_epoch,
        model=res.model,
    )


def input_side(r: ModelResult, image_size: int) -> dict:
    """The side a torch model is fed at, and whether that upsamples the cached faces (a model
    never upsamples without saying so)."""
    side = getattr(r.model, "size", None)
    if side is None:
        return {}
    return {"input_px": int(side), "upsampled": bool(side > image_size)}


def summary(run: TrainRun, params: dict) -> dict:
    """The metrics file: deterministic numbers only (no timings), so equal runs give equal bytes."""
    out = {
        "task": run.task,
        "classes": run.classes,
        "split": run.split_sizes,
        "study_model": run.study,
        "resolution": {"cached_px": run.image_size, "auto": run.image_size_auto},
        "recipe": run.recipe,
        "models": {},
    }
    if run.chosen is not None:
        out["study_chosen_by"] = {"validation_macro_f1": run.chosen}
    for r in run.results:
        out["models"][r.kind] = {
            "name": r.name,
            "parameters": r.parameters,
            "best_epoch": r.best_epoch,
            **input_side(r, run.image_size),
            **{
                k: r.metrics[k]
                for k in (
                    "n",
                    "accuracy",
                    "macro_f1",
                    "weighted_f1",
                    "macro_precision",
                    "macro_recall",
                    "per_class",
                )
            },
            **{
                k: r.metrics[k]
                for k in ("positive", "sensitivity", "specificity", "precision", "npv")
                if k in r.metrics
            },
        }
    if run.paired is not None:
        out["paired"] = run.paired
    if run.finetune_vs_probe is not None:
        out["finetune_vs_probe"] = run.finetune_vs_probe
    if run.vs_random_init is not None:
        out["vs_random_init"] = run.vs_random_init
    return out
