"""Cross-dataset testing: a trained model on another dataset, minus copies of its training
images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from maskutils.core.labels import task_label
from maskutils.modeling.evaluate import predictions_table, report
from maskutils.modeling.predict import predict_proba
from maskutils.prepare.params import SCHEMA as PREPARE
from maskutils.prepare.prepared import Prepared, load_prepared
from maskutils.prepare.quality import hamming_within, hash_bytes
from maskutils.prepare.run import run as prepare


@dataclass
class External:
    root: str
    n_images: int  # faces the external dataset yielded
    n_duplicates: int  # removed: near-duplicates of a training or validation image
    n_unmapped: int  # removed: a class the model does not know under this task
    predictions: pd.DataFrame
    metrics: dict


def training_copies(ext: pd.DataFrame, pool: pd.DataFrame, distance: int) -> np.ndarray:
    """Mask over `ext` rows whose 256-bit hash (or mirror's) is within `distance` of a pool
    image."""
    hashes = hash_bytes(list(ext["phash"]) + list(pool["phash"]))
    flips = hash_bytes(list(ext["phash_flip"]) + list(pool["phash_flip"]))
    pairs = hamming_within(hashes, flips, distance)
    n = len(ext)
    cross = pairs[(pairs[:, 0] < n) & (pairs[:, 1] >= n)]
    mask = np.zeros(n, dtype=bool)
    mask[cross[:, 0]] = True
    return mask


def evaluate(
    model, classes: list[str], task: str, p: Prepared, kind: str, root: str, out_dir: Path, ev: dict
) -> External:
    """Prepares the external dataset like the training one (same size and quality params),
    drops copies of training-pool images and images of unknown classes, then evaluates."""
    params = PREPARE.validate(
        {**p.info["params"], "source": {"kind": kind, "root": root, "aliases": {}}}
    )
    prepare(params, out_dir, progress=False, splits=False)
    ext = load_prepared(out_dir)
    pool = p.manifest[p.manifest["split"].isin(["train", "val"])]
    copies = training_copies(ext.manifest, pool, params["quality"]["hash_distance"])
    labels = np.array([task_label(lab, task) for lab in ext.manifest["label"]])
    known = np.isin(labels, classes)
    keep = np.flatnonzero(known & ~copies)
    y = np.array([classes.index(lab) for lab in labels[keep]], dtype=int)
    probs = predict_proba(model, ext.images[keep]) if len(keep) else np.zeros((0, len(classes)))
    table = predictions_table(ext.manifest["image_id"].to_numpy()[keep], y, probs, classes)
    metrics = report(table, classes, **ev) if len(keep) else {}
    return External(
        root, len(ext.manifest), int((copies & known).sum()), int((~known).sum()), table, metrics
    )
