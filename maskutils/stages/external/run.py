"""The `external` stage: the studied model (models/study.pt) on test sets from elsewhere.

Each set is prepared with the training data's prepare params (image size, decoding and quality
rules), its own source and aliases, and no split. Then, in order, images are dropped when their
class is not one the model knows, when they are exact or near copies of a training or
validation image (`copies`), and when an earlier kept image of the set is their near duplicate;
each count is kept, and the copies are shown beside the image they copy. What is left is scored
like the in-distribution test split, with intervals, and the **gap** (in-distribution minus
external, per metric and class) gets a bootstrap interval that resamples both sets. A set with
attributes is audited by group like the out-of-fold predictions (`fairness.analysis`, the bias
stage's settings), before and, with `mitigated`, after the bias stage's mitigation: the studied
model's predictions with the group prior correction counted on its training rows (`group_prior`),
or the same recipe retrained on the same rows, rebalanced. A set with no attribute to group by
(or no image scored) is not audited, and its metrics block says why. Nothing here feeds back into
training or the choice of model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from maskutils.core.labels import known_label
from maskutils.core.progress import note
from maskutils.fairness import analysis, group_prior, worst_cells
from maskutils.fairness.analysis import Audit
from maskutils.modeling import build, checkpoint, rebalance, recipes
from maskutils.modeling.evaluate import gap, predictions_table, report
from maskutils.modeling.fit import run_to_end
from maskutils.modeling.predict import predict_proba
from maskutils.prepare.params import SCHEMA as PREPARE
from maskutils.prepare.prepared import Prepared, load_prepared
from maskutils.prepare.run import run as prepare
from maskutils.stages.contract import Inputs
from maskutils.stages.external.copies import exact_copies, near_copies, within_set_duplicates


@dataclass
class ExternalSet:
    name: str
    spec: dict  # its params entry
    counts: dict  # images found, each reason for dropping one, used
    unknown_classes: dict  # raw label -> images dropped, for classes the model does not know
    removed: pd.DataFrame  # copies of pool images: file, reason, distance, the pool image's file
    table: pd.DataFrame  # predictions of the images scored
    rows: pd.DataFrame  # their manifest rows (attributes)
    metrics: dict
    gap: dict  # in-distribution minus external, per metric
    audit: Audit | None  # by group, when the set has attributes
    images: np.ndarray  # the scored images (for the mitigated model)
    pairs: np.ndarray  # the first removed copies, each followed by the pool image it copies
    unaudited: str | None = None  # why the set has no audit (None: it has one)


@dataclass
class ExternalStudy:
    classes: list[str]
    task: str
    study_model: str  # the train stage's kind of the studied model
    model_name: str
    in_distribution: dict  # the studied model's metrics on the in-distribution test split
    sets: list[ExternalSet]
    mitigation: dict | None  # the plan the mitigated model used (None: no mitigated model)
    audit_params: dict  # the bias stage's params, which the audits used


def run(inputs: Inputs, params: dict) -> ExternalStudy:
    """params: the external stage's. The studied model (models/study.pt) scores each set; its
    in-distribution test predictions are read from data/train, the audit settings are the bias
    stage's params (`inputs.also["bias"]`), the mitigation plan is the one in
    reports/metrics/bias.json, and each set's copies and removals are written to data/external."""
    p, bias_params = inputs.prepared, inputs.also["bias"]
    train_dir, out_dir = inputs.path("data/train"), inputs.path("data/external")
    bias_metrics = inputs.path("reports/metrics/bias.json")
    model, meta = checkpoint.load(inputs.path("models/study.pt"))
    cfg, classes, task = meta["params"], meta["classes"], meta["task"]
    ev = _evaluation(params, cfg, classes)
    kind = cfg["model"]
    inside = pd.read_csv(train_dir / f"predictions_{kind}.csv", dtype={"image_id": str})
    plan = _plan(params, bias_metrics)
    mitigated = None
    sets = []
    out_dir.mkdir(parents=True, exist_ok=True)  # dvc.yaml's output, even with no set
    for name, spec in params["sets"].items():
        note(f"{name}: preparing ({spec['kind']})")
        s = _score(name, spec, p, model, classes, task, ev, out_dir / name, params["gallery"])
        s.unaudited = analysis.nothing_to_audit(s.rows, bias_params)
        if s.unaudited is None:
            if plan is not None and mitigated is None:
                mitigated, plan = _mitigated(p, cfg, classes, plan, bias_params["threads"])
            s.audit = _audit(s, mitigated, bias_params, cfg, p)
        s.gap = gap(inside, s.table, classes, **ev) if len(s.table) else {}
        sets.append(s)
    return ExternalStudy(
        classes,
        task,
        kind,
        meta["name"],
        report(inside, classes, **ev),
        sets,
        plan if mitigated is not None else None,
        bias_params,
    )


def prepare_params(train_prepare: dict, spec: dict, image_size: int) -> dict:
    """The training data's prepare params with the set's source (and drawing, for synthetic),
    cached at the training data's side (`image_size`, resolved: `auto` must not choose anew)."""
    params = {
        **train_prepare,
        "image_size": image_size,
        "source": {"kind": spec["kind"], "root": spec["root"], "aliases": spec["aliases"]},
    }
    if spec["kind"] == "synthetic":
        syn = spec["synthetic"]
        params["synthetic"] = {
            **train_prepare["synthetic"],
            "n_images": syn["n_images"],
            "camera": syn["camera"],
            "spurious_cue": {"label": None, "fraction": 0.8},
        }
        params["seed"] = syn["seed"]
    return PREPARE.validate(params, origin="external set")


def _score(name, spec, p, model, classes, task, ev, out_dir: Path, shown: int) -> ExternalSet:
    if spec["kind"] != "synthetic" and not Path(spec["root"]).is_dir():
        raise FileNotFoundError(
            f"params/external.yaml: sets.{name}.root: dataset folder {spec['root']} not found"
        )
    params = prepare_params(p.info["params"], spec, p.info["image_size"])
    info = prepare(
        params,
        out_dir,
        progress=False,
        splits=False,
        aliases_at=f"sets.{name}.aliases in params/external.yaml",
    )
    ext = load_prepared(out_dir)
    df = ext.manifest
    pool_rows = p.rows("train", "val")
    pool = p.manifest.iloc[pool_rows].reset_index(drop=True)
    labels = [known_label(lab, task, classes) for lab in df["label"]]
    known = np.array([lab is not None for lab in labels], dtype=bool)
    exact = exact_copies(df, pool)
    near, bits = near_copies(df, pool, params["quality"]["hash_distance"])
    is_exact = known & (exact >= 0)
    is_near = known & ~is_exact & (near >= 0)
    kept = known & ~is_exact & ~is_near
    dup = within_set_duplicates(df, kept)
    keep = np.flatnonzero(kept & ~dup)
    counts = {
        "images": int(len(df)),
        "problems": int(info["n_problems"]),
        "quality_flagged": int((df["quality_flags"].fillna("") != "").sum()),
        "unknown_class": int((~known).sum()),
        "exact_copies": int(is_exact.sum()),
        "near_copies": int(is_near.sum()),
        "duplicates_within": int(dup.sum()),
        "used": int(len(keep)),
    }
    unknown = df.loc[~known, "label_raw"].astype(str).value_counts().sort_index()
    removed = _removed(df, pool, is_exact, is_near, exact, near, bits)
    first = np.flatnonzero(is_exact | is_near)[:shown]
    match = np.where(is_exact, exact, near)[first]
    pairs = np.stack([ext.images[first], p.images[pool_rows[match]]], 1).reshape(
        -1, *ext.images.shape[1:]
    )
    index = {c: k for k, c in enumerate(classes)}
    y = np.array([index[labels[k]] for k in keep], dtype=int)
    probs = predict_proba(model, ext.images[keep]) if len(keep) else np.zeros((0, len(classes)))
    table = predictions_table(df["image_id"].to_numpy()[keep], y, probs, classes)
    removed.to_csv(out_dir / "removed.csv", index=False)  # every copy, not only those shown
    table.to_csv(out_dir / "predictions.csv", index=False)
    note(f"{name}: {len(keep)} of {len(df)} images scored")
    return ExternalSet(
        name,
        spec,
        counts,
        {str(k): int(v) for k, v in unknown.items()},
        removed,
        table,
        df.iloc[keep].reset_index(drop=True),
        report(table, classes, **ev) if len(keep) else {},
        {},
        None,
        ext.images[keep],
        pairs,
    )


def _removed(df, pool, is_exact, is_near, exact, near, bits) -> pd.DataFrame:
    """The copies of pool images: each with its reason, distance and the pool image."""
    rows = []
    for k in np.flatnonzero(is_exact | is_near):
        j = exact[k] if is_exact[k] else near[k]
        rows.append(
            {
                "image_id": df["image_id"].iat[k],
                "file": df["file"].iat[k],
                "reason": "exact copy" if is_exact[k] else "near copy",
                "bits": 0 if is_exact[k] else int(bits[k]),
                "pool_image_id": pool["image_id"].iat[j],
                "pool_file": pool["file"].iat[j],
            }
        )
    cols = ["image_id", "file", "reason", "bits", "pool_image_id", "pool_file"]
    return pd.DataFrame(rows, columns=cols)


def _audit(s: ExternalSet, mitigated, bias_params, cfg, p) -> Audit:
    """The bias audit of a set's predictions (and the mitigated model's, when there is one)."""
    classes = s.metrics["classes"]
    table = s.table[["image_id", "true"]].copy()
    table["before"] = s.table["pred"].to_numpy()
    if mitigated is not None:
        table["after"] = mitigated(s)
    plant = p.info["params"]["split"]["plant_bias"]
    return analysis.analyse(table, s.rows, classes, bias_params, cfg, plant)


def _mitigated(p: Prepared, cfg: dict, classes: list[str], plan: dict, threads: int):
    """(the bias stage's mitigation as a function of a set to its predicted classes, the plan it
    used): the studied model's probabilities with the group prior correction counted on the
    train split, or the studied recipe retrained on the train split with the rebalancing."""
    task_classes, y = p.task(cfg["task"])
    if task_classes != classes:
        raise ValueError(
            f"models/study.pt knows {classes}, the prepared data {task_classes}: run `dvc repro`"
        )
    if plan["method"] == "group_prior":
        train = p.rows("train")
        keys = group_prior.group_keys(p.manifest.iloc[train], plan["by"])
        fitted = group_prior.fit(keys, y[train], len(classes), plan["strength"])

        def corrected(s: ExternalSet) -> list[str]:
            """A set without the `by` columns keeps its predictions: no group is known."""
            probs = s.table[[f"p_{c}" for c in classes]].to_numpy()
            known = all(a in s.rows.columns for a in plan["by"])
            keys = group_prior.group_keys(s.rows, plan["by"]) if known else [None] * len(probs)
            return [classes[k] for k in group_prior.apply(probs, keys, fitted).argmax(1)]

        return corrected, plan
    model, plan = _retrained(p, y, cfg, classes, plan, threads)
    return (lambda s: [classes[k] for k in predict_proba(model, s.images).argmax(1)]), plan


def _retrained(p: Prepared, y, cfg: dict, classes: list[str], plan: dict, threads: int):
    """(the studied recipe retrained on the train split with the bias stage's rebalancing, the
    plan it used). A `worst_*` method aims at the worst cells of the train split, found on its
    rows alone (the plan says which, in place of the bias stage's folds' cells)."""
    used = plan
    if plan["method"] in rebalance.WORST:
        sets = {"train": p.rows("train")}
        found = worst_cells.find(p, cfg, len(classes), sets, plan["by"], plan["count"], threads)
        cells = found["train"]
        keep = ("method", "by", "count", "boost")
        plan = {k: plan[k] for k in keep} | {"cells": [[c["group"], c["class"]] for c in cells]}
        used = {k: plan[k] for k in keep} | {
            "cells": [{**c, "class": classes[c["class"]]} for c in cells]
        }
    cfg = recipes.resolve(cfg, p.info)
    t = build.trainer_for(p, y, p.rows("train"), p.rows("val"), cfg, len(classes), plan)
    tr = cfg["transfer"]
    epochs = tr["head_epochs"] + tr["epochs"] if cfg["model"] == "transfer" else cfg["epochs"]
    return run_to_end(t, epochs, False, "mitigated model").model, used


def _plan(params: dict, bias_metrics: Path) -> dict | None:
    """The bias stage's mitigation plan, or None (no mitigated model)."""
    if not params["mitigated"] or not bias_metrics.is_file():
        return None
    plan = json.loads(bias_metrics.read_text()).get("mitigation")
    return plan if plan and plan["method"] != "none" else None


def _evaluation(params: dict, cfg: dict, classes: list[str]) -> dict:
    positive = cfg["evaluate"]["positive"]
    return dict(
        positive=positive if len(classes) == 2 and positive in classes else None,
        reps=params["bootstrap"],
        confidence=params["confidence"],
        seed=params["seed"],
    )


HEADLINE = ("n", "accuracy", "macro_f1", "per_class", "positive", "sensitivity", "specificity")


def summary(st: ExternalStudy, params: dict) -> dict:
    """The metrics file (reports/metrics/external.json): per set its counts, metrics, gap and
    audit; no paths of this machine beyond the params' own."""
    bias_params = st.audit_params
    return {
        "task": st.task,
        "classes": st.classes,
        "study_model": st.study_model,
        "model_name": st.model_name,
        "in_distribution": _headline(st.in_distribution),
        "mitigation": st.mitigation,
        "sets": {
            s.name: {
                "kind": s.spec["kind"],
                "root": s.spec["root"],
                "counts": s.counts,
                "unknown_classes": s.unknown_classes,
                "metrics": _headline(s.metrics),
                "gap": s.gap,
                "bias": (
                    analysis.audit_summary(s.audit, bias_params)
                    if s.audit
                    else analysis.unaudited(s.unaudited)
                ),
            }
            for s in st.sets
        },
    }


def _headline(metrics: dict) -> dict:
    return {k: metrics[k] for k in HEADLINE if k in metrics}
