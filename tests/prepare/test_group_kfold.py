import warnings

import numpy as np
import pytest
from sklearn.model_selection import StratifiedGroupKFold

from maskutils.prepare.group_kfold import stratified_group_folds


def _sklearn(labels, groups, n_splits, seed):
    out = np.full(len(labels), -1)
    cv = StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for k, (_, test) in enumerate(cv.split(np.zeros(len(labels)), labels, groups)):
            out[test] = k
    return out


@pytest.mark.parametrize("trial", range(12))
def test_same_folds_as_scikit_learn(trial):
    rng = np.random.default_rng(trial)
    n, classes = int(rng.integers(30, 400)), int(rng.integers(2, 9))
    n_splits = [2, 5, 10][trial % 3]
    labels = np.array([f"c{c}" for c in rng.integers(0, classes, n)])
    # mostly one-image groups (many exact ties between folds), some larger ones
    groups = np.arange(n)
    groups[rng.choice(n, n // 3)] = rng.integers(0, n // 4, n // 3)
    ours = stratified_group_folds(labels, groups, n_splits, seed=trial)
    np.testing.assert_array_equal(ours, _sklearn(labels, groups, n_splits, trial))
    assert set(ours) == set(range(n_splits))


def test_the_errors_of_scikit_learn():
    with pytest.raises(ValueError, match="greater than the number of groups"):
        stratified_group_folds(np.array(list("aaabbb")), np.array([0, 0, 0, 1, 1, 1]), 3, 0)
    with pytest.raises(ValueError, match="number of members in each class"):
        stratified_group_folds(np.array(list("aabb")), np.arange(4), 3, 0)
