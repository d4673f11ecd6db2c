"""What a map is measured by: localisation against a known ROI (energy share, pointing game, the
grid cell holding the peak) and faithfulness (the probability drop when the map's top pixels are
removed); per-image values, summarised overall and per class with bootstrap intervals. The maps
they are compared with are in `baselines`, ROAD in `road`, the randomisation check in `sanity`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from torch import nn

from maskutils.core.stats import bootstrap_mean
from maskutils.modeling.predict import predict_proba

ROI_COLUMNS = ("roi_x0", "roi_y0", "roi_x1", "roi_y1")


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
    peaks = peak_points(maps)
    hit = masks[np.arange(len(maps)), peaks[:, 0], peaks[:, 1]].astype(float)
    return np.where(maps.reshape(len(maps), -1).max(1) > 0, hit, np.nan)


def peak_points(maps: np.ndarray) -> np.ndarray:
    """N x 2 (row, column) of each map's maximum; ties: the centroid of the tied maxima."""
    out = np.zeros((len(maps), 2), int)
    for i, m in enumerate(maps):
        ys, xs = np.nonzero(m >= m.max())
        out[i] = (
            min(int(np.floor(ys.mean() + 0.5)), m.shape[0] - 1),
            min(int(np.floor(xs.mean() + 0.5)), m.shape[1] - 1),
        )
    return out


def peak_cells(maps: np.ndarray, grid: int) -> np.ndarray:
    """Per image, the cell (row * grid + column) of a `grid` x `grid` division of the map that
    holds the map's peak: a CAM upsampled from a coarse layer can only peak near a few points."""
    size = maps.shape[-1]
    rc = np.minimum(peak_points(maps) * grid // size, grid - 1)
    return rc[:, 0] * grid + rc[:, 1]


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


# ---- summaries ------------------------------------------------------------------------------


def by_class(
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
