"""Which CAM method, at which depth, explains the study's models: measured on validation images
only (the test split, which the Grad-CAM stage reports on, is never read here).

One row per (model, method, min_grid): the studied model (models/study.pt) and the from-scratch
CNN (models/cnn.pt), each method of `cams.METHODS`, at the deepest layer whose map has at least
`min_grid` cells a side (1: the last block); Score-CAM, one forward pass per channel, on fewer
images (`--slow-n`). Per row, with bootstrap intervals over images:
- ROAD minus random maps (`road`): faithfulness that does not reward out-of-distribution fills;
- the rank correlation of the maps with the maps after re-initialising the top half of the
  model's layers (`sanity`): below 0.5 with confidence passes;
- pointing game and ROI energy lift, the independent check (synthetic data carry ROIs).

The choice, for the studied model, by `RULE`: faithfulness first, intervals read as intervals
(ties broken by depth, then by the sanity check). "No row passes" is a possible answer.
The stage (`params/gradcam.yaml`: method, min_grid) uses the choice; a test keeps them equal.

    python benchmarks/gradcam_grid.py --out benchmarks/results/gradcam_grid.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.resolution_probe import machine_line
from maskutils.core.stats import sign
from maskutils.modeling import checkpoint
from maskutils.prepare.prepared import load_prepared
from maskutils.stages.gradcam.cams import resolve_layer
from maskutils.stages.gradcam.params import METHODS
from maskutils.stages.gradcam.run import data_prior, explain, measures, sanity

HALF = 0.5
MIN_CELLS = 6  # a map must resolve the face's parts: at least 6 x 6 cells where a model has one
RULE = (
    f"rows with a map of at least {MIN_CELLS} cells a side that pass the top-half randomisation "
    "check (rank correlation below 0.5 with confidence) and whose ROAD lies above random maps' "
    "(interval above 0); of these, the rows whose ROAD interval reaches the best one's are tied "
    "on faithfulness; among the tied, the deepest layer (the coarsest map), then the lowest "
    "rank correlation after randomisation"
)


def row(model, meta, p, pick, method: str, min_grid: int, args) -> dict:
    """One (model, method, min_grid) row of the grid; Score-CAM on the first `args.slow_n`
    images only (one forward pass per channel of the layer)."""
    classes, y = p.task(meta["task"])
    if method == "scorecam":
        pick = pick[: args.slow_n]
    t0 = time.perf_counter()
    ex = explain(
        model,
        p.images[pick],
        y[pick],
        classes,
        p.manifest.iloc[pick].reset_index(drop=True),
        method=method,
        min_grid=min_grid,
        seed=args.seed,
        prior=data_prior(p, p.images.shape[-1]),
    )
    m = measures(ex, args.bootstrap, 0.95, args.seed)
    s = sanity(ex, model, len(pick), args.bootstrap, 0.95, args.seed, fractions=(HALF,))
    loc = m["localisation"].get("overall", {})
    half = s["randomisation"]["steps"][0]["rank_correlation"]
    return {
        "model": meta["name"],
        "method": method,
        "min_grid": min_grid,
        "layer": ex.cams.layer,
        "grid": ex.cams.grid,
        "n_images": int(len(pick)),
        "road_vs_random": s["road"]["road_vs_random"],
        "rank_correlation_top_half_random": half,
        "passes_randomisation": s["randomisation"]["passes"],
        "pointing_hit": loc.get("pointing_hit"),
        "roi_energy_lift": loc.get("roi_energy_lift"),
        "drop_vs_random": m["faithfulness"]["overall"]["drop_vs_random"],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def choose(rows: list[dict], studied: str) -> dict | None:
    """The studied model's row by `RULE`, or None when no row passes."""
    ok = [
        r
        for r in rows
        if r["model"] == studied
        and r["grid"] >= MIN_CELLS
        and r["passes_randomisation"]
        and sign(r["road_vs_random"]) == 1
    ]
    if not ok:
        return None
    best = max(ok, key=lambda r: r["road_vs_random"]["value"])["road_vs_random"]
    tied = [r for r in ok if r["road_vs_random"]["ci_high"] >= best["ci_low"]]
    pick = min(tied, key=lambda r: (r["grid"], r["rank_correlation_top_half_random"]["value"]))
    return {"method": pick["method"], "min_grid": pick["min_grid"], "layer": pick["layer"]}


def _ci(d: dict | None) -> str:
    if not d or d.get("value") is None:
        return "-"
    return f"{d['value']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prepared", default="data/prepared")
    ap.add_argument("--models", default="models", help="folder with study.pt and cnn.pt")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--grids", nargs="+", type=int, default=[1, 6, 12])
    ap.add_argument("--n", type=int, default=120, help="validation images")
    ap.add_argument("--slow-n", type=int, default=30, help="of them, for Score-CAM")
    ap.add_argument("--bootstrap", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="write the record here (JSON)")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    p = load_prepared(args.prepared)
    val = p.rows("val")
    pick = np.sort(np.random.default_rng(args.seed).permutation(val)[: args.n])
    rows = []
    for file in ("study.pt", "cnn.pt"):
        model, meta = checkpoint.load(Path(args.models) / file)
        layers = {}  # a grid that resolves to a layer already measured adds nothing
        for g in args.grids:
            layers.setdefault(resolve_layer(model, None, p.images.shape[-1], g)[0], g)
        for g in layers.values():
            for method in args.methods:
                r = row(model, meta, p, pick, method, g, args)
                rows.append(r)
                print(
                    f"{r['model']:>13} {method:>9} grid>={g:<2} {r['layer']:<24} "
                    f"ROAD-random {_ci(r['road_vs_random'])}  "
                    f"rho(top half random) {_ci(r['rank_correlation_top_half_random'])}  "
                    f"pointing {_ci(r['pointing_hit'])}  {r['seconds']} s",
                    flush=True,
                )
    studied = checkpoint.load(Path(args.models) / "study.pt")[1]["name"]
    choice = choose(rows, studied)
    print(f"\nchoice for {studied}: {choice or 'no row passes'}")
    if args.out:
        record = {
            "prepared": args.prepared,
            "source": p.info["params"]["source"]["kind"],
            "split": "val",
            "n_images": int(len(pick)),
            "bootstrap_reps": args.bootstrap,
            "seed": args.seed,
            "studied_model": studied,
            "rule": RULE,
            "choice": choice,
            "machine": machine_line(),
            "rows": rows,
        }
        Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
