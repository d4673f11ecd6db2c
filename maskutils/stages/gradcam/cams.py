"""Class activation maps from pytorch-grad-cam (`METHODS`) at a target layer found automatically
(the deepest block whose map has at least `min_grid` cells a side, see `find_target_layer`) or
named. Every map is
min-max scaled to [0, 1] per image (the library's convention) at the input's size."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from maskutils.modeling.augment import to_float
from maskutils.stages.gradcam.params import METHODS

_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


# ---- target layer -----------------------------------------------------------------------------


def _trace(model: nn.Module, image_size: int) -> list[tuple[str, nn.Module, torch.Tensor, int]]:
    """(name, module, output, output version at hook time) of every module call, in finishing
    order."""
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


def layer_sides(model: nn.Module, image_size: int) -> dict[str, int]:
    """{candidate layer: the shorter side of its output map} for an input of `image_size` px."""
    names = set(layer_candidates(model, image_size))
    return {n: min(o.shape[-2:]) for n, _, o, _ in _trace(model, image_size) if n in names}


def find_target_layer(model: nn.Module, image_size: int, min_grid: int = 1) -> str:
    """Dotted name of the deepest candidate (`layer_candidates`) whose map is at least
    `min_grid` x `min_grid` cells; of modules returning the same tensor (a block and its last
    child) the outermost. min_grid 1: the last convolutional block. When no candidate reaches
    `min_grid` (a tiny input), the deepest of those with the finest map."""
    sides = layer_sides(model, image_size)
    if not sides:
        raise ValueError(
            "no module of this model has a spatial (N x C x H x W, H x W > 1) output to explain"
        )
    fine = [n for n, s in sides.items() if s >= min_grid]
    return (fine or [n for n, s in sides.items() if s == max(sides.values())])[-1]


def resolve_layer(
    model: nn.Module, name: str | None, image_size: int, min_grid: int | None = None
) -> tuple[str, nn.Module]:
    """(name, module) of the target layer: `name`; when None, the deepest layer whose map has at
    least `min_grid` cells a side (`find_target_layer`), or without `min_grid` the last block a
    backbone declares (`modeling.backbones`, as `model.target_layer`) or finds."""
    if name is None:
        declared = getattr(model, "target_layer", None)
        name = (
            find_target_layer(model, image_size, min_grid or 1)
            if min_grid is not None or declared is None
            else declared
        )
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
    grid: int = 0  # the shorter side of the target layer's map, in cells

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
        "hirescam": pgc.HiResCAM,
        "layercam": pgc.LayerCAM,
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
    min_grid: int | None = None,
) -> Cams:
    """CAMs of uint8 images (N x 3 x S x S) for `targets` (class per image; None: the predicted
    class), in batches, at `target_layer` (None: see `resolve_layer`). The hooks are removed
    afterwards and the model's train/eval mode restored."""
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    images = np.asarray(images)
    size = images.shape[-1]
    name, layer = resolve_layer(model, target_layer, size, min_grid)
    grid = layer_sides(model, size).get(name, 0)
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
            grid,
        )
    return Cams(
        np.concatenate(maps), np.concatenate(logits), np.concatenate(chosen), name, method, grid
    )
