"""The worst cells (fairness.worst_cells): ranked by how far a cell's recall falls below its
class's, found on inner folds of the given training rows only, so what any other row says (its
label, its group) cannot move them."""

import numpy as np
import pytest

from maskutils.fairness import worst_cells
from tests.conftest import params, prepared_synthetic


def test_cells_are_ranked_by_their_shortfall_below_their_class():
    #         group a, class 0: 4/4 right; group b, class 0: 1/4 right; group c, class 0: 2/2
    keys = np.array(["a"] * 4 + ["b"] * 4 + ["c"] * 2 + ["a"] * 5 + ["b"] * 5 + [None] * 3)
    y = np.array([0] * 10 + [1] * 13)
    pred = np.array([0, 0, 0, 0, 0, 1, 1, 1, 0, 0] + [1, 1, 1, 1, 0] + [1, 1, 1, 1, 1] + [0] * 3)
    out = worst_cells.ranked(keys, y, pred, min_cell=3)
    # class 0: 7/10 right; b's 1/4 is below it, a's 4/4 is not, c (2 rows) is not judged.
    # class 1: 9/13; a's 4/5 and b's 5/5 are above it; the group-less rows are no cell.
    assert [(c["group"], c["class"]) for c in out] == [("b", 0)]
    assert out[0]["recall"] == pytest.approx(0.25)
    assert out[0]["class_recall"] == pytest.approx(0.7)
    assert out[0]["shortfall"] == pytest.approx(0.45)
    assert worst_cells.ranked(keys, y, pred, min_cell=2)[-1]["group"] != "c"  # c: 2/2 right


def test_the_furthest_below_comes_first():
    keys = np.array(["a"] * 4 + ["b"] * 4 + ["c"] * 4)
    y = np.zeros(12, int)
    pred = np.array([0, 0, 0, 0] + [1, 1, 1, 0] + [1, 1, 0, 0])
    assert [c["group"] for c in worst_cells.ranked(keys, y, pred)] == ["b", "c"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepared_synthetic(tmp_path_factory, n_images=300, size=32, folds=3)


def test_cells_are_found_from_the_given_rows_alone(prepared):
    p = prepared
    cfg = params("train", {"model": "cnn"})
    fold = p.manifest["fold"].to_numpy()
    train = np.flatnonzero(fold > 0)  # fold 0's training rows; the rest: its test rows, test split
    rest = np.flatnonzero(fold <= 0)
    first = worst_cells.find(p, cfg, 5, {"fold0": train}, ["age"], 3, threads=1)["fold0"]
    assert first and all(c["shortfall"] > 0 for c in first)
    # every other row's label and group scrambled: the cells do not move
    m = p.manifest.copy()
    rng = np.random.default_rng(0)
    m.loc[rest, "label"] = rng.permutation(m.loc[rest, "label"].to_numpy())
    m.loc[rest, "age"] = rng.permutation(m.loc[rest, "age"].to_numpy())
    p.manifest, kept = m, p.manifest
    try:
        again = worst_cells.find(p, cfg, 5, {"fold0": train}, ["age"], 3, threads=1)["fold0"]
    finally:
        p.manifest = kept
    assert again == first


def test_rows_that_cannot_be_split_into_inner_folds_rank_no_cell(prepared):
    p = prepared
    cfg = params("train", {"model": "cnn"})
    y = p.manifest["label"].to_numpy()
    one_class = np.flatnonzero(y == y[0])[:30]
    two_groups = np.flatnonzero(p.manifest["dup_group"].isin(p.manifest["dup_group"].iloc[:2]))
    found = worst_cells.find(
        p, cfg, 5, {"one class": one_class, "two rows": two_groups[:2]}, ["age"], 3, threads=1
    )
    assert found == {"one class": [], "two rows": []}
