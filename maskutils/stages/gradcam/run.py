"""Grad-CAM: where a model looks, shown and measured.

Maps come from pytorch-grad-cam (`cams.METHODS`) at a target layer named or found automatically:
the deepest block whose map has at least `min_grid` cells a side (`cams.find_target_layer`).
Every map is min-max scaled to [0, 1] per image (the library's convention) at the input's size.

Measured per image and summarised with percentile bootstrap intervals (per class and overall):
- localisation (synthetic data: every image has a known ROI, the mask or nose-to-chin box): the
  share of the map's energy inside the ROI, the pointing game (is the map's maximum inside it)
  and the grid cell holding the peak; beside the same measures of maps that do not look at the
  image (`baselines`): uniform (both measures equal the ROI's area share), smoothed random at
  full resolution and at the layer's own grid, a map peaked at the image centre, and the data's
  prior (the mean ROI mask of the training split).
- faithfulness: the drop in the predicted class's probability when the top `removal` share of
  the map's pixels are replaced by the image's mean colour, against the same removal guided by a
  smoothed random map.
- sanity (`sanity`, `road`): ROAD, a faithfulness score whose removals are imputed from their
  neighbours rather than painted, against random maps; and maps after re-initialising the
  model's layers from the top, compared with the originals.
- the shortcut probe (`probe`), on synthetic data, at the same layer.

Data without ROI columns (real datasets) get galleries, faithfulness and the sanity checks;
localisation is reported as not available.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from maskutils.core.progress import note
from maskutils.core.results import plain
from maskutils.core.stats import bootstrap_mean
from maskutils.modeling import checkpoint
from maskutils.stages.contract import Inputs
from maskutils.stages.gradcam import baselines as B
from maskutils.stages.gradcam.cams import Cams, compute_cams
from maskutils.stages.gradcam.measures import (
    by_class,
    energy_share,
    peak_cells,
    pointing_hits,
    probability_drop,
    roi_boxes,
    roi_masks,
    top_mask,
)
from maskutils.stages.gradcam.probe import probe as shortcut_probe
from maskutils.stages.gradcam.road import PERCENTILES, road_scores
from maskutils.stages.gradcam.sanity import FRACTIONS, cascade

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


#: baselines measured beside the maps where ROIs exist: column suffix -> what the map is
BASELINES = {
    "random": "smoothed random map (full resolution)",
    "grid_random": "random map at the layer's own grid, upsampled like a CAM",
    "centre": "a map peaked at the image centre",
    "prior": "the data's prior: the mean ROI mask of the training split",
}


def _localisation(table, maps, masks, baseline_maps: dict) -> None:
    table["roi_area_share"] = masks.mean((1, 2))
    table["roi_energy"] = energy_share(maps, masks)
    table["roi_energy_lift"] = table["roi_energy"] - table["roi_area_share"]
    table["pointing_hit"] = pointing_hits(maps, masks)
    for name, m in baseline_maps.items():
        table[f"roi_energy_{name}"] = energy_share(m, masks)
        table[f"pointing_hit_{name}"] = pointing_hits(m, masks)


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
    min_grid: int | None = None,
    prior: np.ndarray | None = None,
) -> Explanation:
    """CAMs of every image and the per-image measures (localisation where ROIs exist,
    faithfulness).

    images: uint8 N x 3 x S x S; y: true class index per image; manifest: their manifest rows
    (image_id, and the ROI columns if any). target: 'pred' explains the predicted class, 'true'
    the true one. Faithfulness always measures the predicted class's probability. prior: the
    data's prior map (S x S), measured as a baseline where given."""

    t0 = time.perf_counter()
    if target not in ("pred", "true"):
        raise ValueError(f"target must be 'pred' or 'true', not {target!r}")
    if not 0 < removal < 1:
        raise ValueError(f"removal must be in (0, 1), not {removal}")
    images, y = np.asarray(images), np.asarray(y, int)
    size = images.shape[-1]
    cams = compute_cams(
        model, images, method, target_layer, None if target == "pred" else y, batch_size, min_grid
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
            "peak_cell": peak_cells(cams.maps, cams.grid) if cams.grid else -1,
        }
    )
    for k, c in enumerate(classes):
        table[f"p_{c}"] = probs[:, k]
    for k, c in enumerate(classes):
        table[f"logit_{c}"] = cams.logits[:, k]
    rand = B.random_maps(len(images), size, seed)
    boxes = roi_boxes(manifest, size) if manifest is not None else None
    if boxes is not None:
        n = len(images)
        others = {
            "random": rand,
            "grid_random": B.grid_random_maps(n, size, max(cams.grid, 1), seed + 2),
            "centre": np.broadcast_to(B.centre_map(size), (n, size, size)),
        }
        if prior is not None:
            others["prior"] = np.broadcast_to(prior, (n, size, size))
        _localisation(table, cams.maps, roi_masks(boxes, size), others)
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
        "grid": cams.grid,
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


def data_prior(prepared, image_size: int) -> np.ndarray | None:
    """The mean ROI mask of the training split as a map, or None without ROIs."""
    rows = prepared.rows("train")
    boxes = roi_boxes(prepared.manifest.iloc[rows].reset_index(drop=True), image_size)
    return None if boxes is None or not len(boxes) else B.prior_map(roi_masks(boxes, image_size))


def explain_prepared(
    model: nn.Module, prepared, task: str = "mask_type", splits=("test",), **kw
) -> Explanation:
    """`explain` on the rows of a `Prepared` in `splits` (the test set by default), with the
    training split's prior as a baseline."""
    classes, y = prepared.task(task)
    rows = prepared.rows(*splits)
    return explain(
        model,
        prepared.images[rows],
        y[rows],
        classes,
        prepared.manifest.iloc[rows].reset_index(drop=True),
        prior=data_prior(prepared, prepared.images.shape[-1]),
        **kw,
    )


LOCALISATION = ["roi_energy", "roi_area_share", "roi_energy_lift", "pointing_hit"] + [
    f"{m}_{b}" for b in BASELINES for m in ("roi_energy", "pointing_hit")
]
FAITHFULNESS = ["drop", "drop_random", "drop_vs_random"]


def peak_grid(ex: Explanation) -> list[list[float]] | None:
    """Share of images whose map peaks in each cell of the layer's grid (rows x columns)."""
    g = ex.cams.grid
    if not g or not len(ex.table):
        return None
    counts = np.bincount(ex.table["peak_cell"], minlength=g * g).reshape(g, g)
    return (counts / len(ex.table)).round(4).tolist()


def measures(ex: Explanation, reps: int = 1000, confidence: float = 0.95, seed: int = 0) -> dict:
    """Localisation (or why not) and faithfulness, overall and per class, with intervals."""
    t = ex.table
    cols = [c for c in LOCALISATION if c in t]
    loc = (
        {
            "available": True,
            "baseline": "uniform map: energy share = pointing-hit probability = the ROI's "
            "area share (roi_area_share); "
            + "; ".join(f"*_{b}: {what}" for b, what in BASELINES.items()),
            "peak_grid": peak_grid(ex),
            **by_class(t, cols, ex.classes, reps, confidence, seed),
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


def sanity(
    ex: Explanation,
    model: nn.Module,
    n: int,
    reps: int,
    confidence: float,
    seed: int,
    batch: int = 32,
    fractions=FRACTIONS,
) -> dict:
    """On `n` of the images (drawn with `seed`): ROAD of the maps against the smoothed random
    maps, and the cascading randomisation check."""
    pick = np.sort(np.random.default_rng(seed).permutation(len(ex.table))[: min(n, len(ex.table))])
    images, maps, cls = ex.images[pick], ex.cams.maps[pick], ex.cams.probs[pick].argmax(1)
    road = road_scores(model, images, maps, cls, seed, batch)
    road_random = road_scores(model, images, ex.random[pick], cls, seed, batch)
    return {
        "road": {
            "n": int(len(pick)),
            "percentiles": list(PERCENTILES),
            "baseline": "the same smoothed random maps",
            **{
                k: bootstrap_mean(v, reps, confidence, seed + 200)
                for k, v in (
                    ("road", road),
                    ("road_random", road_random),
                    ("road_vs_random", road - road_random),
                )
            },
        },
        "randomisation": cascade(
            model,
            images,
            maps,
            ex.cams.targets[pick],
            ex.params["method"],
            ex.cams.layer,
            reps,
            confidence,
            seed + 300,
            batch,
            fractions,
        ),
    }


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


def core(ex: Explanation, san: dict, reps: int, confidence: float, seed: int) -> dict:
    """What is measured of one model's maps: method, layer, measures and sanity checks."""
    return {
        "method": ex.params["method"],
        "target_layer": ex.params["target_layer"],
        "grid": ex.params["grid"],
        "n_images": int(len(ex.table)),
        "accuracy": float((ex.table["true"] == ex.table["pred"]).mean()) if len(ex.table) else None,
        **measures(ex, reps, confidence, seed),
        "sanity": san,
    }


def explanation_summary(
    ex: Explanation,
    san: dict,
    reps: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    shortcut: dict | None = None,
    per_class: int = 4,
    compare: dict | None = None,
) -> dict:
    """The dict for reports/metrics/gradcam.json: plain JSON types, no timings (so the same inputs
    and seed give the same file on a CPU). compare: `core` of a second model's maps."""
    out = {
        **core(ex, san, reps, confidence, seed),
        "explained_class": ex.params["target"],
        "image_size": ex.params["image_size"],
        "classes": list(ex.classes),
        "confidence": confidence,
        "bootstrap_reps": reps,
        "seed": seed,
        "gallery": {
            g: ex.table["image_id"].iloc[idx].tolist() for g, idx in gallery(ex, per_class).items()
        },
        "no_mask_score": "logit",
    }
    if compare is not None:
        out["compare"] = compare
    if shortcut is not None:
        out["shortcut"] = shortcut
    return plain(out)


def _explained(model: nn.Module, meta: dict, p, g: dict) -> tuple[Explanation, dict]:
    ex = explain_prepared(
        model,
        p,
        meta["task"],
        splits=g["splits"],
        method=g["method"],
        target_layer=g["target_layer"],
        min_grid=g["min_grid"],
        target=g["target"],
        batch_size=g["batch_size"],
        removal=g["removal"],
        seed=g["seed"],
    )
    note(f"sanity checks of {meta['name']}: ROAD and layer randomisation")
    san = sanity(
        ex,
        model,
        g["sanity"]["images"],
        g["bootstrap"],
        g["confidence"],
        g["seed"],
        g["batch_size"],
    )
    return ex, san


def compared_model(path: str | Path, meta: dict, enabled: bool = True) -> tuple | None:
    """(model, meta) of the from-scratch CNN at `path` to explain beside the studied model
    (`meta`), or None: disabled, no such file, or the studied model is that CNN."""
    if not enabled or not Path(path).exists():
        return None
    other = checkpoint.load(path)
    return None if other[1]["name"] == meta["name"] else other


@dataclass
class GradcamRun:
    model_name: str  # the studied model's
    explanation: Explanation  # its maps and measures per image
    sanity: dict  # its sanity checks (`sanity`)
    compare: dict | None  # the second model's name and `core` (None: no second model)
    other: Explanation | None  # the second model's maps
    probe: dict | None  # the shortcut probe (None: not synthetic data, or disabled)
    probe_arrays: dict | None  # its images and maps, for the figure


def run(inputs: Inputs, params: dict) -> GradcamRun:
    """The stage: the studied model (models/study.pt) explained on the prepared data, and beside
    it the from-scratch CNN (models/cnn.pt) where `compare_cnn` asks and it is another model."""
    p = inputs.prepared
    model, meta = checkpoint.load(inputs.path("models/study.pt"))
    compare = compared_model(inputs.path("models/cnn.pt"), meta, params["compare_cnn"])
    return analyse(model, meta, p, params, compare)


def analyse(model: nn.Module, meta: dict, p, g: dict, compare: tuple | None = None) -> GradcamRun:
    """Maps, measures and sanity checks of the images in `g["splits"]`, the same of a second
    model where given (`compare`: (model, meta), the from-scratch CNN), and the shortcut probe
    on synthetic data."""
    note(f"maps of the {', '.join(g['splits'])} images ({g['method']})")
    ex, san = _explained(model, meta, p, g)
    other, side = None, None
    if compare is not None:
        note(f"the same for {compare[1]['name']}")
        other, other_san = _explained(*compare, p, g)
        side = {
            "model": compare[1]["name"],
            **core(other, other_san, g["bootstrap"], g["confidence"], g["seed"]),
        }
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
            ex.cams.layer,
            g["batch_size"],
            g["bootstrap"],
            g["confidence"],
            g["seed"],
            return_arrays=True,
        )
    return GradcamRun(meta["name"], ex, san, side, other, probe, arrays)


def summary(result: GradcamRun, params: dict) -> dict:
    """The metrics file (reports/metrics/gradcam.json): `explanation_summary` of the studied
    model's maps, with the second model's and the shortcut probe."""
    g = params
    return explanation_summary(
        result.explanation,
        result.sanity,
        g["bootstrap"],
        g["confidence"],
        g["seed"],
        shortcut=result.probe,
        per_class=g["images_per_class"],
        compare=result.compare,
    )
