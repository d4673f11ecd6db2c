"""The classical baseline of the study: randomized PCA + SVM, grid-searched with inner CV."""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from torch.nn import functional as F

GRID = [
    {"svm__kernel": ["rbf"], "svm__C": [1.0, 10.0], "svm__gamma": ["scale", 0.001]},
    {"svm__kernel": ["linear"], "svm__C": [0.1, 1.0]},
]


def features(x: np.ndarray, size: int) -> np.ndarray:
    """uint8 N x 3 x S x S -> N x (3 size size) floats in [0, 1], area-downscaled to `size` px
    (the SVM's cost grows with the pixel count; at 128 px a grid search takes minutes)."""
    t = torch.as_tensor(np.asarray(x)).float().div_(255)
    if t.shape[-1] != size:
        t = F.interpolate(t, size=(size, size), mode="area")
    return t.reshape(len(t), -1).numpy()


def fit_pca_svm(
    x: np.ndarray, y: np.ndarray, components: int, size: int, seed: int, inner_folds: int = 3
):
    """(fitted GridSearchCV, fit seconds)."""
    feats = features(x, size)
    n_comp = int(min(components, len(x) - 1, feats.shape[1]))
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "pca",
                PCA(n_components=n_comp, svd_solver="randomized", whiten=True, random_state=seed),
            ),
            ("svm", SVC(random_state=seed)),
        ]
    )
    folds = int(min(inner_folds, np.bincount(y)[np.bincount(y) > 0].min()))
    search = GridSearchCV(
        pipe,
        GRID,
        cv=StratifiedKFold(max(2, folds), shuffle=True, random_state=seed),
        scoring="f1_macro",
        n_jobs=1,
    )
    t0 = time.perf_counter()
    search.fit(feats, y)
    return search, time.perf_counter() - t0


def predict_proba(search, x: np.ndarray, n_classes: int, size: int) -> np.ndarray:
    """Scores over all n_classes: a softmax of the SVM's one-vs-rest decision values.

    They rank images like the SVM does (argmax = its prediction) but are not calibrated
    probabilities; columns for classes absent in training stay 0.
    """
    d = search.decision_function(features(x, size))
    d = np.stack([-d, d], 1) if d.ndim == 1 else d
    e = np.exp(d - d.max(1, keepdims=True))
    out = np.zeros((len(x), n_classes))
    out[:, search.classes_] = e / e.sum(1, keepdims=True)
    return out
