"""Training throughput: our trainer vs the study's plain loop, same model and data, one run.

Both read the same photos: JPEG files at their own size (synthetic faces drawn at 256 px, or a
class-folder dataset with --data). Plain: each epoch decodes every file with PIL, resizes it and
augments it with torchvision transforms, through a DataLoader, NCHW, fp32 (how the study's
notebooks train). Ours: files decoded and resized once into the uint8 cache (its one-off cost is
printed), then batched tensor augmentation on the device, channels_last, bf16 autocast on a GPU
(`precision: auto`), and also `precision: bf16` on a CPU that has native bf16. Two models: the
from-scratch CNN, and MobileNetV2 fine-tuning from ImageNet (BatchNorm frozen in both loops).
Under each trainer row, the model's training steps alone on one resident batch: the ceiling of
any trainer's ratio on this machine, since the data path then costs nothing.

    python benchmarks/train_throughput.py      # CPU: the small CNN at 64 px, MobileNetV2 at 96
    python benchmarks/train_throughput.py --data ../shared/datasets/mask4-attributes
    python benchmarks/train_throughput.py --device cuda --preset study5_leaky --size 128 \
        --images 4000 --batch 128
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from maskutils.core.images import decode, resize
from maskutils.core.labels import MASK_TYPES
from maskutils.modeling import build, recipes
from maskutils.modeling.augment import augment
from maskutils.modeling.backbones import build_transfer
from maskutils.modeling.fit import cpu_has_bf16, resolve_device, run_to_end, uses_bf16
from maskutils.modeling.models import build_cnn
from maskutils.modeling.params import RECIPE_SCHEMA
from maskutils.prepare.sources.synthetic import generate


class Files(Dataset):
    def __init__(self, files, labels, size):
        self.files, self.labels = files, labels
        self.tf = transforms.Compose(
            [
                transforms.Resize((size, size)),
                transforms.RandomHorizontalFlip(),
                transforms.RandomRotation(30),
                transforms.RandomResizedCrop(size, scale=(0.8, 1.0)),
                transforms.ColorJitter(brightness=0.2),
                transforms.ToTensor(),
                transforms.Normalize([0.5] * 3, [0.25] * 3),
            ]
        )

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return self.tf(Image.open(self.files[i]).convert("RGB")), self.labels[i]


def freeze_batchnorm(model) -> None:
    """BatchNorm layers keep their running statistics (eval mode) while the rest trains."""
    for mod in model.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.eval()


def plain_loop(model, files, labels, size, epochs, batch, device, workers, frozen_bn) -> float:
    """images/s of the study-style loop (first epoch excluded as warm-up)."""
    model = model.to(device).train()
    if frozen_bn:  # fine-tuning a pretrained backbone, as our trainer does it
        freeze_batchnorm(model)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    loader = DataLoader(
        Files(files, labels, size),
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        persistent_workers=workers > 0,
    )
    rates = []
    for _ in range(epochs):
        t0, n = time.perf_counter(), 0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            n += len(xb)
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(n / (time.perf_counter() - t0))
    return float(np.mean(rates[1:] if len(rates) > 1 else rates))


def _photos(args, tmp: Path) -> tuple[list[str], np.ndarray]:
    if args.data:
        files, names = [], []
        for folder in sorted(p for p in Path(args.data).iterdir() if p.is_dir()):
            picked = sorted(folder.glob("*.jpg"))[: args.images // 4]
            files += [str(f) for f in picked]
            names += [folder.name] * len(picked)
        classes = sorted(set(names))
        return files, np.array([classes.index(n) for n in names])
    rows = generate(tmp / "png", args.images, 256, list(MASK_TYPES), seed=0)
    files = []
    for r in rows:  # photos are JPEGs
        jpg = Path(r["file"]).with_suffix(".jpg")
        Image.open(r["file"]).save(jpg, quality=90)
        files.append(str(jpg))
    return files, np.array([MASK_TYPES.index(r["label"]) for r in rows])


MODELS = ("cnn", "mobilenet_v2")


def model_for(name: str, args, n_classes: int):
    """A fresh model: the `--preset` CNN, or MobileNetV2 from its ImageNet weights (fed at
    `--transfer-size` px, resized inside the model as in the study)."""
    if name == "cnn":
        return build_cnn(args.preset, n_classes, args.size)
    return build_transfer("mobilenet_v2", n_classes, "imagenet", args.transfer_size)


def ours(name: str, args, cached, labels, device, precision: str) -> float:
    """images/s of our trainer (first epoch excluded): the CNN's epochs, or MobileNetV2's
    fine-tuning epochs after one epoch of the head on cached features."""
    cfg = {
        **recipes.fill(RECIPE_SCHEMA.defaults(), "synthetic"),
        "precision": precision,
        "epochs": args.epochs,
        "batch_size": args.batch,
        "patience": args.epochs + 1,
        "device": str(device),
        "lr": 1e-3,
        "schedule": "none",
    }
    cfg["transfer"] = {**cfg["transfer"], "head_epochs": 1, "epochs": args.epochs, "lr": 1e-3}
    torch.manual_seed(0)
    n_classes = int(labels.max()) + 1
    kind = "cnn" if name == "cnn" else "transfer"
    t = build.trainer(
        kind,
        model_for(name, args, n_classes),
        cached,
        labels,
        cached[:64],
        labels[:64],
        cfg,
        n_classes,
    )
    res = run_to_end(t, args.epochs, progress=False)
    rows = res.history[res.history.get("phase", pd.Series("", res.history.index)) != "head"]
    rates = rows["train_images_per_second"].to_numpy()
    return float(np.mean(rates[1:] if len(rates) > 1 else rates))


def model_alone(name: str, args, cached, labels, device, precision: str) -> float:
    """images/s of the model's training steps alone: one batch, augmented once and resident on
    the device, fed again and again (same optimiser, channels_last, BatchNorm frozen for
    MobileNetV2). No loader or augmentation can make a trainer of this model faster, so this
    rate over the plain loop's is the ceiling of any trainer's ratio."""
    torch.manual_seed(0)
    model = model_for(name, args, int(labels.max()) + 1).to(device)
    model = model.to(memory_format=torch.channels_last).train()
    if name != "cnn":
        freeze_batchnorm(model)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator(device=device).manual_seed(0)
    aug = recipes.fill(RECIPE_SCHEMA.defaults(), "synthetic")["augment"]
    xb = augment(torch.as_tensor(cached[: args.batch]).to(device), aug, gen)
    xb = xb.contiguous(memory_format=torch.channels_last)
    yb = torch.as_tensor(labels[: args.batch]).to(device)
    bf16 = uses_bf16(precision, device)
    steps = -(-len(cached) // args.batch)
    rates = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        for _ in range(steps):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = loss_fn(model(xb).float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(steps * args.batch / (time.perf_counter() - t0))
    return float(np.mean(rates[1:] if len(rates) > 1 else rates))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--preset", default="small")
    ap.add_argument("--size", type=int, default=64, help="cached image side (px)")
    ap.add_argument("--transfer-size", type=int, default=96, help="MobileNetV2's input side (px)")
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[0, 2],
        help="DataLoader workers of the plain loop, one run each (0 is PyTorch's default)",
    )
    ap.add_argument(
        "--data", help="a class-folder dataset to read instead of synthetic 256 px photos"
    )
    args = ap.parse_args()
    device = resolve_device(args.device)
    # `auto`: fp32 on a CPU, bf16 on a GPU; bf16 on a CPU too where it has native bf16
    precisions = ["auto"] + (["bf16"] if device.type == "cpu" and cpu_has_bf16() else [])
    n_classes, rates = None, {}
    with tempfile.TemporaryDirectory() as tmp:
        files, labels = _photos(args, Path(tmp))
        n_classes = int(labels.max()) + 1
        t0 = time.perf_counter()
        cached = np.stack([resize(decode(f)[0], args.size).transpose(2, 0, 1) for f in files])
        cache_seconds = time.perf_counter() - t0
        for name in args.models:
            for workers in args.workers:
                torch.manual_seed(0)
                rates[name, workers] = plain_loop(
                    model_for(name, args, n_classes),
                    files,
                    labels,
                    args.size,
                    args.epochs,
                    args.batch,
                    device,
                    workers,
                    frozen_bn=name != "cnn",
                )
            for precision in precisions:
                rates[name, precision] = ours(name, args, cached, labels, device, precision)
                rates[name, precision, "alone"] = model_alone(
                    name, args, cached, labels, device, precision
                )
    where = (
        torch.cuda.get_device_name()
        if device.type == "cuda"
        else f"CPU ({torch.get_num_threads()} threads)"
    )
    print(
        f"device: {where} · {len(files)} photos cached at {args.size} px in {cache_seconds:.1f} s"
        f" (once) · batch {args.batch} · {args.epochs} epochs (first excluded)"
    )
    for name in args.models:
        label = (
            f"CNN {args.preset}, {args.size} px"
            if name == "cnn"
            else f"MobileNetV2 ImageNet fine-tuning (BatchNorm frozen), {args.transfer_size} px"
        )
        print(f"{label}")
        for workers in args.workers:
            print(
                f"  plain loop (PIL + torchvision transforms, DataLoader num_workers={workers}, "
                f"NCHW fp32): {rates[name, workers]:8.0f} images/s"
            )
        plain = max(rates[name, w] for w in args.workers)
        for precision in precisions:
            arithmetic = "bf16" if precision == "bf16" or device.type == "cuda" else "fp32"
            mine = rates[name, precision]
            print(
                f"  maskutils trainer (uint8 cache, tensor augmentation, channels_last, "
                f"precision: {precision} = {arithmetic}): {mine:8.0f} images/s  -> ratio "
                f"{mine / plain:.2f}x the faster plain loop"
            )
            alone = rates[name, precision, "alone"]
            print(
                f"    the model's steps alone on one resident batch ({arithmetic}): {alone:8.0f} "
                f"images/s  -> ceiling {alone / plain:.2f}x for any trainer of this model"
            )


if __name__ == "__main__":
    main()
