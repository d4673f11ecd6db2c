"""How far a model's confidence can be trusted: the top-label reliability diagram, expected
calibration error (ECE), Brier score and negative log-likelihood, each with a bootstrap interval
over images (`core.stats.resample`, the resampling every metric of the study uses).

The confidence of a prediction is its largest class probability. Confidences are put in `bins`
equal-width bins of [0, 1]; ECE is the mean over bins of |accuracy - mean confidence|, weighted
by the bin's share of images (Guo et al. 2017). Brier: the mean over images of the squared
distance between the probability vector and the one-hot true class (0 best, 2 worst). NLL: the
mean of -log p(true class), probabilities clipped at 1e-12.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from maskutils.core.stats import ci, resample

SCORES = ("ece", "brier", "nll", "accuracy")


def per_image(probs: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Each image's confidence, whether it is right, its Brier and its NLL term."""
    probs, y = np.asarray(probs, float), np.asarray(y, int)
    rows = np.arange(len(y))
    onehot = np.zeros_like(probs)
    onehot[rows, y] = 1.0
    return {
        "confidence": probs.max(1),
        "correct": (probs.argmax(1) == y).astype(float),
        "brier": ((probs - onehot) ** 2).sum(1),
        "nll": -np.log(np.clip(probs[rows, y], 1e-12, None)),
    }


def bin_of(confidence: np.ndarray, bins: int) -> np.ndarray:
    """The equal-width bin of each confidence (1.0 in the last bin)."""
    return np.minimum((np.asarray(confidence) * bins).astype(int), bins - 1)


def ece_of(b: np.ndarray, confidence: np.ndarray, correct: np.ndarray, bins: int, draws=None):
    """ECE of the images (their bins `b`), or one ECE per row of `draws` (resampled indices)."""
    idx = np.arange(len(b))[None] if draws is None else draws
    offset = np.arange(len(idx))[:, None] * bins
    flat = (b[idx] + offset).ravel()
    size = len(idx) * bins
    n = np.bincount(flat, minlength=size).reshape(len(idx), bins)
    gap = np.bincount(flat, (correct[idx] - confidence[idx]).ravel(), minlength=size)
    out = np.abs(gap.reshape(len(idx), bins)).sum(1) / np.maximum(n.sum(1), 1)
    return out[0] if draws is None else out


def reliability(probs: np.ndarray, y: np.ndarray, bins: int) -> pd.DataFrame:
    """The reliability diagram's bins: edges, images, mean confidence and accuracy (NaN when
    empty)."""
    img = per_image(probs, y)
    b = bin_of(img["confidence"], bins)
    n = np.bincount(b, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(b, img["confidence"], minlength=bins) / n
        acc = np.bincount(b, img["correct"], minlength=bins) / n
    edges = np.linspace(0, 1, bins + 1)
    return pd.DataFrame(
        {"low": edges[:-1], "high": edges[1:], "n": n, "confidence": conf, "accuracy": acc}
    )


def scores(
    models: dict[str, np.ndarray], y: np.ndarray, bins: int, reps: int, confidence: float, seed: int
) -> dict:
    """Every score of every model's probabilities on the same images, each with an interval, and
    each later model's paired change from the first (the same resamples)."""
    draws = resample(np.random.default_rng(seed), len(y), reps)
    point, boot = {}, {}
    for name, probs in models.items():
        img = per_image(probs, y)
        b = bin_of(img["confidence"], bins)
        point[name] = {"ece": ece_of(b, img["confidence"], img["correct"], bins)}
        boot[name] = {"ece": ece_of(b, img["confidence"], img["correct"], bins, draws)}
        for k, key in (("brier", "brier"), ("nll", "nll"), ("accuracy", "correct")):
            point[name][k] = img[key].mean()
            boot[name][k] = img[key][draws].mean(1)
    out = {
        name: {k: ci(point[name][k], boot[name][k], confidence) for k in SCORES} for name in models
    }
    first = next(iter(models))
    for name in list(models)[1:]:
        out[f"change_{name}"] = {
            k: ci(point[name][k] - point[first][k], boot[name][k] - boot[first][k], confidence)
            for k in SCORES
        }
    return out
