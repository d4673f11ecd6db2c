"""K-fold wall time: the folds trained one after another vs concurrently, same data, one run.

Concurrent: every fold's model, data, optimiser and BatchNorm statistics are its own; their
epochs run in turn, each fold on its own CUDA stream so kernels of different folds overlap.
On a CPU there are no streams and the two paths take the same time.

    python benchmarks/kfold_wall.py                                  # CPU, 5 folds x 3 epochs,
    tiny data
    python benchmarks/kfold_wall.py --device cuda --folds 10 --epochs 10 --images 2000 --size 128
    --preset study5_leaky
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from maskutils.modeling import crossval
from maskutils.modeling.fit import resolve_device
from maskutils.modeling.params import RECIPE_SCHEMA
from maskutils.prepare.params import SCHEMA as PREPARE
from maskutils.prepare.prepared import load_prepared
from maskutils.prepare.run import run as prepare


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--preset", default="small")
    ap.add_argument("--size", type=int, default=48)
    ap.add_argument("--images", type=int, default=600)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--data", help="a class-folder dataset instead of synthetic images")
    args = ap.parse_args()
    source = {"kind": "folder", "root": args.data} if args.data else {"kind": "synthetic"}
    with tempfile.TemporaryDirectory() as tmp:
        prepare(
            PREPARE.validate(
                {
                    "image_size": args.size,
                    "source": source,
                    "split": {"folds": args.folds},
                    "synthetic": {"n_images": args.images, "render_size": args.size},
                },
            ),
            Path(tmp) / "prep",
            progress=False,
        )
        p = load_prepared(Path(tmp) / "prep")
        cfg = RECIPE_SCHEMA.validate(
            {
                "device": args.device,
                "epochs": args.epochs,
                "patience": args.epochs + 1,
                "batch_size": 128,
                "cnn": {"preset": args.preset},
            },
        )
        walls = {}
        for name, concurrent in (("sequential", False), ("concurrent", True)):
            if resolve_device(args.device).type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            run = crossval.run(p, cfg, Path(tmp) / name, concurrent=concurrent)
            walls[name] = time.perf_counter() - t0
            print(
                f"{name:>10}: {walls[name]:6.1f} s  (mean macro-F1 "
                f"{run.folds['macro_f1'].mean():.3f})"
            )
    device = resolve_device(args.device)
    name = (
        torch.cuda.get_device_name()
        if device.type == "cuda"
        else f"CPU ({torch.get_num_threads()} threads)"
    )
    print(
        f"device: {name} · {args.preset} · {len(p.manifest)} images at {args.size} px · "
        f"{args.folds} folds x {args.epochs} epochs"
    )
    print(f"ratio sequential / concurrent: {walls['sequential'] / walls['concurrent']:.2f}x")


if __name__ == "__main__":
    main()
