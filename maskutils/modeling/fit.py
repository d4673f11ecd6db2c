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

from maskutils.core.metrics import macro_f1
from maskutils.core.progress import note
from maskutils.modeling.augment import augment
from maskutils.modeling.predict import predict_proba


def resolve_device(name: str = "auto") -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def uses_bf16(precision: str, device: torch.device) -> bool:
    """Whether training steps autocast to bf16 (params `precision`); an error for `bf16` on a CPU
    without native bf16 instructions, where it would run several times slower than fp32."""
    if precision == "bf16" and device.type == "cpu" and not cpu_has_bf16():
        raise ValueError(
            "params/train.yaml: precision is bf16, but this CPU has no native bf16 instructions "
            "(AVX-512 BF16 or AMX), where bf16 runs several times slower than fp32: use fp32 or "
            "auto"
        )
    return precision == "bf16" or (precision == "auto" and device.type == "cuda")


def cpu_has_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


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


class Trainer:
    """One model's training, an epoch per `epoch()` call, so several can run interleaved.

    Adam, early stopping on validation macro-F1 (the best weights are restored by `result()`).
    cfg: the `train` params (epochs, batch_size, lr, weight_decay, class_weights,
    label_smoothing, patience, schedule, augment, device, precision, seed). `frozen_bn` keeps every
    BatchNorm layer's running statistics as they are (fine-tuning a pretrained backbone);
    `groups` (Adam parameter groups, each with its own peak `lr`) replaces one rate for all.
    `sample_weight` (one per training image) weighs each image's loss: a batch's loss is the
    weighted mean (the bias mitigation's group x class reweighting). `epoch_size` draws that many
    of the training images per epoch (default: all), so training rows with oversampled repeats
    get as many optimiser steps as the data without them.
    The training step never waits for the device: losses are summed there and read once per
    epoch, so steps of several trainers overlap on a GPU.
    """

    def __init__(
        self,
        model: nn.Module,
        x_train,
        y_train,
        x_val,
        y_val,
        cfg: dict,
        n_classes: int,
        sample_weight=None,
        epoch_size: int | None = None,
        frozen_bn: bool = False,
        groups: list[dict] | None = None,
    ):
        self.device = device = resolve_device(cfg["device"])
        self.bf16 = uses_bf16(cfg["precision"], device)
        seed_everything(cfg["seed"])
        self.gen = torch.Generator(device=device).manual_seed(cfg["seed"])
        # Dropout draws from the global generator: each trainer keeps its own state of it, so
        # trainers interleaved epoch by epoch (k-fold on a GPU) compute what they would alone.
        self.rng_state = self._global_rng()
        self.model = model.to(device).to(memory_format=torch.channels_last)
        self.xt = torch.as_tensor(np.ascontiguousarray(x_train)).to(device)
        self.yt = torch.as_tensor(y_train, dtype=torch.long).to(device)
        self.x_val, self.y_val, self.cfg, self.n_classes = x_val, y_val, cfg, n_classes
        weight = class_weights(np.asarray(y_train), n_classes, cfg["class_weights"])
        self.loss_fn = nn.CrossEntropyLoss(
            weight=None if weight is None else weight.to(device),
            label_smoothing=cfg["label_smoothing"],
        )
        self.wt = (
            None
            if sample_weight is None
            else torch.as_tensor(sample_weight, dtype=torch.float32).to(device)
        )
        self.loss_each = nn.CrossEntropyLoss(
            weight=self.loss_fn.weight, reduction="none", label_smoothing=cfg["label_smoothing"]
        )
        self.epoch_size = min(epoch_size or len(self.xt), len(self.xt))
        self.steps = max(1, -(-self.epoch_size // cfg["batch_size"]))
        self.frozen_bn = frozen_bn
        self.opt, self.sched = _optimiser(
            groups or list(self.model.parameters()), cfg["lr"], cfg, cfg["epochs"], self.steps
        )
        self.rows, self.best, self.best_f1, self.best_epoch, self.stale = [], None, -1.0, 0, 0
        self.epochs_done, self.done, self.seconds = 0, False, 0.0

    def epoch(self) -> dict:
        """Trains one epoch and validates; sets `done` when early stopping or the last epoch says
        so."""
        cfg, epoch, te = self.cfg, self.epochs_done, time.perf_counter()
        self._global_rng(self.rng_state)
        self.model.train()
        if self.frozen_bn:
            for mod in self.model.modules():
                if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                    mod.eval()
        order = torch.randperm(len(self.xt), generator=self.gen, device=self.device)[
            : self.epoch_size
        ]
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), dtype=torch.long, device=self.device)
        for i in range(0, self.epoch_size, cfg["batch_size"]):
            idx = order[i : i + cfg["batch_size"]]
            xb = augment(self.xt[idx], cfg["augment"], self.gen).contiguous(
                memory_format=torch.channels_last
            )
            yb = self.yt[idx]
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                out = self.model(xb)
                if isinstance(out, tuple):  # inception_v3 in training: (logits, aux_logits)
                    loss = self._loss(out[0], yb, idx) + 0.4 * self._loss(out[1], yb, idx)
                    out = out[0]
                else:
                    loss = self._loss(out, yb, idx)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            if self.sched is not None:
                self.sched.step()
            loss_sum += loss.detach() * len(idx)
            correct += (out.argmax(1) == yb).sum()
        self.rng_state = self._global_rng()
        n = self.epoch_size
        train_time = time.perf_counter() - te
        row = {
            "epoch": epoch + 1,
            "train_loss": float(loss_sum) / n,
            "train_accuracy": int(correct) / n,
        }
        row.update(
            _validate(self.model, self.x_val, self.y_val, self.loss_fn, self.device, self.n_classes)
        )
        row["seconds"] = time.perf_counter() - te
        row["train_images_per_second"] = n / train_time
        self.rows.append(row)
        self.seconds += row["seconds"]
        self.epochs_done += 1
        if row["val_macro_f1"] > self.best_f1:
            self.best_f1, self.best_epoch, self.stale = row["val_macro_f1"], epoch + 1, 0
            self.best = copy.deepcopy(self.model.state_dict())
        else:
            self.stale += 1
        self.done = self.stale >= cfg["patience"] or self.epochs_done >= cfg["epochs"]
        return row

    def _loss(self, logits, yb, idx):
        if self.wt is None:
            return self.loss_fn(logits.float(), yb)
        w = self.wt[idx]
        return (self.loss_each(logits.float(), yb) * w).sum() / w.sum()

    def _global_rng(self, state=None):
        """Get (or set) the global CPU and, on CUDA, device generator states."""
        cuda = self.device.type == "cuda"
        if state is None:
            return torch.get_rng_state(), torch.cuda.get_rng_state(self.device) if cuda else None
        torch.set_rng_state(state[0])
        if cuda:
            torch.cuda.set_rng_state(state[1], self.device)

    def result(self) -> FitResult:
        self.model.load_state_dict(self.best)
        return FitResult(self.model.eval(), pd.DataFrame(self.rows), self.best_epoch, self.seconds)


def fit(
    model: nn.Module,
    x_train,
    y_train,
    x_val,
    y_val,
    cfg: dict,
    n_classes: int,
    progress: bool = True,
    label: str = "model",
) -> FitResult:
    """Trains one model to the end (see `Trainer`)."""
    trainer = Trainer(model, x_train, y_train, x_val, y_val, cfg, n_classes)
    return run_to_end(trainer, cfg["epochs"], progress, label)


def run_to_end(trainer, epochs: int, progress: bool = True, label: str = "model") -> FitResult:
    """Runs a trainer's epochs until it is done: a progress bar in a terminal, quiet elsewhere,
    and a progress line per epoch for `maskutils stage`."""
    with tqdm(
        total=epochs, desc="train", unit="epoch", disable=not progress or None, leave=False
    ) as bar:
        while not trainer.done:
            row = trainer.epoch()
            bar.update()
            bar.set_postfix(val_f1=f"{row['val_macro_f1']:.3f}")
            note(
                f"{label}: epoch {row['epoch']}/{epochs}, validation macro-F1 "
                f"{row['val_macro_f1']:.3f} ({row['seconds']:.1f} s)"
            )
    return trainer.result()


def _optimiser(params, lr, cfg, epochs, steps):
    opt = torch.optim.Adam(params, lr=lr, weight_decay=cfg["weight_decay"])
    if cfg["schedule"] == "cosine":
        return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps)
    if cfg["schedule"] == "onecycle":
        peaks = [g["lr"] for g in opt.param_groups]
        return opt, torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=peaks, total_steps=epochs * steps
        )
    return opt, None


def _validate(model, x_val, y_val, loss_fn, device, n_classes) -> dict:
    if x_val is None or len(x_val) == 0:
        return {"val_loss": float("nan"), "val_accuracy": float("nan"), "val_macro_f1": 0.0}
    probs = torch.as_tensor(predict_proba(model, x_val, device=device))
    y = torch.as_tensor(y_val, dtype=torch.long)
    pred = probs.argmax(1).numpy()
    loss = float(
        nn.functional.nll_loss(
            torch.log(probs.clamp_min(1e-12)),
            y,
            weight=None if loss_fn.weight is None else loss_fn.weight.cpu(),
        )
    )
    return {
        "val_loss": loss,
        "val_accuracy": float((pred == y.numpy()).mean()),
        "val_macro_f1": macro_f1(np.asarray(y_val), pred, n_classes),
    }
