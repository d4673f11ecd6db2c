"""Batched augmentation of uint8 image tensors on the training device.

One affine warp per batch does flip, rotation and the random crop together (a crop keeping
`crop` of each side, moved at random, then scaled back up); small faces (`downscale`: a share of
the batch shrunk to one side drawn per batch, then scaled back up, as a face far from the camera
looks once a scene crop is resized), brightness and Gaussian noise follow. Every random draw comes
from the generator passed in, so CPU runs repeat exactly; `downscale: 0` draws nothing.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

MEAN = torch.tensor([0.5, 0.5, 0.5])
STD = torch.tensor([0.25, 0.25, 0.25])


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 N x 3 x H x W -> normalised float32 (what every model sees, trained or not)."""
    x = x.float().div_(255)
    return (x - MEAN.to(x.device)[:, None, None]) / STD.to(x.device)[:, None, None]


def augment(x: torch.Tensor, cfg: dict, gen: torch.Generator) -> torch.Tensor:
    """uint8 batch -> augmented, normalised float batch (same device)."""
    n, dev = x.shape[0], x.device
    out = x.float().div_(255)

    def uniform(lo, hi):
        return torch.rand(n, generator=gen, device=dev) * (hi - lo) + lo

    flip = (
        torch.where(torch.rand(n, generator=gen, device=dev) < 0.5, -1.0, 1.0)
        if cfg["flip"]
        else torch.ones(n, device=dev)
    )
    angle = uniform(-1, 1) * math.radians(cfg["rotation"])
    side = uniform(cfg["crop"], 1.0)  # share of each side kept
    shift_x, shift_y = uniform(-1, 1) * (1 - side), uniform(-1, 1) * (1 - side)
    cos, sin = torch.cos(angle) * side, torch.sin(angle) * side
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, shift_x], 1), torch.stack([sin * flip, cos, shift_y], 1)], 1
    )
    grid = F.affine_grid(theta, list(out.shape), align_corners=False)
    out = F.grid_sample(out, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if cfg["downscale"] > 0:
        out = shrink(out, cfg["downscale"], cfg["downscale_min"], gen)
    if cfg["brightness"] > 0:
        out = out * uniform(1 - cfg["brightness"], 1 + cfg["brightness"])[:, None, None, None]
    if cfg["noise"] > 0:
        out = out + torch.randn(out.shape, generator=gen, device=dev) * cfg["noise"]
    out = out.clamp_(0, 1)
    return (out - MEAN.to(dev)[:, None, None]) / STD.to(dev)[:, None, None]


def shrink(x: torch.Tensor, share: float, smallest: int, gen: torch.Generator) -> torch.Tensor:
    """About `share` of the float batch x, shrunk to a side drawn (once per batch) from
    smallest..its own side, with antialiasing, and scaled back up: the detail a small face has."""
    n, side, dev = x.shape[0], x.shape[-1], x.device
    picked = torch.rand(n, generator=gen, device=dev) < share
    small = int(torch.randint(min(smallest, side), side + 1, (1,), generator=gen, device=dev))
    if not picked.any() or small >= side:
        return x
    low = F.interpolate(x[picked], size=(small, small), mode="bilinear", antialias=True)
    x = x.clone()
    x[picked] = F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return x


def shrunk(x, side: int):
    """uint8 N x 3 x S x S images (numpy) shrunk to `side` (antialiased) and scaled back up: the
    same images as a far smaller face would give (validation's `val_shrink` copies)."""
    t = torch.as_tensor(x).float()
    low = F.interpolate(t, size=(side, side), mode="bilinear", antialias=True)
    up = F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False)
    return up.round().clamp(0, 255).to(torch.uint8).numpy()
