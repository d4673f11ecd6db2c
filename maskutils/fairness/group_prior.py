"""Bias mitigation after training: each group's class prior corrected (`group_prior`).

A model learns the class mix of its training rows as part of p(class | image). When one group's
mix differs from everyone's (few elders' cloth masks, say), it learns that too, and calls that
group's rare class less often than the class is really there. Bayes' rule undoes a known prior:
for an image of group g, scale p(c | image) by p(c) / p(c | g), both counted on the rows the model
trained on, and predict the largest (logit adjustment, Menon et al. 2021, applied per group).
`strength` scales the correction in log space (0: none, 1: the full ratio). Counts are smoothed by
one image per cell, so a cell with no training image gets a finite correction.

What it needs and assumes, said where it is used (bias report, model card):
- the group of every predicted image: a deployment that does not know it cannot apply it;
- that every group's class mix is the same where the model is used (the corrected prior is the
  training data's overall one);
- nothing else: no validation labels, no audited rows, no retraining. The correction is counted
  from the training rows alone, so it is fitted without the out-of-fold rows the audit reads.
"""

from __future__ import annotations

import numpy as np

from maskutils.modeling.rebalance import group_keys

__all__ = ["apply", "fit", "group_keys"]


def fit(keys: np.ndarray, y: np.ndarray, n_classes: int, strength: float) -> dict[str, list]:
    """The log-space correction per group, from the training rows' groups `keys` and classes
    `y`: strength * (log p(c) - log p(c | g)), each share smoothed by one image per cell."""
    y = np.asarray(y, int)
    overall = np.log((np.bincount(y, minlength=n_classes) + 1) / (len(y) + n_classes))
    out = {}
    for g in sorted({k for k in keys if k is not None}):
        yg = y[keys == g]
        within = np.log((np.bincount(yg, minlength=n_classes) + 1) / (len(yg) + n_classes))
        out[g] = (strength * (overall - within)).tolist()
    return out


def apply(probs: np.ndarray, keys: np.ndarray, correction: dict[str, list]) -> np.ndarray:
    """Class probabilities with each row's group correction applied (renormalised). Rows whose
    group is missing or was not seen in training are left as they are."""
    logp = np.log(np.clip(np.asarray(probs, float), 1e-12, None))
    none = [0.0] * logp.shape[1]
    shift = np.array([correction.get(k, none) if k is not None else none for k in keys])
    z = logp + shift.reshape(logp.shape)
    z -= z.max(1, keepdims=True)
    out = np.exp(z)
    return out / out.sum(1, keepdims=True)
