"""What a recipe's model sees before any training, and a linear probe on it: cheap enough to fit
many times inside one fold (the bias stage's inner folds, `fairness.worst_cells`) and to sweep
settings with (benchmarks/resolution_probe.py)."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from maskutils.modeling import baseline, build
from maskutils.modeling.transfer import head_inputs

#: the side a CNN recipe's images are shrunk to for its probe (a CNN has no pretrained features)
PIXELS = 32


def features(cfg: dict, images: np.ndarray, image_size: int, n_classes: int) -> np.ndarray:
    """Per image (uint8 N x 3 x S x S), what the probe reads: a transfer recipe's frozen backbone
    features, pooled as its head sees them; a CNN recipe's pixels shrunk to PIXELS px."""
    if cfg["model"] == "cnn":
        return baseline.features(images, PIXELS)
    model = build.build(cfg["model"], cfg, n_classes, image_size)
    return head_inputs(model, images).cpu().numpy()


def probe_oof(features: np.ndarray, y: np.ndarray, folds: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-fold predictions of a standardised, class-balanced logistic regression, one fit
    per fold (`folds`: each row's fold)."""
    pred = np.empty(len(y), int)
    for f in np.unique(folds):
        test = folds == f
        clf = make_pipeline(
            StandardScaler(),
            LogisticRegression(max_iter=3000, class_weight="balanced", random_state=seed),
        )
        clf.fit(features[~test], y[~test])
        pred[test] = clf.predict(features[test])
    return pred
