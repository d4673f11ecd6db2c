"""Bias audit: how well the model does for each group of an attribute, and how sure we are.

Every metric compares the true class with the predicted class of the images in one group; the
group (gender, age, ...) only decides which images are counted, and is never passed as a label
(`group_metrics` refuses labels that are not class names). For every group metric a bootstrap
interval resamples images within each group. The gap between the best and the worst group is
read from the same resamples (those two groups fixed), and a permutation test (group labels
shuffled among images of the same true class, so every group keeps its class mix) asks whether
the groups differ at all. Groups, or a group's images of one class, smaller than `min_group` are
shown but not judged. Before/after comparisons are paired: both models' predictions of the same
images go through the same resamples.

These tests are exploratory: `adjust` treats every gap of every grouping as one family and judges
each on its adjusted p-value. A hypothesis declared before the data were seen (the planted bias)
has its own one-sided test, `directed`, outside that family.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame
from sklearn.metrics import accuracy_score, f1_score

from maskutils.core import metrics as m
from maskutils.core.stats import (
    adjust_p,
    ci,
    permutation_p,
    permute_within,
    resample,
    resample_within,
)

KNOWN = ("gender", "age", "skin_tone")
SEP = " / "


# ---- groups -----------------------------------------------------------------------------------


def resolve(manifest: pd.DataFrame, attributes, intersections) -> tuple[list[str], list[list[str]]]:
    """The attributes and intersections to audit. 'auto': the known attributes the manifest has,
    and gender x age when it has both. Named columns that are missing are an error."""
    if attributes == "auto":
        attributes = [a for a in KNOWN if a in manifest.columns and manifest[a].notna().any()]
    if intersections == "auto":
        intersections = [["gender", "age"]] if {"gender", "age"} <= set(attributes) else []
    for name in [*attributes, *(a for pair in intersections for a in pair)]:
        if name not in manifest.columns:
            raise KeyError(
                f"bias: the manifest has no attribute column {name!r} "
                f"(columns: {', '.join(manifest.columns)})"
            )
    return list(attributes), [list(pair) for pair in intersections]


def group_labels(manifest: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Group of each manifest row ('female' or 'female / child'); NaN where a value is unknown."""
    parts = [manifest[c].astype("string") for c in columns]
    out = parts[0]
    for part in parts[1:]:
        out = out + SEP + part
    return out.astype(object).where(out.notna(), np.nan).rename(" x ".join(columns))


# ---- metrics ----------------------------------------------------------------------------------


def metric_names(classes: list[str]) -> list[str]:
    names = ["accuracy", "macro_f1"] + [f"recall_{c}" for c in classes]
    return names + (["miss_rate_no_mask"] if len(classes) == 2 and "no_mask" in classes else [])


def lower_is_better(name: str) -> bool:
    return name.startswith("miss_rate")


def class_codes(values, classes: list[str], what: str) -> np.ndarray:
    index = {c: k for k, c in enumerate(classes)}
    codes = pd.Series(values).map(index)
    if codes.isna().any():
        bad = sorted(set(pd.Series(values)[codes.isna()].astype(str)))[:5]
        raise ValueError(
            f"{what} holds {bad}, which are not class names ({', '.join(classes)}): "
            "metrics compare true and predicted classes; group ids are never labels"
        )
    return codes.to_numpy(int)


def from_confusions(cm: np.ndarray, classes: list[str]) -> dict[str, np.ndarray]:
    """Every metric of (..., C, C) confusion stacks; NaN where a denominator is empty."""
    total = cm.sum((-2, -1))
    support = cm.sum(-1)
    diag = np.diagonal(cm, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "accuracy": np.where(
                total > 0, np.trace(cm, axis1=-2, axis2=-1) / np.maximum(total, 1), np.nan
            ),
            "macro_f1": np.where(total > 0, m.macro_f1_from(cm), np.nan),
        }
        for k, c in enumerate(classes):
            out[f"recall_{c}"] = np.where(
                support[..., k] > 0, diag[..., k] / np.maximum(support[..., k], 1), np.nan
            )
    if "miss_rate_no_mask" in metric_names(classes):
        out["miss_rate_no_mask"] = 1 - out["recall_no_mask"]
    return out


def sizes(g: np.ndarray, y: np.ndarray, n_groups: int, n_classes: int):
    """(images per group, G x C images per group and class)."""
    support = np.stack([np.bincount(g[y == k], minlength=n_groups) for k in range(n_classes)], 1)
    return np.bincount(g, minlength=n_groups), support


def images_counted(name: str, n: np.ndarray, support: np.ndarray, classes: list[str]) -> np.ndarray:
    """How many images a metric of each group is computed from."""
    if name.startswith(("recall_", "miss_rate_")):
        c = "no_mask" if name.startswith("miss_rate") else name[len("recall_") :]
        return support[:, classes.index(c)]
    return n


def group_metrics(true, pred, groups, classes: list[str]) -> pd.DataFrame:
    """Point estimates per group with fairlearn's MetricFrame: n, accuracy, macro-F1 and the
    recall of every class (columns recall_<class>), from true vs predicted class names."""
    y, p = class_codes(true, classes, "true"), class_codes(pred, classes, "pred")
    fns = {
        "n": lambda a, b: len(a),
        "accuracy": accuracy_score,
        "macro_f1": lambda a, b: f1_score(
            a, b, labels=sorted(set(a) | set(b)), average="macro", zero_division=0
        ),
    }
    for k, c in enumerate(classes):
        fns[f"recall_{c}"] = partial(_recall_of, k=k)
    frame = MetricFrame(
        metrics=fns, y_true=y, y_pred=p, sensitive_features=np.asarray(groups, dtype=object)
    )
    out = frame.by_group
    out.index = out.index.astype(str)
    if "miss_rate_no_mask" in metric_names(classes):
        out["miss_rate_no_mask"] = 1 - out["recall_no_mask"]
    return out


def _recall_of(y_true, y_pred, k: int) -> float:
    """Recall of class k; NaN when the group has none of it."""
    mask = np.asarray(y_true) == k
    return float((np.asarray(y_pred)[mask] == k).mean()) if mask.any() else np.nan


# ---- the audit --------------------------------------------------------------------------------


def group_index(groups: pd.Series) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(rows with a known group, group names, group code of those rows)."""
    known = np.flatnonzero(pd.Series(groups).notna().to_numpy())
    codes, names = pd.factorize(pd.Series(groups).iloc[known].astype(str), sort=True)
    return known, list(names), codes


def _confusions(y, preds, g, n_groups, n_classes, draws=None) -> list[np.ndarray]:
    """Per group confusion matrices for each prediction vector; with `draws` (R x N row indices)
    one stack per resample, R x G x C x C."""
    if draws is None:
        draws = np.arange(len(y))[None]
    reps = len(draws)
    base = (np.arange(reps)[:, None] * n_groups + g[draws]) * n_classes + y[draws]
    size = reps * n_groups * n_classes * n_classes
    return [
        np.bincount((base * n_classes + p[draws]).ravel(), minlength=size).reshape(
            reps, n_groups, n_classes, n_classes
        )
        for p in preds
    ]


def audit(
    true,
    preds: dict[str, np.ndarray],
    groups: pd.Series,
    classes: list[str],
    *,
    min_group: int = 30,
    reps: int = 1000,
    permutations: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """Group metrics with intervals, best-worst gaps and permutation p-values, for one attribute.

    `preds`: predicted class names per model ({"before": ..., "after": ...}); every model is
    judged on the same images and resamples; gaps keep the first model's best and worst groups,
    so `change` (first minus later gap, paired) says whether a remedy closed that gap.
    """
    known, names, g = group_index(groups)
    y = class_codes(np.asarray(true, dtype=object)[known], classes, "true")
    p = {
        k: class_codes(np.asarray(v, dtype=object)[known], classes, f"pred ({k})")
        for k, v in preds.items()
    }
    G, C, models = len(names), len(classes), list(p)
    rng = np.random.default_rng(seed)
    true_names, group_names = np.asarray(classes)[y], np.asarray(names)[g]
    point = {}
    for mod in models:
        frame = group_metrics(
            true_names, np.asarray(classes)[p[mod]], group_names, classes
        ).reindex(names)
        point[mod] = {k: frame[k].to_numpy(float) for k in metric_names(classes)}
    draws = resample_within(rng, g, reps)
    boot = dict(
        zip(
            models,
            (
                from_confusions(cm, classes)
                for cm in _confusions(y, list(p.values()), g, G, C, draws)
            ),
        )
    )
    null = from_confusions(
        permuted_confusions(y, p[models[0]], permute_within(rng, g, y, permutations), G, C),
        classes,
    )
    n, support = sizes(g, y, G, C)
    out = {
        "groups": {name: {"n": int(n[i])} for i, name in enumerate(names)},
        "gaps": {},
        "unknown": int(len(groups) - len(known)),
    }
    for metric in metric_names(classes):
        counted = images_counted(metric, n, support, classes)
        judged = counted >= min_group
        for i, name in enumerate(names):
            out["groups"][name][metric] = {
                "n": int(counted[i]),
                "judged": bool(judged[i]),
                **{
                    mod: ci(point[mod][metric][i], boot[mod][metric][:, i], confidence)
                    for mod in models
                },
            }
        if judged.sum() >= 2:
            out["gaps"][metric] = _gap(
                metric,
                names,
                judged,
                point,
                boot,
                models,
                confidence,
                _range_p(null[metric], point[models[0]][metric], judged),
            )
    return out


def _gap(metric, names, judged, point, boot, models, confidence, p_value) -> dict:
    first = point[models[0]][metric]
    sign = -1.0 if lower_is_better(metric) else 1.0
    idx = np.flatnonzero(judged)
    best, worst = idx[np.argmax(sign * first[idx])], idx[np.argmin(sign * first[idx])]
    gap = {"best": names[best], "worst": names[worst], "p_value": p_value, "p_adjusted": p_value}
    samples = {}
    for mod in models:
        v, b = point[mod][metric], boot[mod][metric]
        samples[mod] = sign * (b[:, best] - b[:, worst])
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.minimum(b[:, best], b[:, worst]) / np.maximum(b[:, best], b[:, worst])
            ratio_point = (
                min(v[best], v[worst]) / max(v[best], v[worst])
                if max(v[best], v[worst]) > 0
                else np.nan
            )
        gap[mod] = {
            "difference": ci(sign * (v[best] - v[worst]), samples[mod], confidence),
            "ratio": ci(ratio_point, ratio, confidence),
        }
    gap["supported"] = _supported(gap, models[0], confidence)
    for mod in models[1:]:
        change = gap[models[0]]["difference"]["value"] - gap[mod]["difference"]["value"]
        gap[f"change_{mod}"] = ci(change, samples[models[0]] - samples[mod], confidence)
    return gap


def _supported(gap: dict, first: str, confidence: float) -> bool:
    """A gap is supported when its (adjusted) p-value is below the level and its interval excludes
    0."""
    lo = gap[first]["difference"]["ci_low"]
    return bool(gap["p_adjusted"] < 1 - confidence and lo is not None and lo > 0)


def adjust(results: dict, method: str, confidence: float, first: str) -> int:
    """Adjusts the p-values of every gap of every grouping (`results`: grouping -> audit) as one
    family (`stats.adjust_p`), and judges each gap of model `first` on its adjusted p-value.
    Returns the family's size."""
    gaps = [gap for res in results.values() for gap in res["gaps"].values()]
    for gap, q in zip(gaps, adjust_p([g["p_value"] for g in gaps], method)):
        gap["p_adjusted"] = float(q)
        gap["supported"] = _supported(gap, first, confidence)
    return len(gaps)


def permuted_confusions(y, p, perm_g, n_groups, n_classes) -> np.ndarray:
    """R x G x C x C confusion matrices with the group labels of each shuffle; `p`: one prediction
    per row, or one row of predictions per shuffle."""
    reps = len(perm_g)
    p = np.broadcast_to(p, perm_g.shape)
    codes = ((np.arange(reps)[:, None] * n_groups + perm_g) * n_classes + y[None]) * n_classes + p
    return np.bincount(codes.ravel(), minlength=reps * n_groups * n_classes**2).reshape(
        reps, n_groups, n_classes, n_classes
    )


def _range_p(null: np.ndarray, observed: np.ndarray, judged: np.ndarray) -> float:
    """Permutation p-value of the range (best minus worst) across judged groups; `null`: R x G
    values of one metric under within-class shuffles."""
    spread = lambda v: np.nanmax(v[..., judged], -1) - np.nanmin(v[..., judged], -1)  # noqa: E731
    return permutation_p(spread(null), spread(observed))


def split_off(groups: pd.Series, group: str) -> pd.Series:
    """0 for the images of `group`, 1 for every other image with a known group, NaN for the
    rest: the two sides of a directed test."""
    values = pd.Series(groups)
    present = sorted(values.dropna().astype(str).unique())
    if group not in present:
        raise ValueError(f"group {group!r} is not a value of {values.name} ({', '.join(present)})")
    return values.map(lambda v: v if pd.isna(v) else int(str(v) != group))


def sided(direction: str):
    """The directed test's statistic from (..., 2) values (group, rest): positive when the group's
    value is `direction` ('lower' or 'higher') than the rest's."""
    sign = 1.0 if direction == "lower" else -1.0
    return lambda v: sign * (v[..., 1] - v[..., 0])


def directed(
    true,
    preds: dict[str, np.ndarray],
    groups: pd.Series,
    classes: list[str],
    *,
    group: str,
    metric: str,
    direction: str,
    min_group: int = 30,
    reps: int = 1000,
    permutations: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict:
    """A pre-registered one-sided test: is `metric` of `group` `direction` ('lower' or 'higher')
    than that of all other images with a known group, pooled? The difference (rest minus group
    for 'lower') has a bootstrap interval (images resampled within the group and within the
    rest); its p-value is one-sided, from shuffles of the two sides' labels among images of the
    same true class. `found`: both sides judged and p below 1 - confidence. Every later model has
    the paired change of the difference (positive: narrower)."""
    if metric not in metric_names(classes):
        raise ValueError(f"no metric {metric!r}; metrics: {', '.join(metric_names(classes))}")
    two = split_off(groups, group)
    known = np.flatnonzero(two.notna().to_numpy())
    side = two.iloc[known].to_numpy(np.int64)
    y = class_codes(np.asarray(true, dtype=object)[known], classes, "true")
    p = [
        class_codes(np.asarray(v, dtype=object)[known], classes, f"pred ({k})")
        for k, v in preds.items()
    ]
    models, C, stat = list(preds), len(classes), sided(direction)
    rng = np.random.default_rng([seed, 1])
    point = [from_confusions(cm[0], classes)[metric] for cm in _confusions(y, p, side, 2, C)]
    boot = [
        from_confusions(cm, classes)[metric]
        for cm in _confusions(y, p, side, 2, C, resample_within(rng, side, reps))
    ]
    counted = images_counted(metric, *sizes(side, y, 2, C), classes)
    judged = bool(counted.min() >= min_group)
    out = {
        "group": group,
        "metric": metric,
        "direction": direction,
        "n": {"group": int(counted[0]), "rest": int(counted[1])},
        "judged": judged,
    }
    for mod, v, b in zip(models, point, boot):
        out[mod] = {
            "group": ci(v[0], b[:, 0], confidence),
            "rest": ci(v[1], b[:, 1], confidence),
            "difference": ci(stat(v), stat(b), confidence),
        }
    for mod, v, b in list(zip(models, point, boot))[1:]:
        out[f"change_{mod}"] = ci(stat(point[0]) - stat(v), stat(boot[0]) - stat(b), confidence)
    if judged:
        null = from_confusions(
            permuted_confusions(y, p[0], permute_within(rng, side, y, permutations), 2, C),
            classes,
        )[metric]
        out["p_value"] = permutation_p(stat(null), stat(point[0]))
    else:
        out["p_value"] = None
    out["found"] = bool(judged and out["p_value"] < 1 - confidence)
    return out


def overall(
    true, preds: dict[str, np.ndarray], classes: list[str], reps: int, confidence: float, seed: int
) -> dict:
    """Macro-F1 and accuracy of every model on all images, and each later model's change from the
    first, paired (the same resamples)."""
    y = class_codes(true, classes, "true")
    p = {k: class_codes(v, classes, f"pred ({k})") for k, v in preds.items()}
    draws = resample(np.random.default_rng(seed), len(y), reps)
    g = np.zeros(len(y), dtype=int)
    models = list(p)
    point = [
        from_confusions(cm[0, 0], classes)
        for cm in _confusions(y, list(p.values()), g, 1, len(classes))
    ]
    boot = [
        from_confusions(cm[:, 0], classes)
        for cm in _confusions(y, list(p.values()), g, 1, len(classes), draws)
    ]
    out = {
        mod: {k: ci(point[i][k], boot[i][k], confidence) for k in ("accuracy", "macro_f1")}
        for i, mod in enumerate(models)
    }
    for i, mod in enumerate(models[1:], 1):
        out[f"change_{mod}"] = {
            k: ci(point[i][k] - point[0][k], boot[i][k] - boot[0][k], confidence)
            for k in ("accuracy", "macro_f1")
        }
    return out
