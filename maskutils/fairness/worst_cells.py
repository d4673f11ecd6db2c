"""The (group, class) cells a recipe serves worst, found without the audited rows: the targets of
the `worst_reweight` and `worst_oversample` mitigations (`modeling.rebalance`).

A fold's validation split holds too few images of a small group (about 5 of the default's planted
elders) to rank cells by, and folds keep no validation predictions. So the cells are found on
inner folds of the rows a model trains on: the recipe's frozen model (`modeling.frozen`: the
pretrained backbone's features, or a CNN's shrunk pixels) with a linear probe, cross-validated in
INNER_FOLDS duplicate-aware folds of those rows alone, predicts each of them once; a cell's
recall is compared with its class's recall over all groups, and the `count` cells furthest below
are the targets. The probe is not the fine-tuned model, only its starting point: the cells it
finds are where the features, and the data's mix, make the task hardest.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from maskutils.modeling import frozen
from maskutils.modeling.local_folds import torch_threads
from maskutils.modeling.rebalance import group_keys
from maskutils.prepare.group_kfold import stratified_group_folds
from maskutils.prepare.prepared import Prepared

#: inner folds over a model's training rows
INNER_FOLDS = 3
#: a cell with fewer training images than this is not ranked (its recall says too little)
MIN_CELL = 3


def ranked(keys: np.ndarray, y: np.ndarray, pred: np.ndarray, min_cell: int = MIN_CELL) -> list:
    """Every cell with at least `min_cell` rows whose recall is below its class's, furthest
    below first: {group, class (code), n, recall, class_recall, shortfall}."""
    out = []
    for c in np.unique(y):
        of_c = y == c
        overall = float(np.mean(pred[of_c] == c))
        for g in sorted({k for k in keys[of_c] if k is not None}):
            cell = of_c & (keys == g)
            if cell.sum() < min_cell:
                continue
            recall = float(np.mean(pred[cell] == c))
            if recall < overall:
                out.append(
                    {
                        "group": g,
                        "class": int(c),
                        "n": int(cell.sum()),
                        "recall": recall,
                        "class_recall": overall,
                        "shortfall": overall - recall,
                    }
                )
    return sorted(out, key=lambda d: (-d["shortfall"], d["group"], d["class"]))


def find(
    p: Prepared,
    cfg: dict,
    n_classes: int,
    train_sets: dict,
    by: list[str],
    count: int,
    threads: int,
) -> dict:
    """Per named set of training rows (`train_sets`: name -> row indices of `p`), its `count`
    worst cells (`ranked`), each found on inner folds of those rows alone; one feature pass of
    the frozen model over the rows of all sets. `cfg`: the recipe (its seed seeds the folds).
    Torch and BLAS compute on `threads` threads, as the folds do: the cells decide what the
    folds train on, so they must not depend on the machine's core count."""
    with torch_threads(threads), threadpool_limits(threads):
        return _find(p, cfg, n_classes, train_sets, by, count)


def _find(p: Prepared, cfg: dict, n_classes: int, train_sets: dict, by, count: int) -> dict:
    _, y = p.task(cfg["task"])
    used = np.unique(np.concatenate([np.asarray(r) for r in train_sets.values()]))
    feats = frozen.features(cfg, p.images[used], p.info["image_size"], n_classes)
    at = {row: i for i, row in enumerate(used)}
    keys = group_keys(p.manifest, by)
    dup = p.manifest["dup_group"].to_numpy()
    out = {}
    for k, (name, rows) in enumerate(train_sets.items()):
        rows = np.asarray(rows)
        x = feats[[at[r] for r in rows]]
        pred = _inner_predictions(x, y[rows], dup[rows], cfg["seed"] + k, cfg["seed"])
        out[name] = [] if pred is None else ranked(keys[rows], y[rows], pred)[:count]
    return out


def _inner_predictions(x, y, dup, fold_seed: int, seed: int) -> np.ndarray | None:
    """Each row predicted once by the probe fitted on the other inner folds; None when the rows
    cannot be split so (fewer than 2 duplicate groups or classes, or an inner fold whose other
    folds hold a single class): no cell is ranked then."""
    n = min(INNER_FOLDS, len(np.unique(dup)))
    if n < 2 or len(np.unique(y)) < 2:
        return None
    try:
        folds = stratified_group_folds(y, dup, n, fold_seed)
    except ValueError:  # every class smaller than the number of folds
        return None
    if any(len(np.unique(y[folds != f])) < 2 for f in np.unique(folds)):
        return None
    return frozen.probe_oof(x, y, folds, seed)
