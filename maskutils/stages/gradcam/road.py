"""ROAD, RemOve And Debias (Rong et al., 2022): faithfulness that does not reward
out-of-distribution fills. Removed pixels are imputed from their neighbours (noisy linear
imputation), so a removal leaves no tell-tale patch that could move the prediction by itself.

`pytorch_grad_cam.metrics.road` solves one sparse linear system per image and threshold (seconds
per image here); `impute` solves the same equations -- every removed pixel equals the weighted
mean of its 8 neighbours (1/6 sideways, 1/12 diagonally), known pixels fixed -- for a whole batch
at once by Jacobi sweeps, coarse scales first (`_solve`), then adds the same noise
(sd 0.01 of the pixel range).

The score per image is ROAD's combined measure: the mean over `PERCENTILES` of
(p(class) with the map's least relevant pixels imputed - p(class) with its most relevant pixels
imputed) / 2. Higher is more faithful; a map that carries nothing scores about 0."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from maskutils.modeling.predict import predict_proba
from maskutils.stages.gradcam.measures import top_mask

PERCENTILES = (20, 50, 80)
ITERATIONS = 30  # Jacobi sweeps at each scale
COARSEST = 8  # the side below which no coarser scale is solved
NOISE = 0.01


def _neighbours(y: torch.Tensor) -> torch.Tensor:
    """Weighted sum of each pixel's 8 neighbours (outside the image counts 0)."""
    p = F.pad(y, (1, 1, 1, 1))
    side = p[..., 1:-1, :-2] + p[..., 1:-1, 2:] + p[..., :-2, 1:-1] + p[..., 2:, 1:-1]
    corner = p[..., :-2, :-2] + p[..., :-2, 2:] + p[..., 2:, :-2] + p[..., 2:, 2:]
    return side / 6 + corner / 12


def _solve(x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Jacobi sweeps for the unknown pixels, started from the solution one scale coarser
    (multigrid-like: a large hole fills from its whole rim, not only from its edge)."""
    h, w = x.shape[-2:]
    k = keep.float()
    if min(h, w) > COARSEST:
        sx = F.avg_pool2d(x * k, 2, ceil_mode=True)
        sk = F.avg_pool2d(k, 2, ceil_mode=True)
        coarse = _solve(sx / sk.clamp_min(1e-6), sk > 0)
        start = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    else:
        start = (x * k).sum((2, 3), keepdim=True) / k.sum((2, 3), keepdim=True).clamp_min(1)
        start = start.expand_as(x)
    norm = _neighbours(torch.ones(1, 1, h, w))  # border pixels have fewer neighbours
    y = torch.where(keep, x, start)
    for _ in range(ITERATIONS):
        y = torch.where(keep, x, _neighbours(y) / norm)
    return y


def impute(images: np.ndarray, removed: np.ndarray, seed: int = 0) -> np.ndarray:
    """uint8 images (N x 3 x H x W) with the `removed` pixels (N x H x W bool) replaced by noisy
    linear imputation from the rest."""
    x = torch.from_numpy(np.array(images, np.float32)) / 255
    keep = torch.from_numpy(np.array(~removed))[:, None]
    y = _solve(x, keep)
    g = torch.Generator().manual_seed(seed)
    y = torch.where(keep, y, y + NOISE * torch.randn(y.shape, generator=g))
    return (y.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def road_scores(
    model: nn.Module,
    images: np.ndarray,
    maps: np.ndarray,
    classes_idx: np.ndarray,
    seed: int = 0,
    batch_size: int = 64,
) -> np.ndarray:
    """ROAD's combined score per image for the maps' class `classes_idx` (see the module)."""
    rows = np.arange(len(images))
    total = np.zeros(len(images))
    for k, pct in enumerate(PERCENTILES):
        most = top_mask(maps, pct / 100, seed + k)
        least = top_mask(-maps, pct / 100, seed + k)
        p_most = predict_proba(model, impute(images, most, seed + k), batch_size)[rows, classes_idx]
        p_least = predict_proba(model, impute(images, least, seed + k), batch_size)[
            rows, classes_idx
        ]
        total += (p_least - p_most) / 2
    return total / len(PERCENTILES)
