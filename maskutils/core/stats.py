"""Resampling statistics, one implementation for every stage: bootstrap draws (over items, within
groups, over clusters), percentile intervals, permutation tests, multiple-comparison adjustment,
t- and Wilson intervals.

Every random draw comes from a `numpy.random.Generator` the caller seeds, so equal inputs and
seeds give equal numbers. An interval is a dict {"value", "ci_low", "ci_high"}; a part that is
undefined (an empty group, a class absent) is None, never NaN, so metrics files stay plain JSON.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from scipy import stats


def resample(rng: np.random.Generator, n: int, reps: int) -> np.ndarray:
    """reps x n indices into n items, drawn with replacement: the bootstrap's one draw."""
    return rng.integers(0, n, size=(reps, n))


def resample_within(rng: np.random.Generator, groups: np.ndarray, reps: int) -> np.ndarray:
    """reps x N row indices: each group's rows resampled with replacement among themselves."""
    draws = np.empty((reps, len(groups)), dtype=np.int64)
    for k in np.unique(groups):
        rows = np.flatnonzero(groups == k)
        draws[:, rows] = rows[resample(rng, len(rows), reps)]
    return draws


def permute_within(rng: np.random.Generator, labels: np.ndarray, strata: np.ndarray, reps: int):
    """reps x N copies of `labels`, each shuffled among the rows of the same stratum."""
    out = np.empty((reps, len(labels)), dtype=labels.dtype)
    for c in np.unique(strata):
        rows = np.flatnonzero(strata == c)
        out[:, rows] = rng.permuted(np.broadcast_to(labels[rows], (reps, len(rows))), axis=1)
    return out


def permutation_p(null: np.ndarray, observed: float) -> float:
    """Share of permuted statistics at least the observed one, counting the observed itself."""
    return float((1 + np.sum(null >= observed - 1e-12)) / (len(null) + 1))


ADJUSTMENTS = {"holm": "Holm", "bh": "Benjamini-Hochberg"}


def adjust_p(p_values, method: str = "holm") -> np.ndarray:
    """p-values adjusted for the m tests of one family: `holm` (step-down, controls the chance of
    any false alarm) or `bh` (Benjamini-Hochberg step-up, controls the expected share of false
    alarms among the findings). A finding is one whose adjusted p-value is below the level."""
    p = np.asarray(p_values, float)
    if method not in ADJUSTMENTS:
        raise ValueError(f"unknown adjustment {method!r}; known: {', '.join(ADJUSTMENTS)}")
    m = len(p)
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        steps = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:
        steps = np.minimum.accumulate(((m / np.arange(1, m + 1)) * ranked)[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(steps, 1.0)
    return out


def interval(samples, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap samples (NaNs, e.g. empty denominators, ignored)."""
    samples = np.asarray(samples, float)
    samples = samples[~np.isnan(samples)]
    if not len(samples):
        return (float("nan"), float("nan"))
    a = (1 - confidence) / 2
    return float(np.quantile(samples, a)), float(np.quantile(samples, 1 - a))


def _num(x) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


def ci(value, samples, confidence: float = 0.95) -> dict:
    """{"value", "ci_low", "ci_high"} of a point estimate and its bootstrap samples."""
    lo, hi = interval(samples, confidence)
    return {"value": _num(value), "ci_low": _num(lo), "ci_high": _num(hi)}


def bootstrap_mean(values, reps: int, confidence: float, seed: int) -> dict:
    """Mean (NaNs ignored) with a percentile bootstrap interval over the values, and their n."""
    v = np.asarray(values, float)
    v = v[~np.isnan(v)]
    if not len(v):
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    samples = v[resample(np.random.default_rng(seed), len(v), reps)].mean(1)
    return {**ci(v.mean(), samples, confidence), "n": int(len(v))}


def bootstrap_ratio(k: np.ndarray, n: np.ndarray, reps: int, confidence: float, rng) -> list | None:
    """Percentile interval of sum(k) / sum(n) over clusters (e.g. scenes) resampled with
    replacement: items within one cluster are not independent."""
    if n.sum() == 0 or len(n) == 0:
        return None
    idx = resample(rng, len(n), reps)
    kk, nn = k[idx].sum(1), n[idx].sum(1)
    vals = kk[nn > 0] / nn[nn > 0]
    if not len(vals):
        return None
    return list(interval(vals, confidence))


def wilson(k: int, n: int, confidence: float = 0.95) -> list[float] | None:
    """Wilson score interval for k successes in n trials; None when n is 0."""
    if n == 0:
        return None
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [float(max(0.0, centre - half)), float(min(1.0, centre + half))]


def t_interval(values, confidence: float = 0.95, bounds=(-np.inf, np.inf)) -> dict:
    """Mean, standard deviation and a t-interval of the mean (e.g. across folds), cut to
    `bounds`, the values' own range (a score in [0, 1] has no mean above 1)."""
    v = np.asarray(values, dtype=float)
    mean, sd = float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0
    if len(v) > 1:
        half = float(stats.t.ppf((1 + confidence) / 2, len(v) - 1) * sd / np.sqrt(len(v)))
    else:
        half = float("nan")
    low, high = float(max(mean - half, bounds[0])), float(min(mean + half, bounds[1]))
    return {"mean": mean, "sd": sd, "ci_low": low, "ci_high": high}


def mcnemar(only_a: int, only_b: int) -> float:
    """McNemar's exact two-sided p-value: of the items exactly one of two classifiers gets right,
    `only_a` went to the first; under no difference each is a fair coin."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    return float(stats.binomtest(min(only_a, only_b), n, 0.5).pvalue)


def sign(d: dict) -> int | None:
    """The one rule every verdict uses: +1 when an interval ({"ci_low", "ci_high"}) lies above 0,
    -1 below 0, 0 when it holds 0, None when it is missing."""
    low, high = d.get("ci_low"), d.get("ci_high")
    if low is None or high is None:
        return None
    return 1 if low > 0 else -1 if high < 0 else 0
