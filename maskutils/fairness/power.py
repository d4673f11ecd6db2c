"""Minimum detectable gap: how large a gap the audit would find, at its own group sizes.

Estimated from the audited predictions by simulation. One repeat: the group labels are shuffled
among images of the same true class (a copy of the data with the real group sizes, class mix and
errors, and no gap between groups); then a gap of size d is put between one target group and the
rest: for every class c, k of the rest's wrong predictions of c are made right and k of the
target's right predictions of c take over those wrong classes. The data keep their counts of
(true, predicted) pairs, so the error rates, the test's noise and its permutation null are those
of the real data (the null is drawn once). Then the test runs again. At each d of a grid,
`repeats` repeats give the power (the share found); the minimum detectable gap is the gap
(target vs the rest pooled, in the metric's own units) at the smallest d found with the wanted
power (the grid stops there).

The exploratory test is the permutation test of the range at the level alpha / m: what one real
gap among the m tests of the family must pass after the Holm adjustment (and the least a
Benjamini-Hochberg finding needs). Its target is the group with the fewest images the metric
counts, the hardest to judge, so a gap this large against any group would be found at least as
often. The pre-registered test is one-sided at alpha; its target is the side the hypothesis says
is worse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from maskutils.core.stats import permutation_p, permute_within
from maskutils.fairness.audit import (
    class_codes,
    from_confusions,
    group_index,
    images_counted,
    lower_is_better,
    metric_names,
    permuted_confusions,
    sided,
    sizes,
    split_off,
)


def exploratory(
    true,
    pred,
    groups: pd.Series,
    classes: list[str],
    *,
    min_group: int,
    level: float,
    mde: dict,
    permutations: int,
    seed: int,
) -> dict[str, dict]:
    """metric -> its minimum detectable gap (`summary`), for every metric with at least two
    judged groups; `level`: the raw p-value one real gap must pass (alpha / family size)."""
    known, names, g = group_index(groups)
    y, p = _rows(true, pred, known, classes)
    n, support = sizes(g, y, len(names), len(classes))
    by_target: dict[int, dict] = {}
    for metric in metric_names(classes):
        counted = images_counted(metric, n, support, classes)
        judged = counted >= min_group
        if judged.sum() >= 2:
            idx = np.flatnonzero(judged)
            target = int(idx[np.argmin(counted[idx])])
            by_target.setdefault(target, {})[metric] = (_range(judged), level, int(counted[target]))
    out = {}
    for target, tests in sorted(by_target.items()):
        rng = np.random.default_rng([seed, 2, target])
        curves = power_curves(y, p, g, len(names), classes, target, tests, mde, permutations, rng)
        for metric, curve in curves.items():
            out[metric] = summary(curve, names[target], tests[metric][2], level, mde["power"])
    return {m: out[m] for m in metric_names(classes) if m in out}


def preregistered(
    true,
    pred,
    groups: pd.Series,
    classes: list[str],
    *,
    group: str,
    metric: str,
    direction: str,
    alpha: float,
    mde: dict,
    permutations: int,
    seed: int,
) -> dict:
    """The minimum detectable gap of the one-sided test of `metric` of `group` against the rest
    (`audit.directed`): the errors go to the side the hypothesis says is worse."""
    two = split_off(groups, group)
    known = np.flatnonzero(two.notna().to_numpy())
    side = two.iloc[known].to_numpy(np.int64)
    y, p = _rows(true, pred, known, classes)
    worse = 0 if (direction == "lower") != lower_is_better(metric) else 1
    n = images_counted(metric, *sizes(side, y, 2, len(classes)), classes)
    tests = {metric: (sided(direction), alpha, int(n[worse]))}
    rng = np.random.default_rng([seed, 3])
    curve = power_curves(y, p, side, 2, classes, worse, tests, mde, permutations, rng)[metric]
    return summary(curve, group if worse == 0 else "rest", int(n[worse]), alpha, mde["power"])


def power_curves(y, p, g, n_groups, classes, target, tests, mde, permutations, rng) -> dict:
    """metric -> [{share, gap, power}] over the grid `mde["gaps"]`, up to the first share every
    test finds with the wanted power. `tests`: metric -> (statistic of (..., G) group values,
    level, n); a repeat finds the gap when the test's permutation p-value is below the level.
    `gap`: how much the injection widened the gap between the target and the rest, pooled (the
    mean over repeats)."""
    C = len(classes)
    shuffles = permute_within(rng, g, y, mde["repeats"])
    null_groups = permute_within(rng, g, y, permutations)
    null = from_confusions(permuted_confusions(y, p, null_groups, n_groups, C), classes)
    sides = (shuffles != target).astype(np.int64)  # 0: the target, 1: the rest
    base = from_confusions(permuted_confusions(y, p, sides, 2, C), classes)
    orders = [_candidates(rng, y, p, s == 0, C) for s in sides]
    curves: dict[str, list] = {metric: [] for metric in tests}
    for share in mde["gaps"]:
        injected = np.stack([_inject(p, order, share) for order in orders])
        seen = from_confusions(permuted_confusions(y, injected, shuffles, n_groups, C), classes)
        pooled = from_confusions(permuted_confusions(y, injected, sides, 2, C), classes)
        for metric, (statistic, level, _) in tests.items():
            sign = -1.0 if lower_is_better(metric) else 1.0
            widened = sign * (np.diff(pooled[metric], axis=1) - np.diff(base[metric], axis=1))
            null_stat = statistic(null[metric])
            found = [permutation_p(null_stat, s) < level for s in statistic(seen[metric])]
            curves[metric].append(
                {"share": share, "gap": float(np.mean(widened)), "power": float(np.mean(found))}
            )
        if all(curve[-1]["power"] >= mde["power"] for curve in curves.values()):
            break
    return curves


def summary(curve: list, target: str, n: int, level: float, power: float) -> dict:
    """The smallest gap of the curve found with at least `power` (None: none on the grid)."""
    hit = next((c for c in curve if c["power"] >= power), None)
    return {
        "gap": None if hit is None else round(hit["gap"], 6),
        "power": power,
        "target": target,
        "n": n,
        "level": level,
        "curve": [{k: round(v, 6) for k, v in c.items()} for c in curve],
    }


def _rows(true, pred, known, classes) -> tuple[np.ndarray, np.ndarray]:
    return (
        class_codes(np.asarray(true, dtype=object)[known], classes, "true"),
        class_codes(np.asarray(pred, dtype=object)[known], classes, "pred"),
    )


def _range(judged: np.ndarray):
    return lambda v: np.nanmax(v[..., judged], -1) - np.nanmin(v[..., judged], -1)


def _candidates(rng, y, p, in_target, n_classes: int) -> list[tuple]:
    """Per class c: the target's right predictions of c and the rest's wrong ones, each in a
    random order (a larger gap of one repeat turns over more of the same rows), and how many
    images of c each side has."""
    out = []
    for c in range(n_classes):
        target, rest = in_target & (y == c), ~in_target & (y == c)
        out.append(
            (
                rng.permutation(np.flatnonzero(target & (p == c))),
                rng.permutation(np.flatnonzero(rest & (p != c))),
                int(target.sum()),
                int(rest.sum()),
            )
        )
    return out


def _inject(p, candidates, share: float) -> np.ndarray:
    """A copy of `p` with a gap of about `share` between the target and the rest on every class's
    recall, the counts of (true, predicted) pairs unchanged: for every class c, the first k of
    the rest's wrong predictions of c become right and the first k of the target's right ones
    take over those wrong classes, with k (1 / target's images of c + 1 / rest's) = share (at
    most what either side has)."""
    out = p.copy()
    for c, (right, wrong, n_target, n_rest) in enumerate(candidates):
        if n_target and n_rest:
            k = min(int(round(share / (1 / n_target + 1 / n_rest))), len(right), len(wrong))
            out[right[:k]] = p[wrong[:k]]
            out[wrong[:k]] = c
    return out
