"""The fit loop: cached uint8 tensors in, a trained model and its per-epoch history out."""
from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from .augment import augment, to_float
from .metrics import macro_f1


def resolve_device(name: str = "auto") -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def class_weights(y: np.ndarray, n_classes: int, mode) -> torch.Tensor | None:
    """'auto': inverse class frequency, scaled to mean 1; a list: as given; 'none': None."""
    if mode == "none":
        return None
    if mode == "auto":
        counts = np.bincount(y, minlength=n_classes).astype(float)
        w = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
        return torch.tensor(w / w[counts > 0].mean(), dtype=torch.float32)
    if len(mode) != n_classes:
        raise ValueError(f"train.class_weights has {len(mode)} values for {n_classes} classes")
    return torch.tensor(mode, dtype=torch.float32)


@dataclass
class FitResult:
    model: nn.Module
    history: pd.DataFrame
    best_epoch: int
    seconds: float
    device: str
    images_per_second: float = 0.0


@torch.no_grad()
def predict_proba(model: nn.Module, x: torch.Tensor, batch_size: int = 256, device=None) -> np.ndarray:
    """Class probabilities for uint8 images (N x 3 x S x S), in batches, in eval mode."""
    device = device or next(model.parameters()).device
    model.eval()
    out = []
    for i in range(0, len(x), batch_size):
        xb = to_float(torch.as_tensor(x[i:i + batch_size]).to(device, non_blocking=True))
        if device.type == "cuda":
            xb = xb.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = model(xb)
        out.append(torch.softmax(logits.float(), 1).cpu())
    return torch.cat(out).numpy() if out else np.empty((0, 0))


def fit(model: nn.Module, x_train, y_train, x_val, y_val, cfg: dict, n_classes: int,
        head_only_epochs: int = 0, head_params=None, progress: bool = True) -> FitResult:
    """Train with Adam and early stopping on validation macro-F1; restores the best weights.

    cfg: the `train` params (epochs, batch_size, lr, weight_decay, class_weights,
    label_smoothing, patience, schedule, finetune_lr_factor) plus `augment` and `device`.
    With head_only_epochs > 0, the first epochs train only `head_params` (the backbone frozen),
    then everything at lr x finetune_lr_factor.
    """
    device = resolve_device(cfg["device"])
    seed_everything(cfg["seed"])
    gen = torch.Generator(device=device).manual_seed(cfg["seed"])
    model = model.to(device).to(memory_format=torch.channels_last)
    xt = torch.as_tensor(np.ascontiguousarray(x_train)).to(device)
    yt = torch.as_tensor(y_train, dtype=torch.long).to(device)
    weight = class_weights(np.asarray(y_train), n_classes, cfg["class_weights"])
    loss_fn = nn.CrossEntropyLoss(weight=None if weight is None else weight.to(device),
                                  label_smoothing=cfg["label_smoothing"])
    epochs, bs = cfg["epochs"], cfg["batch_size"]
    steps = max(1, -(-len(xt) // bs))
    phase_params = head_params if head_only_epochs > 0 else list(model.parameters())
    opt, sched = _optimiser(phase_params, cfg["lr"], cfg, epochs if head_only_epochs == 0 else head_only_epochs, steps)
    rows, best, best_f1, best_epoch, stale = [], None, -1.0, 0, 0
    t0, seen = time.perf_counter(), 0
    bar = tqdm(range(epochs), desc="train", unit="epoch", disable=not progress or None, leave=False)
    for epoch in bar:
        if head_only_epochs and epoch == head_only_epochs:  # phase 2: everything, lower lr
            opt, sched = _optimiser(list(model.parameters()), cfg["lr"] * cfg["finetune_lr_factor"], cfg,
                                    epochs - epoch, steps)
        _set_trainable(model, head_params if head_only_epochs and epoch < head_only_epochs else None)
        te = time.perf_counter()
        model.train()
        order = torch.randperm(len(xt), generator=gen, device=device)
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(xt), bs):
            idx = order[i:i + bs]
            xb = augment(xt[idx], cfg["augment"], gen).contiguous(memory_format=torch.channels_last)
            yb = yt[idx]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                out = model(xb)
                if isinstance(out, tuple):  # inception_v3 in training: (logits, aux_logits)
                    loss = loss_fn(out[0].float(), yb) + 0.4 * loss_fn(out[1].float(), yb)
                    out = out[0]
                else:
                    loss = loss_fn(out.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((out.argmax(1) == yb).sum())
            total += len(idx)
        seen += total
        train_time = time.perf_counter() - te
        row = {"epoch": epoch + 1, "train_loss": loss_sum / total, "train_accuracy": correct / total}
        row.update(_validate(model, x_val, y_val, loss_fn, device, n_classes))
        row["seconds"] = time.perf_counter() - te
        row["train_images_per_second"] = total / train_time
        rows.append(row)
        bar.set_postfix(val_f1=f"{row['val_macro_f1']:.3f}")
        if row["val_macro_f1"] > best_f1:
            best_f1, best_epoch, stale = row["val_macro_f1"], epoch + 1, 0
            best = copy.deepcopy(model.state_dict())
        else:
            stale += 1
            if stale >= cfg["patience"]:
                break
    model.load_state_dict(best)
    _set_trainable(model, None)
    seconds = time.perf_counter() - t0
    return FitResult(model.eval(), pd.DataFrame(rows), best_epoch, seconds, str(device),
                     images_per_second=seen / sum(r["seconds"] for r in rows))


def _optimiser(params, lr, cfg, epochs, steps):
    opt = torch.optim.Adam(params, lr=lr, weight_decay=cfg["weight_decay"])
    if cfg["schedule"] == "cosine":
        return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps)
    if cfg["schedule"] == "onecycle":
        return opt, torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps)
    return opt, None


def _set_trainable(model: nn.Module, only) -> None:
    keep = None if only is None else {id(p) for p in only}
    for p in model.parameters():
        p.requires_grad_(keep is None or id(p) in keep)


def _validate(model, x_val, y_val, loss_fn, device, n_classes) -> dict:
    if x_val is None or len(x_val) == 0:
        return {"val_loss": float("nan"), "val_accuracy": float("nan"), "val_macro_f1": 0.0}
    probs = torch.as_tensor(predict_proba(model, x_val, device=device))
    y = torch.as_tensor(y_val, dtype=torch.long)
    pred = probs.argmax(1).numpy()
    loss = float(nn.functional.nll_loss(torch.log(probs.clamp_min(1e-12)), y,
                                        weight=None if loss_fn.weight is None else loss_fn.weight.cpu()))
    return {"val_loss": loss, "val_accuracy": float((pred == y.numpy()).mean()),
            "val_macro_f1": macro_f1(np.asarray(y_val), pred, n_classes)}
