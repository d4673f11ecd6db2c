"""Transfer-learning backbones: torchvision/timm networks with a new head, fed at their own input
size and normalisation, from ImageNet weights (`modeling.pretrained`) or random init.

Every image tensor in this project is normalised one way (`augment.to_float`); `Adapted` undoes
that, applies the backbone's own mean and std, and resizes to the side it is fed at, so the same
cached uint8 images serve the CNN and every backbone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from maskutils.modeling import pretrained
from maskutils.modeling.augment import MEAN, STD

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
TF_MEAN, TF_STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class Backbone:
    lib: str  # torchvision | timm
    ctor: str  # its constructor
    head: str  # dotted name of the final Linear layer (replaced for the study's classes)
    target: str  # Grad-CAM's layer: the output of the last convolutional block
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD
    size: int | None = None  # a side it must be fed at (inception_v3), else any


BACKBONES = {
    "mobilenet_v2": Backbone("torchvision", "mobilenet_v2", "classifier.1", "features.18"),
    "mobilenet_v3_small": Backbone(
        "torchvision", "mobilenet_v3_small", "classifier.3", "features.12"
    ),
    "efficientnet_lite0": Backbone(
        "timm", "tf_efficientnet_lite0", "classifier", "bn2", TF_MEAN, TF_STD
    ),
    "resnet50": Backbone("torchvision", "resnet50", "fc", "layer4"),
    "densenet121": Backbone("torchvision", "densenet121", "classifier", "features.denseblock4"),
    "inception_v3": Backbone("torchvision", "inception_v3", "fc", "Mixed_7c", size=299),
    "xception": Backbone("timm", "legacy_xception", "fc", "act4", TF_MEAN, TF_STD),
}


class Adapted(nn.Module):
    """A backbone fed at `size` px with its own normalisation (input: this project's tensors)."""

    def __init__(self, net: nn.Module, name: str, size: int):
        super().__init__()
        b = BACKBONES[name]
        self.net, self.name, self.size = net, name, int(size)
        mean, std = torch.tensor(b.mean)[:, None, None], torch.tensor(b.std)[:, None, None]
        # x_own = (x * STD + MEAN - mean) / std, as one scale and shift
        self.register_buffer("scale", STD[:, None, None] / std, persistent=False)
        self.register_buffer("shift", (MEAN[:, None, None] - mean) / std, persistent=False)

    def forward(self, x):
        x = x * self.scale + self.shift
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return self.net(x)

    @property
    def head(self) -> nn.Linear:
        return self.net.get_submodule(BACKBONES[self.name].head)

    @property
    def target_layer(self) -> str:
        """Grad-CAM's layer, as a dotted name of this module."""
        return f"net.{BACKBONES[self.name].target}"


def build_transfer(
    name: str, n_classes: int, weights: str | None = None, input_size: int | None = None
) -> Adapted:
    """`name` with its head replaced for n_classes. weights: `imagenet` (the file the set-up
    installs, verified), a local `.pth` path, or None (random init). input_size: the side it is
    fed at (None: 224, or the size the backbone requires)."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; backbones: {', '.join(BACKBONES)}")
    b = BACKBONES[name]
    if weights == "imagenet" and name not in pretrained.SHIPPED:
        raise ValueError(
            f"transfer.weights: imagenet weights ship for {', '.join(pretrained.SHIPPED)} only; "
            f"for {name} name a local .pth file (its ImageNet state dict) or use null"
        )
    state = None
    if weights == "imagenet":
        state = pretrained.shipped_state(name)
    elif weights is not None:
        state = pretrained.local_state(name, Path(weights))
    if b.lib == "timm":
        import timm

        net = timm.create_model(b.ctor, pretrained=False)
    else:
        import torchvision

        kwargs = {"aux_logits": True, "init_weights": False} if name == "inception_v3" else {}
        net = getattr(torchvision.models, b.ctor)(weights=None, **kwargs)
    if state is not None:
        net.load_state_dict(state)  # strict: a file of another layout fails here
    _replace_head(net, b.head, n_classes)
    if name == "inception_v3":
        net.AuxLogits.fc = nn.Linear(net.AuxLogits.fc.in_features, n_classes)
    return Adapted(net, name, b.size or input_size or 224)


def _replace_head(net: nn.Module, head: str, n_classes: int) -> None:
    parent, _, leaf = head.rpartition(".")
    owner = net.get_submodule(parent) if parent else net
    old = getattr(owner, leaf) if not leaf.isdigit() else owner[int(leaf)]
    new = nn.Linear(old.in_features, n_classes)
    if leaf.isdigit():
        owner[int(leaf)] = new
    else:
        setattr(owner, leaf, new)
