"""Transfer learning in two phases: the new head on cached backbone features, then fine-tuning.

Phase 1 runs the frozen backbone once over the training and validation images (no augmentation)
and trains only the head on those features: seconds instead of minutes on a CPU, and the head is
trained before any gradient reaches the pretrained layers. Phase 2 fine-tunes with augmentation
at a low learning rate, the BatchNorm statistics frozen (a small dataset would otherwise overwrite
ImageNet's): every layer at one rate by default, or (`transfer.unfreeze`, `transfer.layer_decay`)
only the layers nearest the head, at rates falling towards the input. `TransferTrainer` has the
`Trainer` interface (`epoch`, `done`, `result`), so the train, k-fold and bias stages run either
model the same way.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from maskutils.core.metrics import macro_f1
from maskutils.modeling.augment import to_float
from maskutils.modeling.backbones import Adapted
from maskutils.modeling.fit import FitResult, Trainer, class_weights, resolve_device


@torch.no_grad()
def head_inputs(model: Adapted, x, batch_size: int = 128) -> torch.Tensor:
    """What the head sees for uint8 images (N x 3 x S x S): the pooled backbone features, in eval
    mode, on the model's device."""
    device = next(model.parameters()).device
    seen = []
    hook = model.head.register_forward_pre_hook(lambda _m, args: seen.append(args[0].float()))
    model.eval()
    try:
        for i in range(0, len(x), batch_size):
            model(to_float(torch.as_tensor(x[i : i + batch_size]).to(device)))
    finally:
        hook.remove()
    return torch.cat(seen) if seen else torch.empty(0, model.head.in_features, device=device)


class TransferTrainer:
    """cfg: the recipe (`modeling.params`); its `transfer` section sets the phases: head_epochs at
    head_lr on cached features (the best on validation macro-F1 kept), then epochs of
    fine-tuning at lr (0: the backbone stays frozen). Arguments as `fit.Trainer`."""

    def __init__(
        self,
        model: Adapted,
        x_train,
        y_train,
        x_val,
        y_val,
        cfg: dict,
        n_classes: int,
        sample_weight=None,
        epoch_size: int | None = None,
    ):
        tr, t0 = cfg["transfer"], time.perf_counter()
        device = resolve_device(cfg["device"])
        model = model.to(device)
        self.rows = _train_head(
            model, x_train, y_train, x_val, y_val, cfg, n_classes, sample_weight
        )
        self.seconds = time.perf_counter() - t0
        self.inner, self.done = None, tr["epochs"] == 0
        self.probe_state = None  # the linear probe (frozen backbone + head): fine-tuning's bar
        self.model, self.head_epochs = model, tr["head_epochs"]
        if not self.done:
            fine = {**cfg, "epochs": tr["epochs"], "lr": tr["lr"]}
            self.inner = Trainer(
                model,
                x_train,
                y_train,
                x_val,
                y_val,
                fine,
                n_classes,
                sample_weight=sample_weight,
                epoch_size=epoch_size,
                frozen_bn=True,
                groups=finetune_groups(model, tr["lr"], tr["unfreeze"], tr["layer_decay"]),
            )
            # the head-only model competes with every fine-tuned epoch for "best"
            self.inner.best_f1 = self.rows[-1]["best_val_macro_f1"]
            self.inner.best = self.probe_state = copy.deepcopy(model.state_dict())

    def probe(self) -> FitResult | None:
        """The linear probe alone (the head on the frozen backbone, before fine-tuning), as a
        model of its own; None when there is no fine-tuning (the result is the probe then)."""
        if self.probe_state is None:
            return None
        model = copy.deepcopy(self.model).requires_grad_(True)
        model.load_state_dict(self.probe_state)
        history = pd.DataFrame(self.rows)
        best = int(history.loc[history["val_macro_f1"].idxmax(), "epoch"])  # the head kept
        return FitResult(model.eval(), history, best, self.seconds)

    def epoch(self) -> dict:
        row = self.inner.epoch()
        row = {**row, "epoch": self.head_epochs + row["epoch"], "phase": "finetune"}
        self.done = self.inner.done
        return row

    def result(self) -> FitResult:
        if self.inner is None:
            history = pd.DataFrame(self.rows)
            return FitResult(self.model.eval(), history, self.head_epochs, self.seconds)
        res = self.inner.result()
        res.model.requires_grad_(True)  # the layers `unfreeze` kept still: explainable again
        fine = res.history.assign(epoch=res.history["epoch"] + self.head_epochs, phase="finetune")
        history = pd.concat([pd.DataFrame(self.rows), fine], ignore_index=True)
        best = self.head_epochs + res.best_epoch if res.best_epoch else self.head_epochs
        return FitResult(res.model, history, best, self.seconds + res.seconds)


#: `layer_decay`'s slope is taken in this many steps from the input to the head
RATE_STEPS = 10


def finetune_groups(model: Adapted, lr: float, unfreeze: float, decay: float) -> list | None:
    """Adam parameter groups for phase 2: the backbone's weight tensors in their order (input
    first) lose `requires_grad` but for the last `unfreeze` share of them; the trained ones get
    a peak rate from `lr * decay` at the input up to `lr` at the head, on a geometric slope in
    RATE_STEPS steps. None for the defaults (every layer at `lr`: one group)."""
    if unfreeze >= 1 and decay >= 1:
        return None
    head = {id(t) for t in model.head.parameters()}
    body = [t for t in model.parameters() if id(t) not in head]
    first = len(body) - round(unfreeze * len(body))
    steps: dict[int, list] = {}
    for i, t in enumerate(body):
        if i < first:
            t.requires_grad_(False)
        else:
            steps.setdefault(round(RATE_STEPS * i / max(len(body) - 1, 1)), []).append(t)
    groups = [
        {"params": ts, "lr": lr * decay ** (1 - k / RATE_STEPS)} for k, ts in sorted(steps.items())
    ]
    return groups + [{"params": list(model.head.parameters()), "lr": lr}]


def _train_head(model, x_train, y_train, x_val, y_val, cfg, n_classes, sample_weight) -> list:
    """Phase 1: trains model.head on cached features; leaves the best head (validation macro-F1)
    in the model. One history row per epoch."""
    tr, seed = cfg["transfer"], cfg["seed"]
    device = next(model.parameters()).device
    torch.manual_seed(seed)
    f_train, f_val = head_inputs(model, x_train), head_inputs(model, x_val)
    y = torch.as_tensor(np.asarray(y_train), dtype=torch.long, device=device)
    weight = class_weights(np.asarray(y_train), n_classes, cfg["class_weights"])
    loss_each = nn.CrossEntropyLoss(
        weight=None if weight is None else weight.to(device),
        reduction="none",
        label_smoothing=cfg["label_smoothing"],
    )
    w = (
        torch.ones(len(y), device=device)
        if sample_weight is None
        else torch.as_tensor(sample_weight, dtype=torch.float32, device=device)
    )
    head = model.head
    gen = torch.Generator(device=device).manual_seed(seed)
    opt = torch.optim.Adam(head.parameters(), lr=tr["head_lr"], weight_decay=cfg["weight_decay"])
    rows, best, best_f1 = [], copy.deepcopy(head.state_dict()), -1.0
    for epoch in range(tr["head_epochs"]):
        te = time.perf_counter()
        head.train()
        order = torch.randperm(len(y), generator=gen, device=device)
        loss_sum = torch.zeros((), device=device)
        for i in range(0, len(y), cfg["batch_size"]):
            idx = order[i : i + cfg["batch_size"]]
            per = loss_each(head(f_train[idx]), y[idx])
            loss = (per * w[idx]).sum() / w[idx].sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(idx)
        head.eval()
        with torch.no_grad():
            pred = head(f_val).argmax(1).cpu().numpy() if len(f_val) else np.zeros(0, int)
        f1 = macro_f1(np.asarray(y_val), pred, n_classes) if len(pred) else 0.0
        if f1 > best_f1:
            best_f1, best = f1, copy.deepcopy(head.state_dict())
        rows.append(
            {
                "epoch": epoch + 1,
                "phase": "head",
                "train_loss": float(loss_sum) / len(y),
                "val_macro_f1": f1,
                "best_val_macro_f1": best_f1,
                "seconds": time.perf_counter() - te,
            }
        )
    head.load_state_dict(best)
    return rows
