"""Maps that do not look at the image, for a reader's comparison with the CAMs: smoothed random
maps at full resolution and at the CAM's own grid, a map peaked at the image centre, and the data's
prior (the mean ROI mask of the training split). The uniform map needs no array: its energy share
and pointing-hit probability both equal the ROI's area share."""

from __future__ import annotations

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from torch.nn import functional as F


def _unit(m: np.ndarray) -> np.ndarray:
    lo = m.min((-2, -1), keepdims=True)
    return ((m - lo) / np.maximum(m.max((-2, -1), keepdims=True) - lo, 1e-12)).astype(np.float32)


def random_maps(n: int, size: int, seed: int, sigma: float | None = None) -> np.ndarray:
    """Smoothed random maps in [0, 1]: Gaussian-filtered white noise (sigma = size / 8 by
    default), one per image."""
    rng = np.random.default_rng(seed)
    sigma = size / 8 if sigma is None else sigma
    noise = rng.standard_normal((n, size, size))
    return _unit(np.stack([gaussian_filter(m, sigma, mode="wrap") for m in noise]))


def grid_random_maps(n: int, size: int, grid: int, seed: int) -> np.ndarray:
    """Random maps made the way a CAM is: white noise on a `grid` x `grid` map, upsampled
    bilinearly to `size` (like-for-like with a CAM whose layer has that grid)."""
    noise = np.random.default_rng(seed).random((n, 1, grid, grid), dtype=np.float32)
    up = F.interpolate(torch.from_numpy(noise), size=(size, size), mode="bilinear")
    return _unit(up[:, 0].numpy())


def centre_map(size: int) -> np.ndarray:
    """One map peaked at the image centre (a Gaussian, sigma = size / 4)."""
    c = np.arange(size) - (size - 1) / 2
    return _unit(np.exp(-(c[:, None] ** 2 + c[None, :] ** 2) / (2 * (size / 4) ** 2)))


def prior_map(train_masks: np.ndarray) -> np.ndarray:
    """The data's prior: the mean ROI mask of the training images (where masks sit, without
    looking at any one image)."""
    if not len(train_masks):
        raise ValueError("the prior needs the ROI masks of at least one training image")
    return _unit(train_masks.mean(0))
