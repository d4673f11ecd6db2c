"""Model files: weights plus what inference needs, readable with torch.load(weights_only=True)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from maskutils.modeling.augment import MEAN, STD
from maskutils.modeling.backbones import Adapted, build_transfer
from maskutils.modeling.models import CNN, build_cnn


def save(
    model: nn.Module,
    path: str | Path,
    *,
    kind: str,
    name: str,
    classes: list[str],
    image_size: int,
    task: str,
    spec: dict | None = None,
    params: dict | None = None,
) -> Path:
    """kind 'cnn' (name = preset, spec = its layers) or 'transfer' (name = backbone; spec gets
    the side it is fed at)."""
    path = Path(path)
    if isinstance(model, (Adapted, CNN)):
        spec = {**(spec or {}), "input_size": model.size}
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "kind": kind,
        "name": name,
        "classes": list(classes),
        "image_size": int(image_size),
        "task": task,
        "spec": spec or {},
        "normalise": {"mean": MEAN.tolist(), "std": STD.tolist()},
        "params": params or {},
        "format": 1,
    }
    # standard strides: a model trained channels_last and the same weights loaded into a fresh
    # model give the same bytes, so a stage that loads a kept model re-runs nothing after it
    # (`contiguous()` keeps a channels_last tensor's strides when a dimension has size 1)
    state = {
        k: v.detach().cpu().clone(memory_format=torch.contiguous_format)
        for k, v in model.state_dict().items()
    }
    torch.save({"meta": meta, "state_dict": state}, path)
    return path


def load(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """(model in eval mode, meta). A missing or foreign file is an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"model file {path} not found: train one with `dvc repro train`, or pass --model"
        )
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        meta, state = blob["meta"], blob["state_dict"]
        n = len(meta["classes"])
        if meta["kind"] == "cnn":
            model = build_cnn(meta["name"], n, meta["image_size"], meta["spec"])
        else:
            model = build_transfer(meta["name"], n, None, meta["spec"].get("input_size"))
        model.load_state_dict(state)
    except Exception as exc:  # a pickle error, a missing key, mismatched tensors: all say the same
        raise ValueError(
            f"{path} is not a maskutils model file ({type(exc).__name__}: {exc})"
        ) from None
    return model.to(device).eval(), meta
