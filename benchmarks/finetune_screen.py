"""Which fine-tuning recipe earns its cost on real photos: k-fold over prepare's duplicate-aware
folds of the pool (the test split is never read), one row per recipe variant, each against the
first (the frozen backbone with a trained head: the linear probe every fine-tuned recipe must
beat). Macro-F1 of the pooled out-of-fold predictions with a bootstrap interval, the paired
difference to the first row, and the wall time of the variant's folds.

    python benchmarks/finetune_screen.py --data ../shared/datasets/mask4-attributes \
        --out benchmarks/results/finetune_mask4.json

A variant is NAME=JSON, the recipe keys it overrides (params/train.yaml's layout), e.g.
`long={"transfer": {"epochs": 10}, "patience": 4}`; without --variant the screen below runs.
A variant that names no `recipe` follows `recipe: auto` (on a class-folder set, `photos`); the
screen below, and the records before `recipe` existed, start from `{"recipe": "synthetic"}`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.resolution_probe import bootstrap_f1, machine_line, row_text
from maskutils.core.params import deep_update
from maskutils.modeling import crossval
from maskutils.modeling.evaluate import codes
from maskutils.modeling.params import RECIPE_SCHEMA
from maskutils.prepare.params import SCHEMA as PREPARE
from maskutils.prepare.prepared import load_prepared
from maskutils.prepare.run import run as prepare

#: milder augmentation: the head is trained on clean features, and today's rotation and crops
#: raise its loss on the first fine-tuning batches about 6-fold (0.10 -> 0.63 on a mask4 fold)
MILD = {"rotation": 10.0, "crop": 0.9, "noise": 0.0}
SYNTHETIC = {"recipe": "synthetic"}  # the recipe these variants change
SCREEN = {
    "probe (no fine-tuning)": {**SYNTHETIC, "transfer": {"epochs": 0}},
    "today (4 epochs at 3e-4)": SYNTHETIC,
    "today in bf16 (autocast; CPUs with AVX-512 BF16 or AMX)": {**SYNTHETIC, "precision": "bf16"},
    "milder augmentation": {**SYNTHETIC, "augment": MILD},
    "milder, rates falling to 0.1x at the input, 8 epochs": {
        **SYNTHETIC,
        "augment": MILD,
        "transfer": {"layer_decay": 0.1, "epochs": 8},
    },
    "milder, the last half of the layers, 8 epochs": {
        **SYNTHETIC,
        "augment": MILD,
        "transfer": {"unfreeze": 0.5, "epochs": 8},
    },
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="a class-folder dataset")
    ap.add_argument("--task", default="mask_type", choices=("mask_type", "binary"))
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--variant", action="append", help="NAME=JSON (repeatable)")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--out", help="write the record here (JSON)")
    args = ap.parse_args()
    variants = SCREEN
    if args.variant:
        variants = dict(v.split("=", 1) for v in args.variant)
        variants = {k: json.loads(v) for k, v in variants.items()}
    preds, seconds, y_ref, classes = {}, {}, None, None
    with tempfile.TemporaryDirectory() as tmp:
        params = PREPARE.validate(
            {"source": {"kind": "folder", "root": args.data}, "split": {"folds": args.folds}}
        )
        info = prepare(params, Path(tmp) / "prep", progress=False)
        p = load_prepared(Path(tmp) / "prep")
        for k, (name, over) in enumerate(variants.items()):
            cfg = RECIPE_SCHEMA.validate(deep_update({"task": args.task}, over))
            t0 = time.perf_counter()
            run = crossval.run(p, cfg, Path(tmp) / f"v{k}", threads=torch.get_num_threads())
            seconds[name] = round(time.perf_counter() - t0, 1)
            oof = run.oof.sort_values("image_id").reset_index(drop=True)
            classes = run.classes
            y, pred = codes(oof, classes)
            if y_ref is not None and not np.array_equal(y_ref, y):
                raise RuntimeError("the out-of-fold rows differ between variants")
            y_ref, preds[name] = y, pred
            print(f"{name}: {seconds[name]} s", flush=True)
            rows = bootstrap_f1(y_ref, preds, len(classes), args.bootstrap, 0)
            if args.out:  # written after every variant, so a stopped screen keeps what it measured
                write(args, info, variants, len(y_ref), rows, seconds)
    print(f"\n{args.data}: {len(y_ref)} pool images at {info['image_size']} px, {args.folds} folds")
    for name, r in rows.items():
        print(f"{row_text(r)}    {seconds[name]:7.1f} s  {name}")


def write(args, info, variants, n_pool, rows, seconds) -> None:
    """The record of the variants measured so far (each row paired with the first)."""
    record = {
        "data": args.data,
        "task": args.task,
        "folds": args.folds,
        "image_size": info["image_size"],
        "n_pool": int(n_pool),
        "machine": machine_line(),
        "variants": variants,
        "rows": {k: {**r, "seconds": seconds[k]} for k, r in rows.items()},
    }
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
