"""The study's from-scratch CNNs: `build_cnn` makes a preset, optionally with overrides (the
transfer-learning backbones are in `modeling.backbones`)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

#: From-scratch networks of the study, by name. channels: one conv3x3+BN+activation block each;
#: pool_after: block indices followed by 2x2 max-pooling; fc: hidden sizes of the head.
PRESETS = {
    "study5_leaky": dict(
        channels=[32, 64, 128, 256, 256],
        pool_after=[0, 1, 2, 3, 4],
        activation="leaky_relu",
        fc=[256, 128],
        dropout=0.2,
        global_pool=False,
    ),
    "study5_relu": dict(
        channels=[32, 32, 64, 64, 128],
        pool_after=[1, 3],
        activation="relu",
        fc=[128],
        dropout=0.0,
        global_pool=False,
    ),
    "tiny3": dict(
        channels=[4, 8, 16],
        pool_after=[0, 1, 2],
        activation="relu",
        fc=[32],
        dropout=0.0,
        global_pool=False,
    ),
    "small": dict(
        channels=[32, 64, 96, 128],
        pool_after=[0, 1, 2, 3],
        activation="relu",
        fc=[128],
        dropout=0.2,
        global_pool=True,
    ),
}


class CNN(nn.Module):
    """conv3x3(pad 1) + BatchNorm + activation blocks, max-pooling after chosen blocks, an FC
    head."""

    def __init__(
        self,
        n_classes: int,
        image_size: int,
        channels,
        pool_after,
        activation="relu",
        fc=(128,),
        dropout=0.0,
        global_pool=False,
        input_size=None,
    ):
        super().__init__()
        self.size = int(input_size or image_size)  # the side it is fed at (inputs are resized)
        act = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.1)}[activation]
        layers, c_in = [], 3
        for i, c in enumerate(channels):
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), act()]
            if i in pool_after:
                layers.append(nn.MaxPool2d(2))
            c_in = c
        if global_pool:
            layers.append(nn.AdaptiveAvgPool2d(1))
        self.features = nn.Sequential(*layers)
        with torch.no_grad():  # the FC input size, computed from the input size
            n_flat = self.features(torch.zeros(1, 3, self.size, self.size)).numel()
        head, width = [nn.Flatten()], n_flat
        for hidden in fc:
            head += [nn.Dropout(dropout), nn.Linear(width, hidden), act()]
            width = hidden
        head += [nn.Dropout(dropout), nn.Linear(width, n_classes)]
        self.classifier = nn.Sequential(*head)

    def forward(self, x):
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(
                x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False
            )
        return self.classifier(self.features(x))


def cnn_spec(preset: str, overrides: dict | None = None) -> dict:
    if preset not in PRESETS:
        raise ValueError(f"unknown CNN preset {preset!r}; presets: {', '.join(PRESETS)}")
    spec = dict(PRESETS[preset])
    spec.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return spec


def build_cnn(preset: str, n_classes: int, image_size: int, overrides: dict | None = None) -> CNN:
    return CNN(n_classes, image_size, **cnn_spec(preset, overrides))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
