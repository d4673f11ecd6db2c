"""Small faces: does training on shrunk faces (`augment.downscale`) carry a model trained on close
face photos to the faces of street scenes? The transfer recipe is trained on a class-folder set's
train split (early-stopped on its val split), once per arm; each arm is scored on that set's test
split and on the face crops of a VOC scene set, both cached at the training side. The scenes are
ordered by the number in their file name and split in halves: the first half may tune the
setting, the second half reports (this record: one setting chosen before any look, so the first
half tuned nothing and is reported beside the second).

    python benchmarks/small_faces.py --data ../shared/datasets/binary-4k \
        --scenes ../shared/datasets/voc-300 --out benchmarks/results/small_faces_binary4k.json

The epoch kept is chosen on validation images, and the head-only model competes with every
fine-tuned epoch: on close-up photos the head alone can win, and then nothing learnt in
fine-tuning (small faces included) reaches the model. `--val-shrink SIDE` adds copies of the
validation images shrunk to SIDE px, so that the choice sees small faces too.

An arm is NAME=JSON, the recipe keys it overrides (params/train.yaml's layout); without --arm
the two below run. An arm that names no `recipe` follows `recipe: auto` (a class-folder set:
`photos`); the records made before `recipe` existed ran what is now `{"recipe": "synthetic"}`.
Each arm is also scored with flip test-time augmentation (the mean of an image's and its mirror
image's probabilities). Macro-F1 and no-mask recall with bootstrap
intervals, and each row's paired macro-F1 difference to the first, per set.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.resolution_probe import bootstrap_f1, machine_line, row_text
from maskutils.core import stats
from maskutils.core.labels import known_label
from maskutils.core.params import deep_update
from maskutils.modeling import augment, build, recipes
from maskutils.modeling.fit import run_to_end
from maskutils.modeling.params import RECIPE_SCHEMA
from maskutils.modeling.predict import predict_proba
from maskutils.prepare.params import SCHEMA as PREPARE
from maskutils.prepare.prepared import load_prepared
from maskutils.prepare.run import run as prepare
from maskutils.stages.external.run import prepare_params

ARMS = {
    "today (no small faces)": {},
    "half of each batch shrunk to 16 px or more": {
        "augment": {"downscale": 0.5, "downscale_min": 16}
    },
}


def scene_number(file: str) -> int:
    found = re.findall(r"\d+", Path(file).stem)
    return int(found[-1]) if found else -1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="a class-folder dataset (trained on)")
    ap.add_argument("--scenes", required=True, help="a VOC scene set (its face crops scored)")
    ap.add_argument("--task", default="binary", choices=("mask_type", "binary"))
    ap.add_argument("--arm", action="append", help="NAME=JSON (repeatable)")
    ap.add_argument(
        "--val-shrink",
        type=int,
        default=0,
        help="also validate on copies of the val images shrunk to this side (px) and scaled back "
        "up, so that early stopping and the head-vs-fine-tuned choice see small faces (0: off)",
    )
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--out", help="write the record here (JSON)")
    args = ap.parse_args()
    arms = ARMS
    if args.arm:
        arms = {k: json.loads(v) for k, v in (a.split("=", 1) for a in args.arm)}
    with tempfile.TemporaryDirectory() as tmp:
        info = prepare(
            PREPARE.validate({"source": {"kind": "folder", "root": args.data}}),
            Path(tmp) / "prep",
            progress=False,
        )
        p = load_prepared(Path(tmp) / "prep")
        classes, y = p.task(args.task)
        spec = {"kind": "voc", "root": args.scenes, "aliases": {}}
        scene_params = prepare_params(p.info["params"], spec, p.info["image_size"])
        prepare(scene_params, Path(tmp) / "scenes", progress=False, splits=False)
        s = load_prepared(Path(tmp) / "scenes")
        labels = [known_label(lab, args.task, classes) for lab in s.manifest["label"]]
        known = np.array([lab is not None for lab in labels])
        ys = np.array([classes.index(lab) if lab else -1 for lab in labels])
        number = s.manifest["file"].map(scene_number).to_numpy()
        middle = np.median(np.unique(number))
        sets = {
            "test split": (p.images[p.rows("test")], y[p.rows("test")]),
            "scenes, first half": (
                s.images[known & (number < middle)],
                ys[known & (number < middle)],
            ),
            "scenes, second half": (
                s.images[known & (number >= middle)],
                ys[known & (number >= middle)],
            ),
        }
        train, val = p.rows("train"), p.rows("val")
        x_val, y_val = p.images[val], y[val]
        if args.val_shrink:
            x_val = np.concatenate([x_val, augment.shrunk(x_val, args.val_shrink)])
            y_val = np.concatenate([y_val, y_val])
        preds, seconds, kept = {name: {} for name in sets}, {}, {}
        for arm, over in arms.items():
            cfg = RECIPE_SCHEMA.validate(deep_update({"task": args.task}, over))
            cfg = recipes.resolve(cfg, p.info)
            t0 = time.perf_counter()
            model = build.build("transfer", cfg, len(classes), p.info["image_size"])
            tr = build.trainer(
                "transfer",
                model,
                p.images[train],
                y[train],
                x_val,
                y_val,
                cfg,
                len(classes),
            )
            res = run_to_end(tr, cfg["transfer"]["epochs"], progress=False, label=arm)
            model, kept[arm] = res.model, int(res.best_epoch)
            seconds[arm] = round(time.perf_counter() - t0, 1)
            for name, (x, _) in sets.items():
                probs = predict_proba(model, x)
                preds[name][arm] = probs.argmax(1)
                mirrored = predict_proba(model, np.ascontiguousarray(x[..., ::-1]))
                preds[name][f"{arm}, flip TTA"] = (probs + mirrored).argmax(1)
            print(f"{arm}: {seconds[arm]} s, epoch kept {kept[arm]}", flush=True)
    no_mask = classes.index("no_mask") if "no_mask" in classes else 0
    rows = {}
    print(f"\n{args.data} at {info['image_size']} px, {len(classes)} classes")
    for name, (_, yy) in sets.items():
        table = bootstrap_f1(yy, preds[name], len(classes), args.bootstrap, 0)
        for arm, r in table.items():
            hit = preds[name][arm][yy == no_mask] == no_mask
            r["no_mask_recall"] = stats.bootstrap_mean(hit, args.bootstrap, 0.95, 0)
        rows[name] = {"n": int(len(yy)), "arms": table}
        print(f"{name} ({len(yy)} faces)")
        for arm, r in table.items():
            rec = r["no_mask_recall"]
            print(f"  {row_text(r)}    no-mask recall {rec['value']:.3f}    {arm}")
    if args.out:
        record = {
            "data": args.data,
            "scenes": args.scenes,
            "task": args.task,
            "image_size": info["image_size"],
            "scene_split": f"scene number < {middle:g}: first half; the rest: second half",
            "machine": machine_line(),
            "arms": arms,
            "val_shrink": args.val_shrink,
            "epoch_kept": kept,  # up to head_epochs: the head-only model won validation
            "seconds": seconds,
            "sets": rows,
        }
        Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
