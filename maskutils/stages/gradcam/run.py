"""Grad-CAM: where a model looks, shown and measured.

Maps come from pytorch-grad-cam (gradcam, gradcam++, scorecam, eigencam) at a target layer found
automatically (the last convolutional block, see `find_target_layer`) or named. Every map is
min-max scaled to [0, 1] per image (the library's convention) at the input's size.

Measured, with percentile bootstrap intervals over images (per class and overall):
- localisation (synthetic data only: every image has a known ROI, the mask or nose-to-chin box):
  the share of the map's energy (sum of map values) inside the ROI, and the pointing game (is
  the map's maximum inside the ROI). Baseline: a map carrying no information, i.e. uniform, whose
  energy share and pointing-hit probability both equal the ROI's area share; also reported
  empirically for smoothed random maps (the same random maps the faithfulness baseline removes).
- faithfulness: the drop in the predicted class's probability when the top `removal` share of
  the map's pixels are replaced by the image's own per-channel mean colour, against the same
  removal guided by a smoothed random map (Gaussian-filtered white noise, sigma = size / 8,
  so it removes blobs like a CAM does rather than scattered pixels).
- the shortcut probe (`maskutils.stages.gradcam.probe`): test faces of one class redrawn with
exactly the same
  face, noise and lighting but the planted cue's green background; ROI share on the original vs
  the cue background, paired per face.

Data without ROI columns (real datasets) get galleries and faithfulness; localisation is
reported as not available.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from torch import nn

from maskutils.core.progress import note
from maskutils.core.results import plain
from maskutils.stages.gradcam.cams import Cams, compute_cams
from maskutils.stages.gradcam.measures import (
    by_class,
    energy_share,
    pointing_hits,
    probability_drop,
    random_maps,
    roi_boxes,
    roi_masks,
    top_mask,
)
from maskutils.stages.gradcam.probe import probe as shortcut_probe

# ---- the whole analysis -----------------------------------------------------------------------


@dataclass
class Explanation:
    classes: list[str]
    table: pd.DataFrame  # one row per image: image_id, true, pred, p_<class>, measures
    images: np.ndarray  # N x 3 x S x S uint8
    cams: Cams
    random: np.ndarray  # the random maps of the baselines
    boxes: np.ndarray | None  # ROI boxes in image pixels, None without ROI
    params: dict = field(default_factory=dict)
    seconds: float = 0.0


def explain(
    model: nn.Module,
    images,
    y,
    classes: list[str],
    manifest: pd.DataFrame | None = None,
    method: str = "gradcam",
    target_layer: str | None = None,
    target: str = "pred",
    batch_size: int = 32,
    removal: float = 0.2,
    seed: int = 0,
) -> Explanation:
    """CAMs of every image and the per-image measures (localisation where ROIs exist, faithfulness).

    images: uint8 N x 3 x S x S; y: true class index per image; manifest: their manifest rows
    (image_id, and the ROI columns if any). target: 'pred' explains the predicted class, 'true'
    the true one. Faithfulness always measures the predicted class's probability."""

    t0 = time.perf_counter()
    if target not in ("pred", "true"):
        raise ValueError(f"target must be 'pred' or 'true', not {target!r}")
    if not 0 < removal < 1:
        raise ValueError(f"removal must be in (0, 1), not {removal}")
    images, y = np.asarray(images), np.asarray(y, int)
    size = images.shape[-1]
    cams = compute_cams(
        model, images, method, target_layer, None if target == "pred" else y, batch_size
    )
    probs = cams.probs
    pred = probs.argmax(1)
    ids = (
        manifest["image_id"].tolist()
        if manifest is not None
        else [str(i) for i in range(len(images))]
    )
    table = pd.DataFrame(
        {
            "image_id": ids,
            "true": [classes[i] for i in y],
            "pred": [classes[i] for i in pred],
            "explained": [classes[i] for i in cams.targets],
        }
    )
    for k, c in enumerate(classes):
        table[f"p_{c}"] = probs[:, k]
    for k, c in enumerate(classes):
        table[f"logit_{c}"] = cams.logits[:, k]
    rand = random_maps(len(images), size, seed)
    boxes = roi_boxes(manifest, size) if manifest is not None else None
    if boxes is not None:
        masks = roi_masks(boxes, size)
        table["roi_area_share"] = masks.mean((1, 2))
        table["roi_energy"] = energy_share(cams.maps, masks)
        table["roi_energy_random"] = energy_share(rand, masks)
        table["roi_energy_lift"] = table["roi_energy"] - table["roi_area_share"]
        table["pointing_hit"] = pointing_hits(cams.maps, masks)
        table["pointing_hit_random"] = pointing_hits(rand, masks)
    drop = probability_drop(
        model, images, top_mask(cams.maps, removal, seed), pred, probs, batch_size
    )
    drop_rand = probability_drop(
        model, images, top_mask(rand, removal, seed + 1), pred, probs, batch_size
    )
    table["drop"], table["drop_random"], table["drop_vs_random"] = drop, drop_rand, drop - drop_rand
    params = {
        "method": method,
        "target_layer": cams.layer,
        "target": target,
        "removal": removal,
        "seed": seed,
        "fill": "image mean colour",
        "random_map_sigma": size / 8,
        "image_size": size,
    }
    return Explanation(
        list(classes), table, images, cams, rand, boxes, params, time.perf_counter() - t0
    )


def explain_prepared(
    model: nn.Module, prepared, task: str = "mask_type", splits=("test",), **kw
) -> Explanation:
    """`explain` on the rows of a `Prepared` in `splits` (the test set by default)."""
    classes, y = prepared.task(task)
    rows = prepared.rows(*splits)
    return explain(
        model,
        prepared.images[rows],
        y[rows],
        classes,
        prepared.manifest.iloc[rows].reset_index(drop=True),
        **kw,
    )


LOCALISATION = [
    "roi_energy",
    "roi_energy_random",
    "roi_area_share",
    "roi_energy_lift",
    "pointing_hit",
    "pointing_hit_random",
]
FAITHFULNESS = ["drop", "drop_random", "drop_vs_random"]


def measures(ex: Explanation, reps: int = 1000, confidence: float = 0.95, seed: int = 0) -> dict:
    """Localisation (or why not) and faithfulness, overall and per class, with intervals."""
    t = ex.table
    loc = (
        {
            "available": True,
            "baseline": "uniform map: energy share = pointing-hit probability = the ROI's "
            "area share (roi_area_share); *_random: smoothed random maps",
            **by_class(t, LOCALISATION, ex.classes, reps, confidence, seed),
        }
        if "roi_energy" in t
        else {"available": False, "reason": "the data carry no ROI boxes (roi_x0..roi_y1)"}
    )
    faith = {
        "removal": ex.params["removal"],
        "fill": ex.params["fill"],
        "baseline": "top pixels of smoothed random maps "
        f"(sigma {ex.params['random_map_sigma']:g} px)",
        **by_class(t, FAITHFULNESS, ex.classes, reps, confidence, seed + 100),
    }
    return {"localisation": loc, "faithfulness": faith}


# ---- galleries --------------------------------------------------------------------------------


def gallery(ex: Explanation, per_class: int = 4, score: str = "logit") -> dict[str, list[int]]:
    """Row positions of the images to show, by group name:
    '<class>: most confident correct', '<class>: least confident correct',
    '<class>: misclassified' (most confident mistakes first, titled true -> predicted), and for
    no_mask '<no_mask>: highest no_mask score' / 'lowest' over all images. score: 'logit' (the
    raw output; kept by `compute_cams`) or 'log_prob'."""
    t = ex.table
    p = t[[f"p_{c}" for c in ex.classes]].to_numpy()
    true = t["true"].map({c: k for k, c in enumerate(ex.classes)}).to_numpy()
    pred = p.argmax(1)
    conf_true, conf_pred = p[np.arange(len(t)), true], p.max(1)
    out = {}
    for k, cls in enumerate(ex.classes):
        ok = np.flatnonzero((true == k) & (pred == k))
        bad = np.flatnonzero((true == k) & (pred != k))
        order = ok[np.argsort(-conf_true[ok], kind="stable")]
        out[f"{cls}: most confident correct"] = order[:per_class].tolist()
        out[f"{cls}: least confident correct"] = order[::-1][:per_class].tolist()
        out[f"{cls}: misclassified"] = bad[np.argsort(-conf_pred[bad], kind="stable")][
            :per_class
        ].tolist()
    if "no_mask" in ex.classes:
        s = no_mask_score(ex, score)
        order = np.argsort(-s, kind="stable")
        out[f"no_mask: highest no_mask {score}"] = order[:per_class].tolist()
        out[f"no_mask: lowest no_mask {score}"] = order[::-1][:per_class].tolist()
    return out


def no_mask_score(ex: Explanation, score: str = "logit") -> np.ndarray:
    if score == "logit":
        return ex.table["logit_no_mask"].to_numpy()
    if score == "log_prob":
        return np.log(np.clip(ex.table["p_no_mask"].to_numpy(), 1e-12, None))
    raise ValueError(f"score must be 'logit' or 'log_prob', not {score!r}")


def mean_maps(ex: Explanation, correct_only: bool = False) -> dict[str, np.ndarray]:
    """Mean heatmap per true class (optionally over correctly classified images only)."""
    out = {}
    for cls in ex.classes:
        sel = (ex.table["true"] == cls) & ((ex.table["pred"] == cls) if correct_only else True)
        if sel.any():
            out[cls] = ex.cams.maps[sel.to_numpy()].mean(0)
    return out


# ---- the metrics file -------------------------------------------------------------------------


def summary(
    ex: Explanation,
    reps: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    shortcut: dict | None = None,
    per_class: int = 4,
) -> dict:
    """The dict for reports/metrics/gradcam.json: plain JSON types, no timings (so the same inputs
    and seed give the same file on a CPU)."""
    out = {
        "method": ex.params["method"],
        "target_layer": ex.params["target_layer"],
        "explained_class": ex.params["target"],
        "image_size": ex.params["image_size"],
        "n_images": int(len(ex.table)),
        "classes": list(ex.classes),
        "confidence": confidence,
        "bootstrap_reps": reps,
        "seed": seed,
        "accuracy": float((ex.table["true"] == ex.table["pred"]).mean()) if len(ex.table) else None,
        **measures(ex, reps, confidence, seed),
        "gallery": {
            g: ex.table["image_id"].iloc[idx].tolist() for g, idx in gallery(ex, per_class).items()
        },
        "no_mask_score": "logit",
    }
    if shortcut is not None:
        out["shortcut"] = shortcut
    return plain(out)


def run(model: nn.Module, meta: dict, p, g: dict):
    """The stage: maps and measures of the images in `g["splits"]`, the shortcut probe on
    synthetic data, and the metrics. Returns (explanation, probe or None, probe arrays or None,
    metrics)."""
    note(f"maps of the {', '.join(g['splits'])} images ({g['method']})")
    ex = explain_prepared(
        model,
        p,
        meta["task"],
        splits=g["splits"],
        method=g["method"],
        target_layer=g["target_layer"],
        target=g["target"],
        batch_size=g["batch_size"],
        removal=g["removal"],
        seed=g["seed"],
    )
    probe, arrays = None, None
    if p.info["params"]["source"]["kind"] == "synthetic" and g["shortcut"]["enabled"]:
        sc = g["shortcut"]
        note(f"shortcut probe: {sc['n']} faces on three backgrounds")
        probe, arrays = shortcut_probe(
            model,
            p,
            meta["task"],
            sc["label"],
            sc["n"],
            sc["splits"],
            g["method"],
            g["target_layer"],
            g["batch_size"],
            g["bootstrap"],
            g["confidence"],
            g["seed"],
            return_arrays=True,
        )
    s = summary(
        ex,
        g["bootstrap"],
        g["confidence"],
        g["seed"],
        shortcut=probe,
        per_class=g["images_per_class"],
    )
    return ex, probe, arrays, s
