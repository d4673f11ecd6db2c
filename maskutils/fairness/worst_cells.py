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

from maskutils.modeling import frozen
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
    p: Prepared, cfg: dict, n_classes: int, train_sets: dict, by: list[str], count: int
) -> dict:
    """Per named set of training rows (`train_sets`: name -> row indices of `p`), its `count`
    worst cells (`ranked`), each found on inner folds of those rows alone; one feature pass of
    the frozen model over the rows of all sets. `cfg`: the recipe (its seed seeds the folds)."""
    _, y = p.task(cfg["task"])
    used = np.unique(np.concatenate([np.asarray(r) for r in train_sets.values()]))
    feats = frozen.features(cfg, p.images[used], p.info["image_size"], n_classes)
    at = {row: i for i, row in enumerate(used)}
    keys = group_keys(p.manifest, by)
    dup = p.manifest["dup_group"].to_numpy()
    out = {}
    for k, (name, rows) in enumerate(train_sets.items()):
        rows = np.asarray(rows)
        n_groups = len(np.unique(dup[rows]))
        if min(INNER_FOLDS, n_groups) < 2:
            out[name] = []
            continue
        folds = stratified_group_folds(
            y[rows], dup[rows], min(INNER_FOLDS, n_groups), cfg["seed"] + k
        )
        pred = frozen.probe_oof(feats[[at[r] for r in rows]], y[rows], folds, cfg["seed"])
        out[name] = ranked(keys[rows], y[rows], pred)[:count]
    return out
