"""Predictions of a trained model: class probabilities of cached images, and of image files and
folders (`maskutils predict`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from maskutils.core.files import walk
from maskutils.core.images import IMAGE_SUFFIXES, BadImage, decode, resize
from maskutils.modeling.augment import to_float
from maskutils.modeling.checkpoint import load


@torch.no_grad()
def _logits(model: nn.Module, x, batch_size: int, device):
    """The model's float logits for uint8 images, batch by batch, in eval mode."""
    device = device or next(model.parameters()).device
    model.eval()
    for i in range(0, len(x), batch_size):
        xb = to_float(torch.as_tensor(x[i : i + batch_size]).to(device, non_blocking=True))
        if device.type == "cuda":
            xb = xb.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            yield model(xb).float()


def predict_proba(
    model: nn.Module, x: torch.Tensor, batch_size: int = 256, device=None
) -> np.ndarray:
    """Class probabilities for uint8 images (N x 3 x S x S), in batches, in eval mode."""
    out = [torch.softmax(z, 1).cpu() for z in _logits(model, x, batch_size, device)]
    return torch.cat(out).numpy() if out else np.empty((0, 0))


def predict_logits(model: nn.Module, x, batch_size: int = 256, device=None) -> np.ndarray:
    """Class logits (before softmax) for uint8 images: what temperature scaling divides."""
    out = [z.cpu() for z in _logits(model, x, batch_size, device)]
    return torch.cat(out).numpy() if out else np.empty((0, 0))


def expand(paths) -> tuple[list[Path], list[dict]]:
    """(files as given, and folders' image files, searched recursively; problems: folders that
    cannot be listed, broken links...). A file given that is not a regular file fails decode."""
    out, problems = [], []
    for p in map(Path, paths):
        if p.is_dir():
            files, bad = walk(p)
            out += [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
            problems += [{"file": f, "reason": reason} for f, reason in bad]
        else:
            out.append(p)
    return out, problems


def classify(
    paths, model_path: str | Path, batch_size: int = 128
) -> tuple[pd.DataFrame, list[dict]]:
    """(table: file, class, probability, p_<class>...; problems: file, reason for unreadable
    files)."""
    model, meta = load(model_path)
    size, classes = meta["image_size"], meta["classes"]
    files, images = [], []
    paths, problems = expand(paths)
    for f in paths:
        try:
            images.append(resize(decode(f)[0], size).transpose(2, 0, 1))
            files.append(str(f))
        except (BadImage, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            problems.append({"file": str(f), "reason": str(exc)})
    if not files:
        return pd.DataFrame(columns=["file", "class", "probability"]), problems
    probs = predict_proba(model, np.stack(images), batch_size)
    table = pd.DataFrame(
        {"file": files, "class": [classes[i] for i in probs.argmax(1)], "probability": probs.max(1)}
    )
    for k, c in enumerate(classes):
        table[f"p_{c}"] = probs[:, k]
    return table, problems
