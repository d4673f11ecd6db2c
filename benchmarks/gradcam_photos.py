"""Grad-CAM on real photos without ROI boxes: the Grad-CAM stage's own analysis (params/gradcam.yaml
as committed) of a model trained with the default recipe on a class-folder set's train split
(early-stopped on its val split), explaining its test split. Localisation needs ROI boxes and is
reported as not available; faithfulness, ROAD and cascading randomisation run as on the synthetic
default. The record holds the stage's metrics block.

    python benchmarks/gradcam_photos.py --data ../shared/datasets/mask4-attributes \
        --out benchmarks/results/gradcam_mask4.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.resolution_probe import machine_line
from maskutils.modeling import build, recipes
from maskutils.modeling.fit import run_to_end
from maskutils.modeling.params import RECIPE_SCHEMA
from maskutils.prepare.params import SCHEMA as PREPARE
from maskutils.prepare.prepared import load_prepared
from maskutils.prepare.run import run as prepare
from maskutils.stages.gradcam import run as gradcam
from maskutils.stages.gradcam.params import SCHEMA as GRADCAM

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="a class-folder dataset")
    ap.add_argument("--task", default="mask_type", choices=("mask_type", "binary"))
    ap.add_argument(
        "--recipe",
        default="auto",
        help="params/train.yaml's `recipe` (auto: `photos` on a class-folder set; the records "
        "made before `recipe` existed ran `synthetic`)",
    )
    ap.add_argument("--out", help="write the record here (JSON)")
    args = ap.parse_args()
    g = GRADCAM.validate(yaml.safe_load((ROOT / "params/gradcam.yaml").read_text()))
    cfg = RECIPE_SCHEMA.validate({"task": args.task, "recipe": args.recipe})
    with tempfile.TemporaryDirectory() as tmp:
        source = {"source": {"kind": "folder", "root": args.data}}
        info = prepare(PREPARE.validate(source), Path(tmp) / "prep", progress=False)
        p = load_prepared(Path(tmp) / "prep")
        cfg = recipes.resolve(cfg, p.info)
        classes, y = p.task(args.task)
        train, val = p.rows("train"), p.rows("val")
        t0 = time.perf_counter()
        model = build.build("transfer", cfg, len(classes), p.info["image_size"])
        tr = build.trainer(
            "transfer", model, p.images[train], y[train], p.images[val], y[val], cfg, len(classes)
        )
        model = run_to_end(tr, cfg["transfer"]["epochs"], progress=False).model
        trained = time.perf_counter() - t0
        meta = {"task": args.task, "name": cfg["transfer"]["backbone"], "classes": classes}
        t0 = time.perf_counter()
        metrics = gradcam.summary(gradcam.analyse(model, meta, p, g), g)
        explained = time.perf_counter() - t0
    print(json.dumps({k: metrics[k] for k in ("method", "target_layer", "grid", "n_images")}))
    print(json.dumps(metrics["sanity"], indent=1)[:3000])
    if args.out:
        record = {
            "data": args.data,
            "task": args.task,
            "image_size": info["image_size"],
            "machine": machine_line(),
            "seconds": {"train": round(trained, 1), "gradcam": round(explained, 1)},
            "metrics": metrics,
        }
        Path(args.out).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
