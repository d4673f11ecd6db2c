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
- the shortcut probe (`maskutils.stages.gradcam.probe`): test faces of one class redrawn with exactly the same
  face, noise and lighting but the planted cue's green background; ROI share on the original vs
  the cue background, paired per face.

Data without ROI columns (real datasets) get galleries and faithfulness; localisation is
reported as not available.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from scipy.ndimage import gaussian_filter
from torch import nn

from maskutils.core.metrics import interval
from maskutils.modeling.augment import to_float
from maskutils.modeling.fit import predict_proba

METHODS = ("gradcam", "gradcam++", "scorecam", "eigencam")
_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
ROI_COLUMNS = ("roi_x0", "roi_y0", "roi_x1", "roi_y1")


# ---- target layer -----------------------------------------------------------------------------


def _trace(model: nn.Module, image_size: int) -> list[tuple[str, nn.Module, torch.Tensor, int]]:
    """(name, module, output, output version at hook time) of every module call, in finishing order."""
    calls, handles = [], []
    for name, mod in model.named_modules():
        if name:
            handles.append(
                mod.register_forward_hook(
                    lambda m, i, o, name=name: (
                        calls.append((name, m, o, o._version)) if torch.is_tensor(o) else None
                    )
                )
            )
    was_training = model.training
    try:
        model.eval()
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size, device=device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return calls


def layer_candidates(model: nn.Module, image_size: int) -> list[str]:
    """Modules that can carry a CAM, in forward order: called once, a 4-D output with more than
    one spatial position, not a pooling layer, not changed in place later (the gradient hook
    would see another tensor than the activation). The last of them is the default target."""
    calls = _trace(model, image_size)
    counts = pd.Series([c[0] for c in calls]).value_counts()
    pooled = {id(o) for _, m, o, _ in calls if isinstance(m, _POOLS)}
    out = []
    for name, mod, o, version in calls:
        if (
            counts[name] == 1
            and o.dim() == 4
            and o.shape[-1] * o.shape[-2] > 1
            and not isinstance(mod, _POOLS)
            and id(o) not in pooled
            and o._version == version
            and not isinstance(mod, (nn.Dropout, nn.Identity))
        ):
            out.append(name)
    return out


def find_target_layer(model: nn.Module, image_size: int) -> str:
    """Dotted name of the last convolutional block: the last candidate (`layer_candidates`) to
    finish; of modules returning the same tensor (a block and its last child) the outermost."""
    names = layer_candidates(model, image_size)
    if not names:
        raise ValueError(
            "no module of this model has a spatial (N x C x H x W, H x W > 1) output to explain"
        )
    return names[-1]


def resolve_layer(model: nn.Module, name: str | None, image_size: int) -> tuple[str, nn.Module]:
    """(name, module) of the target layer: `name`, or the automatic choice when None."""
    if name is None:
        name = find_target_layer(model, image_size)
    try:
        return name, model.get_submodule(name)
    except AttributeError:
        some = layer_candidates(model, image_size)[-8:]
        raise ValueError(
            f"target layer {name!r} is not a module of this model; valid names include: "
            f"{', '.join(some)} (the default is {some[-1] if some else 'none'})"
        ) from None


# ---- maps -------------------------------------------------------------------------------------


@dataclass
class Cams:
    maps: np.ndarray  # N x H x W float32 in [0, 1]
    logits: np.ndarray  # N x C (the model's raw outputs)
    targets: np.ndarray  # N, the class each map explains
    layer: str
    method: str

    @property
    def probs(self) -> np.ndarray:
        z = self.logits - self.logits.max(1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(1, keepdims=True)


def _cam_class(method: str):
    import pytorch_grad_cam as pgc

    if method not in METHODS:
        raise ValueError(f"unknown CAM method {method!r}; methods: {', '.join(METHODS)}")
    return {
        "gradcam": pgc.GradCAM,
        "gradcam++": pgc.GradCAMPlusPlus,
        "scorecam": pgc.ScoreCAM,
        "eigencam": pgc.EigenCAM,
    }[method]


def compute_cams(
    model: nn.Module,
    images,
    method: str = "gradcam",
    target_layer: str | None = None,
    targets=None,
    batch_size: int = 32,
) -> Cams:
    """CAMs of uint8 images (N x 3 x S x S) for `targets` (class per image; None: the predicted
    class), in batches. The hooks are removed afterwards and the model's train/eval mode restored."""
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    images = np.asarray(images)
    size = images.shape[-1]
    name, layer = resolve_layer(model, target_layer, size)
    device = next(model.parameters()).device
    was_training = model.training
    maps, logits, chosen = [], [], []
    cam = _cam_class(method)(model=model, target_layers=[layer])
    if method == "scorecam":
        cam.batch_size = batch_size
    try:
        with torch.enable_grad():
            for i in range(0, len(images), batch_size):
                x = to_float(torch.as_tensor(images[i : i + batch_size]).to(device)).requires_grad_(
                    True
                )
                if targets is None:
                    with torch.no_grad():
                        t = model(x).argmax(1).cpu().numpy()
                else:
                    t = np.asarray(targets[i : i + batch_size], int)
                with contextlib.redirect_stderr(
                    io.StringIO()
                ):  # scorecam's per-image progress bars
                    m = cam(input_tensor=x, targets=[ClassifierOutputTarget(int(k)) for k in t])
                maps.append(np.clip(m, 0, 1).astype(np.float32))
                logits.append(cam.outputs.detach().float().cpu().numpy())
                chosen.append(t)
    finally:
        cam.activations_and_grads.release()
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    if not maps:
        return Cams(
            np.empty((0, size, size), np.float32),
            np.empty((0, 0), np.float32),
            np.empty(0, int),
            name,
            method,
        )
    return Cams(np.concatenate(maps), np.concatenate(logits), np.concatenate(chosen), name, method)


def random_maps(n: int, size: int, seed: int, sigma: float | None = None) -> np.ndarray:
    """Smoothed random maps in [0, 1]: Gaussian-filtered white noise (sigma = size / 8 by default)."""
    rng = np.random.default_rng(seed)
    sigma = size / 8 if sigma is None else sigma
    out = np.empty((n, size, size), np.float32)
    for i in range(n):
        m = gaussian_filter(rng.standard_normal((size, size)), sigma, mode="wrap")
        out[i] = (m - m.min()) / max(m.max() - m.min(), 1e-12)
    return out


# ---- localisation -----------------------------------------------------------------------------


def roi_boxes(manifest: pd.DataFrame, image_size: int) -> np.ndarray | None:
    """ROI boxes (N x 4: x0, y0, x1, y1, float) in the cached images' pixels, or None when the
    data have no ROI (any row without one: real datasets). Boxes are stored in the drawn image's
    pixels (`width` x `height`) and scaled to the cache's size here."""
    if not set(ROI_COLUMNS) <= set(manifest.columns):
        return None
    roi = manifest[list(ROI_COLUMNS)].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    if not len(roi) or np.isnan(roi).any():
        return None
    sx = image_size / manifest["width"].to_numpy(float)
    sy = image_size / manifest["height"].to_numpy(float)
    return roi * np.stack([sx, sy, sx, sy], 1)


def roi_masks(boxes: np.ndarray, size: int) -> np.ndarray:
    """N x size x size bool: pixels whose centre lies in the box [x0, x1) x [y0, y1)."""
    c = np.arange(size) + 0.5
    inx = (c[None, :] >= boxes[:, 0, None]) & (c[None, :] < boxes[:, 2, None])
    iny = (c[None, :] >= boxes[:, 1, None]) & (c[None, :] < boxes[:, 3, None])
    return iny[:, :, None] & inx[:, None, :]


def energy_share(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per image: sum of the map inside the mask / sum of the map (NaN for an all-zero map)."""
    total = maps.sum((1, 2), dtype=np.float64)
    inside = (maps * masks).sum((1, 2), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / np.where(total > 0, total, 1), np.nan)


def pointing_hits(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per image 1.0 when the map's maximum is inside the mask (ties: the centroid of the tied
    maxima decides), 0.0 otherwise, NaN for an all-zero map."""
    out = np.full(len(maps), np.nan)
    for i, (m, mask) in enumerate(zip(maps, masks)):
        if m.max() <= 0:
            continue
        ys, xs = np.nonzero(m >= m.max())
        y, x = int(np.floor(ys.mean() + 0.5)), int(np.floor(xs.mean() + 0.5))
        out[i] = float(mask[min(y, m.shape[0] - 1), min(x, m.shape[1] - 1)])
    return out


# ---- faithfulness -----------------------------------------------------------------------------


def top_mask(maps: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """N x H x W bool: the round(fraction x H x W) highest pixels of each map (ties broken by a
    seeded random order, so a flat map removes random pixels rather than the top rows)."""
    n, h, w = maps.shape
    k = int(round(fraction * h * w))
    rng = np.random.default_rng(seed)
    out = np.zeros((n, h * w), bool)
    for i, m in enumerate(maps.reshape(n, -1)):
        order = np.lexsort((rng.random(h * w), -m))
        out[i, order[:k]] = True
    return out.reshape(n, h, w)


def remove(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """uint8 images with the masked pixels replaced by each image's per-channel mean colour."""
    mean = np.round(images.reshape(len(images), 3, -1).mean(2)).astype(np.uint8)
    return np.where(masks[:, None], mean[:, :, None, None], images)


def probability_drop(
    model: nn.Module,
    images: np.ndarray,
    masks: np.ndarray,
    classes_idx: np.ndarray,
    p_before: np.ndarray,
    batch_size: int = 64,
) -> np.ndarray:
    """p(class) on the original minus p(class) with the masked pixels removed, per image."""
    after = predict_proba(model, remove(images, masks), batch_size)
    return (
        p_before[np.arange(len(images)), classes_idx] - after[np.arange(len(images)), classes_idx]
    )


# ---- bootstrap --------------------------------------------------------------------------------


def bootstrap_mean(values, reps: int, confidence: float, seed: int) -> dict:
    """Mean (NaNs ignored) with a percentile bootstrap interval over images."""
    v = np.asarray(values, float)
    v = v[~np.isnan(v)]
    if not len(v):
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    rng = np.random.default_rng(seed)
    samples = v[rng.integers(0, len(v), size=(reps, len(v)))].mean(1)
    lo, hi = interval(samples, confidence)
    return {"value": float(v.mean()), "ci_low": lo, "ci_high": hi, "n": int(len(v))}


def _by_class(
    table: pd.DataFrame,
    columns: list[str],
    classes: list[str],
    reps: int,
    confidence: float,
    seed: int,
) -> dict:
    out = {
        "overall": {c: bootstrap_mean(table[c], reps, confidence, seed) for c in columns},
        "per_class": {},
    }
    for k, cls in enumerate(classes):
        sub = table[table["true"] == cls]
        out["per_class"][cls] = {
            c: bootstrap_mean(sub[c], reps, confidence, seed + 1 + k) for c in columns
        }
    return out


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
    import time

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
            **_by_class(t, LOCALISATION, ex.classes, reps, confidence, seed),
        }
        if "roi_energy" in t
        else {"available": False, "reason": "the data carry no ROI boxes (roi_x0..roi_y1)"}
    )
    faith = {
        "removal": ex.params["removal"],
        "fill": ex.params["fill"],
        "baseline": f"top pixels of smoothed random maps (sigma {ex.params['random_map_sigma']:g} px)",
        **_by_class(t, FAITHFULNESS, ex.classes, reps, confidence, seed + 100),
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
    return _plain(out)


def _plain(x):
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return None if np.isnan(v) else round(v, 6)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x
