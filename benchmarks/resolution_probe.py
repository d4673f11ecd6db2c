"""What resolution buys on real photos, measured cheaply: a frozen ImageNet MobileNetV2 with a
logistic-regression head (a linear probe), k-fold over prepare's duplicate-aware folds (the test
split is never read), one row per (cache size, input size).

The first row is what the study did to folder sources before `image_size: auto`: faces cached at
64 px, fed to the backbone at 96. The others cache and feed at one size. A row costs one pass of
the frozen backbone over the pool; the probe's fit is seconds. Prints macro-F1 with a bootstrap
interval of the pooled out-of-fold predictions, and the paired difference to the first row.

    python benchmarks/resolution_probe.py --data ../shared/datasets/mask4-attributes
    python benchmarks/resolution_probe.py --data ../shared/datasets/binary-4k --task binary \
        --sizes 64:96 96 128 160 224 --out benchmarks/results/resolution_binary4k.json
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from maskutils.core import stats
from maskutils.core.metrics import confusion, macro_f1_from
from maskutils.modeling.backbones import build_transfer
from maskutils.modeling.frozen import probe_oof
from maskutils.modeling.transfer import head_inputs
from maskutils.prepare.params import SCHEMA as PREPARE
from maskutils.prepare.prepared import load_prepared
from maskutils.prepare.run import run as prepare


def parse_size(text: str) -> tuple[int, int]:
    """`160` (cached and fed at 160) or `64:96` (cached at 64, fed at 96)."""
    cache, _, fed = text.partition(":")
    return int(cache), int(fed or cache)


def bootstrap_f1(y, preds: dict, n: int, reps: int, seed: int) -> dict:
    """Macro-F1 with an interval per row, and each row's paired difference to the first row,
    all on the same resampled images."""
    idx = stats.resample(np.random.default_rng(seed), len(y), reps)
    first = next(iter(preds))
    samples = {}
    for key, p in preds.items():
        samples[key] = np.array([macro_f1_from(confusion(y[i], p[i], n)) for i in idx])
    out = {}
    for key, p in preds.items():
        value = macro_f1_from(confusion(y, p, n))
        base = macro_f1_from(confusion(y, preds[first], n))
        out[key] = {
            "macro_f1": stats.ci(value, samples[key]),
            "minus_first": stats.ci(value - base, samples[key] - samples[first]),
        }
    return out


def machine_line() -> str:
    """The processor and torch's threads, as every benchmark record names its machine."""
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads"


def row_text(r: dict) -> str:
    """'macro-F1 [lo, hi]    difference [lo, hi]' of one row of `bootstrap_f1`."""
    f, d = r["macro_f1"], r["minus_first"]
    return (
        f"{f['value']:.3f} [{f['ci_low']:.3f}, {f['ci_high']:.3f}]    "
        f"{d['value']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="a class-folder dataset")
    ap.add_argument("--task", default="mask_type", choices=("mask_type", "binary"))
    ap.add_argument("--sizes", nargs="+", default=["64:96", "96", "128", "160", "224"])
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="write the record here (JSON)")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    preds, seconds, y_ref, classes = {}, {}, None, None
    with tempfile.TemporaryDirectory() as tmp:
        for text in args.sizes:
            cache, fed = parse_size(text)
            params = PREPARE.validate(
                {
                    "image_size": cache,
                    "source": {"kind": "folder", "root": args.data},
                    "split": {"folds": args.folds},
                    "seed": args.seed,
                }
            )
            prepare(params, Path(tmp) / text.replace(":", "_"), progress=False)
            p = load_prepared(Path(tmp) / text.replace(":", "_"))
            classes, y = p.task(args.task)
            pool = p.rows("train", "val")
            if y_ref is not None and not np.array_equal(y_ref, y[pool]):
                raise RuntimeError("the pool differs between sizes: the split must not move")
            y_ref = y[pool]
            net = build_transfer("mobilenet_v2", len(classes), "imagenet", fed)
            t0 = time.perf_counter()
            feats = head_inputs(net, p.images[pool]).numpy()
            seconds[text] = round(time.perf_counter() - t0, 1)
            folds = p.manifest["fold"].to_numpy()[pool]
            preds[text] = probe_oof(feats, y_ref, folds, args.seed)
            print(f"{text:>7}: features in {seconds[text]:6.1f} s", flush=True)
    rows = bootstrap_f1(y_ref, preds, len(classes), args.bootstrap, args.seed)
    print(f"\n{args.data} ({args.task}, {len(y_ref)} pool images, {args.folds}-fold probe)")
    print(f"{'cache:fed':>9}  {'macro-F1':<24}  {'minus first row':<26}  features")
    for key, r in rows.items():
        print(f"{key:>9}  {row_text(r)}    {seconds[key]} s")
    if args.out:
        record = {
            "data": args.data,
            "task": args.task,
            "folds": args.folds,
            "n_pool": int(len(y_ref)),
            "classes": classes,
            "machine": machine_line(),
            "rows": {k: {**r, "feature_seconds": seconds[k]} for k, r in rows.items()},
        }
        Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
