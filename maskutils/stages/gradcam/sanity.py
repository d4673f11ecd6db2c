"""Model-parameter randomisation (Adebayo et al., 2018, "Sanity checks for saliency maps"): the
model's weighted layers are re-initialised from the top (the output) down, cumulatively, and the
maps of the same images for the same classes are compared with the original maps by Spearman rank
correlation and SSIM. A map that survives randomisation explains the image, not the model."""

from __future__ import annotations

import copy

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from torch import nn

from maskutils.core.stats import bootstrap_mean
from maskutils.stages.gradcam.cams import compute_cams

FRACTIONS = (0.25, 0.5, 1.0)  # shares of the weighted layers re-initialised, from the top
PASS_BELOW = 0.5  # the top half re-initialised must bring rank correlation below this


def weighted_layers(model: nn.Module) -> list[str]:
    """Names of the modules that own parameters directly (convolutions, norms, linear layers),
    in registration order: input side first."""
    return [n for n, m in model.named_modules() if n and any(True for _ in m.parameters(False))]


def randomised(model: nn.Module, fraction: float, seed: int) -> tuple[nn.Module, int]:
    """A copy of `model` with the top `fraction` of its weighted layers re-initialised (their
    own `reset_parameters`, running statistics reset), and how many were."""
    names = weighted_layers(model)
    k = max(1, int(round(fraction * len(names))))
    out = copy.deepcopy(model)
    torch.manual_seed(seed)
    for name in names[len(names) - k :]:
        mod = out.get_submodule(name)
        if hasattr(mod, "reset_parameters"):
            mod.reset_parameters()  # norms: weight 1, bias 0 and running stats reset
    return out, k


def rank_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho per pair of maps (N x H x W each); NaN where either map is flat."""
    ra = np.argsort(np.argsort(a.reshape(len(a), -1), 1), 1).astype(float)
    rb = np.argsort(np.argsort(b.reshape(len(b), -1), 1), 1).astype(float)
    flat = (np.ptp(a.reshape(len(a), -1), 1) == 0) | (np.ptp(b.reshape(len(b), -1), 1) == 0)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    rho = (ra * rb).sum(1) / np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    return np.where(flat, np.nan, rho)


def ssim(a: np.ndarray, b: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Mean structural similarity per pair of maps in [0, 1] (Wang et al., 2004: Gaussian window,
    C1 = 0.01^2, C2 = 0.03^2)."""
    c1, c2 = 0.01**2, 0.03**2

    def blur(x):
        return gaussian_filter(x, (0, sigma, sigma), mode="reflect")

    a, b = a.astype(np.float64), b.astype(np.float64)
    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma**2, blur(b * b) - mb**2, blur(a * b) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return s.mean((1, 2))


def cascade(
    model: nn.Module,
    images: np.ndarray,
    maps: np.ndarray,
    targets: np.ndarray,
    method: str,
    layer: str,
    reps: int,
    confidence: float,
    seed: int,
    batch_size: int = 32,
    fractions=FRACTIONS,
) -> dict:
    """Maps of `images` for `targets` after each cumulative randomisation in `fractions` (0.5
    among them), compared with the original `maps`; the verdict reads the top half's rank
    correlation."""
    if 0.5 not in fractions:
        raise ValueError(f"fractions must include 0.5, the top half the verdict reads: {fractions}")
    steps = []
    for j, fraction in enumerate(fractions):
        rand, k = randomised(model, fraction, seed + j)
        after = compute_cams(rand, images, method, layer, targets, batch_size).maps
        steps.append(
            {
                "fraction": fraction,
                "layers_randomised": k,
                "rank_correlation": bootstrap_mean(
                    rank_correlation(maps, after), reps, confidence, seed + j
                ),
                "ssim": bootstrap_mean(ssim(maps, after), reps, confidence, seed + j),
            }
        )
    half = next(s for s in steps if s["fraction"] == 0.5)["rank_correlation"]
    return {
        "n": int(len(images)),
        "layers": len(weighted_layers(model)),
        "steps": steps,
        "pass_below": PASS_BELOW,
        "passes": half["ci_high"] is not None and half["ci_high"] < PASS_BELOW,
    }
