"""Temperature scaling (modeling.temperature): logits made over-confident by a factor are scaled
back by about that factor, and no predicted class changes."""

import numpy as np
import pytest

from maskutils.modeling import temperature


def _calibrated(n: int = 4000, k: int = 4, seed: int = 0):
    """Logits and classes drawn from the softmax of those logits: calibrated at T = 1."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, k))
    probs = temperature.softmax(logits)
    y = np.array([rng.choice(k, p=p) for p in probs])
    return logits, y


def test_overconfident_logits_get_the_factor_back():
    logits, y = _calibrated()
    assert temperature.fit(logits, y) == pytest.approx(1.0, abs=0.1)
    assert temperature.fit(3 * logits, y) == pytest.approx(3.0, rel=0.1)
    assert temperature.fit(logits / 2, y) == pytest.approx(0.5, rel=0.1)


def test_scaling_changes_no_predicted_class_and_lowers_the_fitted_nll():
    logits, y = _calibrated(seed=1)
    t = temperature.fit(3 * logits, y)
    scaled = temperature.softmax(3 * logits, t)
    assert (scaled.argmax(1) == logits.argmax(1)).all()
    assert temperature.nll(3 * logits, y, t) < temperature.nll(3 * logits, y, 1.0)


def test_no_validation_predictions_is_an_error():
    with pytest.raises(ValueError, match="validation predictions"):
        temperature.fit(np.zeros((0, 3)), np.zeros(0, int))
