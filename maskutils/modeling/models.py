"""The study's CNNs and the transfer-learning backbones.

`build_cnn` makes a from-scratch CNN (a preset, optionally with overrides); `build_transfer` a
torchvision/timm backbone with a new head. Pretrained weights are read from a
local file only; nothing is downloaded. Asked for and absent is an error saying where to put it.
"""

from __future__ import annotations

from pathlib import Path

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
#: torchvision/timm backbones: (library, constructor name, input size it needs or None).
BACKBONES = {
    "mobilenet_v2": ("torchvision", "mobilenet_v2", None),
    "mobilenet_v3_small": ("torchvision", "mobilenet_v3_small", None),
    "resnet50": ("torchvision", "resnet50", None),
    "densenet121": ("torchvision", "densenet121", None),
    "inception_v3": ("torchvision", "inception_v3", 299),
    "xception": ("timm", "legacy_xception", None),
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
    ):
        super().__init__()
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
            n_flat = self.features(torch.zeros(1, 3, image_size, image_size)).numel()
        head, width = [nn.Flatten()], n_flat
        for hidden in fc:
            head += [nn.Dropout(dropout), nn.Linear(width, hidden), act()]
            width = hidden
        head += [nn.Dropout(dropout), nn.Linear(width, n_classes)]
        self.classifier = nn.Sequential(*head)

    def forward(self, x):
        return self.classifier(self.features(x))


class Resized(nn.Module):
    """Resizes the input to the size a backbone needs (inception_v3: 299 px) before running it."""

    def __init__(self, net: nn.Module, size: int):
        super().__init__()
        self.net, self.size = net, size

    def forward(self, x):
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return self.net(x)


def cnn_spec(preset: str, overrides: dict | None = None) -> dict:
    if preset not in PRESETS:
        raise ValueError(f"unknown CNN preset {preset!r}; presets: {', '.join(PRESETS)}")
    spec = dict(PRESETS[preset])
    spec.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return spec


def build_cnn(preset: str, n_classes: int, image_size: int, overrides: dict | None = None) -> CNN:
    return CNN(n_classes, image_size, **cnn_spec(preset, overrides))


def weights_file(name: str, weights: str | None) -> Path | None:
    """The local file to read pretrained weights from: a path, or 'cache' (torch's own cache)."""
    if weights is None:
        return None
    if weights == "cache":
        lib, ctor, _ = BACKBONES[name]
        path = Path(torch.hub.get_dir()) / "checkpoints" / _cache_name(lib, ctor)
    else:
        path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(
            f"pretrained weights for {name} not found at {path}. Nothing is downloaded at run "
            "time: "
            f"put the {name} ImageNet state dict there (a .pth file), or set transfer.weights to "
            "its path, "
            "or to null to train from random initialisation."
        )
    return path


def _cache_name(lib: str, ctor: str) -> str:
    if lib == "timm":
        return f"{ctor}.pth"
    import torchvision

    url = torchvision.models.get_model_weights(ctor).DEFAULT.url  # the file torchvision would cache
    return url.rsplit("/", 1)[-1]


def build_transfer(name: str, n_classes: int, weights: str | None = None) -> nn.Module:
    """A backbone with its classifier replaced for n_classes, from local weights or random init."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; backbones: {', '.join(BACKBONES)}")
    lib, ctor, size = BACKBONES[name]
    path = weights_file(name, weights)
    if lib == "timm":
        import timm

        net = timm.create_model(ctor, pretrained=False)
    else:
        import torchvision

        kwargs = {"aux_logits": True, "init_weights": False} if name == "inception_v3" else {}
        net = getattr(torchvision.models, ctor)(weights=None, **kwargs)
    if path is not None:
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    _replace_head(net, name, n_classes)
    return Resized(net, size) if size else net


def _replace_head(net: nn.Module, name: str, n_classes: int) -> None:
    if name in ("mobilenet_v2", "mobilenet_v3_small"):
        net.classifier[-1] = nn.Linear(net.classifier[-1].in_features, n_classes)
    elif name == "densenet121":
        net.classifier = nn.Linear(net.classifier.in_features, n_classes)
    elif name == "xception":
        net.reset_classifier(n_classes)
    else:  # resnet50, inception_v3 (and its auxiliary head)
        net.fc = nn.Linear(net.fc.in_features, n_classes)
        if name == "inception_v3":
            net.AuxLogits.fc = nn.Linear(net.AuxLogits.fc.in_features, n_classes)


def head_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters of the replaced head(s): what a frozen-backbone phase trains."""
    net = model.net if isinstance(model, Resized) else model
    heads = [
        m for n, m in net.named_modules() if n in ("classifier", "fc", "AuxLogits.fc", "head.fc")
    ]
    if not heads and hasattr(net, "get_classifier"):
        heads = [net.get_classifier()]
    if isinstance(net, CNN):
        heads = [net.classifier]
    return [p for h in heads for p in h.parameters()]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
