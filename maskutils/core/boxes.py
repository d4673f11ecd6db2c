"""Box geometry: boxes are (x0, y0, x1, y1) in pixels, x1 and y1 exclusive."""

from __future__ import annotations

import math

import numpy as np


def iou(a, b) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1); 0 when either is empty."""
    return float(iou_matrix(np.asarray([a], float)[:, :4], np.asarray([b], float)[:, :4])[0, 0])


def iou_matrix(a, b) -> np.ndarray:
    """len(a) x len(b) IoU of boxes (x0, y0, x1, y1; extra columns ignored)."""
    a = np.asarray(a, dtype=float).reshape(-1, np.shape(a)[-1] if len(a) else 4)[:, :4]
    b = np.asarray(b, dtype=float).reshape(-1, np.shape(b)[-1] if len(b) else 4)[:, :4]
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    ix = np.clip(
        np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None
    )
    iy = np.clip(
        np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None
    )
    inter = ix * iy
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def box_side(boxes) -> np.ndarray:
    b = np.asarray(boxes, dtype=float).reshape(-1, 4) if len(boxes) else np.zeros((0, 4))
    return np.sqrt(np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None))


def crop_box(raw, margin: float, width: int, height: int, min_side: int):
    """(box, None) with the margin added and clipped to the image, or (None, reason) to drop it."""
    x0, y0, x1, y1 = raw
    if x1 <= x0 or y1 <= y0:
        return None, f"empty box {raw}"
    x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1)
    if x1 <= x0 or y1 <= y0:
        return None, f"box {raw} lies outside the {width}x{height} image"
    w, h = x1 - x0, y1 - y0
    if min(w, h) < min_side:
        return None, f"tiny box {raw} (side under voc.min_box_side={min_side})"
    x0, x1 = max(0.0, x0 - margin * w), min(float(width), x1 + margin * w)
    y0, y1 = max(0.0, y0 - margin * h), min(float(height), y1 + margin * h)
    return (math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)), None


def nms(boxes: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression on N x 5 (x0, y0, x1, y1, score): highest score first, then
    larger box; a box is dropped when its IoU with a kept one exceeds the threshold."""
    if len(boxes) < 2:
        return boxes
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order = np.lexsort((-area, -boxes[:, 4]))
    ious = iou_matrix(boxes[:, :4], boxes[:, :4])
    keep = []
    for i in order:
        if all(ious[i, j] <= iou_threshold for j in keep):
            keep.append(i)
    return boxes[sorted(keep, key=lambda k: (boxes[k, 1], boxes[k, 0]))]
