"""Classification metrics from confusion matrices, one or a stack of bootstrap replicates.

Vectorised over bootstrap replicates: B resamples of N images cost a few array operations,
so 1,000-replicate intervals on every headline number stay cheap.
"""

from __future__ import annotations

import numpy as np

from maskutils.core.stats import resample


def confusion(y_true, y_pred, n: int) -> np.ndarray:
    """n x n counts, rows = true class, columns = predicted class."""
    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    return np.bincount(y_true * n + y_pred, minlength=n * n).reshape(n, n)


def _prf(cm: np.ndarray):
    """Per-class precision, recall, F1 of one (n x n) or many (B x n x n) confusion matrices."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(float)
    pred, true = cm.sum(-2), cm.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(pred > 0, tp / np.maximum(pred, 1), 0.0)
        recall = np.where(true > 0, tp / np.maximum(true, 1), 0.0)
        f1 = np.where(
            precision + recall > 0,
            2 * precision * recall / np.maximum(precision + recall, 1e-12),
            0.0,
        )
    return precision, recall, f1, true, pred


def present(cm: np.ndarray) -> np.ndarray:
    """Classes that occur as truth or prediction: what every macro average averages over
    (scikit-learn's convention)."""
    return (cm.sum(-1) + cm.sum(-2)) > 0


def macro_f1_from(cm: np.ndarray) -> np.ndarray:
    """Mean F1 over the classes `present` in (one or many) confusion matrices."""
    f1, mask = _prf(cm)[2], present(cm)
    return (f1 * mask).sum(-1) / np.maximum(mask.sum(-1), 1)


def macro_f1(y_true, y_pred, n: int) -> float:
    return float(macro_f1_from(confusion(y_true, y_pred, n)))


def per_class(cm: np.ndarray) -> dict[str, np.ndarray]:
    precision, recall, f1, support, _ = _prf(cm)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def binary_rates(cm: np.ndarray, positive: int) -> dict[str, float]:
    """Sensitivity, specificity, precision and negative predictive value for one positive class."""
    tp = cm[..., positive, positive]
    fn = cm[..., positive, :].sum(-1) - tp
    fp = cm[..., :, positive].sum(-1) - tp
    tn = cm.sum((-2, -1)) - tp - fn - fp
    div = lambda a, b: np.where(b > 0, a / np.maximum(b, 1), np.nan)  # noqa: E731
    return {
        "sensitivity": div(tp, tp + fn),
        "specificity": div(tn, tn + fp),
        "precision": div(tp, tp + fp),
        "npv": div(tn, tn + fn),
    }


def bootstrap_confusions(y_true, y_pred, n: int, reps: int, seed: int) -> np.ndarray:
    """reps x n x n confusion matrices of resampled (with replacement) image sets."""
    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    idx = resample(np.random.default_rng(seed), len(y_true), reps)
    codes = (np.arange(reps)[:, None] * n * n + y_true[idx] * n + y_pred[idx]).ravel()
    return np.bincount(codes, minlength=reps * n * n).reshape(reps, n, n)
