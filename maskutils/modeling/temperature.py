"""Temperature scaling (Guo et al. 2017): one number T divides every logit, chosen to minimise the
negative log-likelihood of validation predictions. It changes the confidence of every prediction
and none of the predicted classes (argmax is unchanged for T > 0). Fitted on validation images
only; the calibration stage scores it on the test split."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

#: the search range of log T: T from 1/20 to 20
LOG_RANGE = (-3.0, 3.0)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, float) / temperature
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def nll(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of the true classes at temperature T."""
    z = np.asarray(logits, float) / temperature
    z -= z.max(1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    return float(-log_p[np.arange(len(y)), np.asarray(y, int)].mean())


def fit(logits: np.ndarray, y: np.ndarray) -> float:
    """The T > 0 that minimises the validation NLL (bounded search over log T)."""
    if not len(y):
        raise ValueError("temperature scaling needs validation predictions; there are none")
    res = minimize_scalar(
        lambda t: nll(logits, y, float(np.exp(t))),
        bounds=LOG_RANGE,
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(res.x))
