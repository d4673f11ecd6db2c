"""Trained models kept under a key of what decides them, so that a stage run again for any other
reason (a report, a figure or the card edited) loads its models instead of training them. The
k-fold folds are kept the same way (`crossval.fold_key`); docs/architecture.md says why this,
and not a split of each stage into a computing and a rendering stage.

The key: the model's kind and backbone, the training recipe's keys that can change it, the ids
and pixels of its training and validation images, and the training code (`crossval.code_digest`:
maskutils/core, prepare, modeling). What is kept: the weights (loaded with `weights_only`, never
unpickled), the history, the epoch kept and the seconds it took; for a fine-tuned model, its
linear probe too.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from maskutils.modeling.fit import FitResult
from maskutils.modeling.params import RECIPE_SCHEMA


def key(kind: str, backbone: str | None, cfg: dict, images: np.ndarray, ids, y) -> str:
    from maskutils.modeling.build import unused_keys
    from maskutils.modeling.crossval import code_digest

    recipe = {k: cfg[k] for k in RECIPE_SCHEMA.tree if k not in unused_keys(kind)}
    h = hashlib.sha1(
        json.dumps(
            {"kind": kind, "backbone": backbone, "recipe": recipe, "ids": list(map(str, ids))},
            sort_keys=True,
        ).encode()
    )
    h.update(np.ascontiguousarray(images).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    h.update(code_digest().encode())
    return h.hexdigest()[:16]


def channels_last(model: nn.Module) -> bool:
    """Whether the model's convolutions are laid out channels_last (as `fit.Trainer` leaves
    them): a kept model is loaded so, because the layout picks the kernels, and with them the
    last digits of every probability the stage writes."""
    return any(
        p.dim() == 4
        and not p.is_contiguous()
        and p.is_contiguous(memory_format=torch.channels_last)
        for p in model.parameters()
    )


def _save_one(folder: Path, res: FitResult, **extra) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu() for k, v in res.model.state_dict().items()}, folder / "w.pt")
    res.history.to_csv(folder / "history.csv", index=False)
    meta = {
        "best_epoch": res.best_epoch,
        "seconds": res.seconds,
        "channels_last": channels_last(res.model),
        **extra,
    }
    (folder / "meta.json").write_text(json.dumps(meta))  # last: its presence marks it done


def _load_one(folder: Path, model: nn.Module) -> FitResult:
    model.load_state_dict(torch.load(folder / "w.pt", map_location="cpu", weights_only=True))
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("channels_last"):
        model = model.to(memory_format=torch.channels_last)
    history = pd.read_csv(folder / "history.csv")
    return FitResult(model.eval(), history, meta["best_epoch"], meta["seconds"])


def save(root: Path, k: str, res: FitResult, probe: FitResult | None) -> None:
    """Keeps a trained model (and its linear probe, if any) under key `k`."""
    if probe is not None:
        _save_one(root / k / "probe", probe)
    _save_one(root / k / "model", res, probe=probe is not None)


def load(root: Path, k: str, model: nn.Module):
    """(result, probe or None) kept under key `k`, the weights loaded into `model` (and into a
    copy of it for the probe); None when nothing is kept."""
    path = root / k / "model" / "meta.json"
    if not path.is_file():
        return None
    probe = None
    if json.loads(path.read_text())["probe"]:
        probe = _load_one(root / k / "probe", copy.deepcopy(model))
    return _load_one(root / k / "model", model), probe
