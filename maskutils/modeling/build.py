"""The study's models by kind, each with the trainer of its recipe, for every stage that trains.

Kinds: `cnn` (the from-scratch CNN of `cnn.*`), `transfer` (`transfer.backbone` from
`transfer.weights`, the two-phase recipe of `modeling.transfer`), `scratch` (the same backbone from
random init, trained like the CNN: every layer, `epochs` at `lr`, what pretraining is compared
against).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from torch import nn

from maskutils.modeling import augment, recipes
from maskutils.modeling.backbones import build_transfer
from maskutils.modeling.fit import Trainer, seed_everything
from maskutils.modeling.models import build_cnn, cnn_spec
from maskutils.modeling.rebalance import rebalance
from maskutils.modeling.transfer import TransferTrainer

KINDS = ("cnn", "transfer", "scratch")
CANDIDATES = ("transfer", "cnn")  # what `model: best` chooses between; a tie goes to the first
CHOICE = "study.json"  # in models/: the kind the train stage studies (read for `model: best`)


def write_choice(models_dir: Path, kind: str, requested: str) -> None:
    (Path(models_dir) / CHOICE).write_text(
        json.dumps({"model": kind, "requested": requested}) + "\n"
    )


def read_choice(models_dir: Path) -> str:
    """The kind the train stage studies; an error naming the file if the train stage has not run."""
    path = Path(models_dir) / CHOICE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: missing; `model: best` in params/train.yaml is chosen by the train stage, "
            "run it first (maskutils stage train, or dvc repro)"
        )
    kind = json.loads(path.read_text()).get("model")
    if kind not in CANDIDATES:
        raise ValueError(f"{path}: model is {kind!r}, expected one of {', '.join(CANDIDATES)}")
    return kind


#: `transfer.input_size: auto` feeds a backbone at the cached side, but never below this: at 96 px
#: a 32-fold backbone's last block is still a 3x3 grid (the synthetic default's 64 px faces)
MIN_INPUT = 96
#: `cnn.input_size: auto` feeds the from-scratch CNN at the cached side, but never above this, so
#: that its epochs on 160 px photos stay affordable on a CPU
CNN_MAX_INPUT = 64


def input_sides(cfg: dict, image_size: int) -> dict[str, int]:
    """The side each kind is fed at, from the recipe's `auto` or numbers and the cached side."""
    cnn, tr = cfg["cnn"]["input_size"], cfg["transfer"]["input_size"]
    return {
        "cnn": min(image_size, CNN_MAX_INPUT) if cnn == "auto" else cnn,
        "transfer": max(image_size, MIN_INPUT) if tr == "auto" else tr,
    }


def cnn_overrides(cfg: dict) -> dict:
    return {k: v for k, v in cfg["cnn"].items() if k not in ("preset", "input_size")}


def build(kind: str, cfg: dict, n_classes: int, image_size: int, backbone: str | None = None):
    """A freshly initialised model of `kind` (seeded by cfg's seed: equal params, equal weights)
    for images cached at `image_size`. `backbone` overrides transfer.backbone (the train stage's
    extra comparisons)."""
    seed_everything(cfg["seed"])
    sides = input_sides(cfg, image_size)
    if kind == "cnn":
        preset = cfg["cnn"]["preset"]
        spec = cnn_spec(preset, {**cnn_overrides(cfg), "input_size": sides["cnn"]})
        return build_cnn(preset, n_classes, image_size, spec)
    tr = cfg["transfer"]
    name = backbone or tr["backbone"]
    if name == "none":
        raise ValueError(
            "params/train.yaml: model is 'transfer' but transfer.backbone is 'none'; "
            "name a backbone or set model: cnn"
        )
    weights = tr["weights"] if kind == "transfer" else None
    if backbone is not None and kind == "transfer":
        weights = "imagenet"
    return build_transfer(name, n_classes, weights, sides["transfer"])


def trainer(kind, model: nn.Module, x_train, y_train, x_val, y_val, cfg, n_classes, **kw):
    """The trainer of `kind`'s recipe (`fit.Trainer` or `transfer.TransferTrainer`); kw:
    sample_weight, epoch_size."""
    cls = TransferTrainer if kind == "transfer" else Trainer
    return cls(model, x_train, y_train, x_val, y_val, cfg, n_classes, **kw)


def validation(x_val: np.ndarray, y_val: np.ndarray, cfg: dict):
    """The images early stopping scores: the validation rows, and with `val_shrink` copies of
    them shrunk to that side beside them (small faces)."""
    if not cfg["val_shrink"]:
        return x_val, y_val
    shrunk = augment.shrunk(x_val, cfg["val_shrink"])
    return np.concatenate([x_val, shrunk]), np.concatenate([y_val, y_val])


def trainer_for(p, y, train, val, cfg: dict, n_classes: int, mitigation: dict | None = None):
    """A fresh model of the recipe's kind (`cfg["model"]`) and its trainer, on rows `train` of the
    prepared data `p` (labels `y`), validated on rows `val`. `mitigation` rebalances the training
    rows (`modeling.rebalance`, seeded by cfg's seed); an epoch still draws len(train) images."""
    cfg = recipes.resolve(cfg, p.info)
    rows, weight = rebalance(p.manifest, train, y, mitigation or {"method": "none"}, cfg["seed"])
    if weight is not None:  # every rebalancing weight balances the classes already
        cfg = {**cfg, "class_weights": "none"}
    kind = cfg["model"]
    model = build(kind, cfg, n_classes, p.info["image_size"])
    x_val, y_val = validation(p.images[val], y[val], cfg)
    return trainer(
        kind,
        model,
        p.images[rows],
        y[rows],
        x_val,
        y_val,
        cfg,
        n_classes,
        sample_weight=weight,
        epoch_size=len(train),
    )


def unused_keys(kind: str) -> tuple[str, ...]:
    """Recipe sections that cannot change a model of `kind` (left out of cache keys)."""
    return ("transfer",) if kind == "cnn" else ("cnn",)
