"""Rebalancing towards named cells (modeling.rebalance's `worst_*` methods): more weight on, or
more copies of, exactly those cells' rows, the classes still balanced, and each fold gets its own
cells."""

import numpy as np
import pandas as pd
import pytest

from maskutils.modeling import rebalance


def _data():
    manifest = pd.DataFrame({"age": ["adult"] * 60 + ["elder"] * 20 + [None] * 4})
    y = np.array([0] * 30 + [1] * 30 + [0] * 10 + [1] * 10 + [0, 1, 0, 1])
    return manifest, y, np.arange(len(y))


def test_reweight_boosts_the_named_cells_and_keeps_the_classes_balanced():
    manifest, y, rows = _data()
    plan = {"method": "worst_reweight", "by": ["age"], "cells": [["elder", 1]], "boost": 3.0}
    out, w = rebalance.rebalance(manifest, rows, y, plan, seed=0)
    assert np.array_equal(out, rows) and w.mean() == pytest.approx(1.0)
    elder1 = (manifest["age"] == "elder").to_numpy() & (y == 1)
    assert np.allclose(w[elder1] / w[(y == 1) & ~elder1][0], 3.0)
    assert np.allclose(w[y == 0], w[y == 0][0])  # class 0 has no named cell: one weight
    assert w[y == 0][0] == pytest.approx(w[(y == 1) & ~elder1][0])  # 42 of each class


def test_oversample_repeats_only_the_named_cells():
    manifest, y, rows = _data()
    plan = {"method": "worst_oversample", "by": ["age"], "cells": [["elder", 0]], "boost": 3.0}
    out, w = rebalance.rebalance(manifest, rows, y, plan, seed=0)
    extra = out[len(rows) :]
    assert w is None and len(extra) == 20  # (3 - 1) x 10 rows
    assert set(extra) <= set(np.flatnonzero((manifest["age"] == "elder").to_numpy() & (y == 0)))


def test_each_fold_trains_towards_its_own_cells():
    plan = {
        "method": "worst_reweight",
        "by": ["age"],
        "boost": 2.0,
        "cells_by_fold": {"0": [["a", 1]], "1": []},
    }
    assert rebalance.for_fold(plan, 0)["cells"] == [["a", 1]]
    assert rebalance.for_fold(plan, 1)["cells"] == [] and "cells_by_fold" not in rebalance.for_fold(
        plan, 1
    )
    assert rebalance.for_fold({"method": "reweight"}, 0) == {"method": "reweight"}
    assert rebalance.for_fold(None, 0) is None
