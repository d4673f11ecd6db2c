"""Figures of the Grad-CAM analysis: galleries (image / heatmap / overlay), mean maps, the probe."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import pyplot as plt

from maskutils.core import fmt
from maskutils.stages.gradcam import verdicts
from maskutils.stages.gradcam.run import Explanation, gallery, mean_maps


def overlay(image: np.ndarray, cam: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """uint8 3 x H x W image and an H x W map in [0, 1] -> H x W x 3 float RGB overlay (jet)."""
    rgb = image.transpose(1, 2, 0).astype(np.float32) / 255
    heat = matplotlib.colormaps["jet"](np.clip(cam, 0, 1))[..., :3]
    return np.clip((1 - alpha) * rgb + alpha * heat, 0, 1)  # float32 rounding can pass 1 by 1e-8


def triplets(images, maps, titles, boxes=None, dpi: int = 90):
    """One row per image: image, heatmap, overlay (with the ROI box when given)."""
    n = len(images)
    fig, axes = plt.subplots(max(n, 1), 3, figsize=(4.2, 1.45 * max(n, 1)), dpi=dpi, squeeze=False)
    for i in range(n):
        for j, im in enumerate(
            (images[i].transpose(1, 2, 0), maps[i], overlay(images[i], maps[i]))
        ):
            ax = axes[i, j]
            ax.imshow(
                im,
                cmap="jet" if j == 1 else None,
                vmin=0,
                vmax=1 if j == 1 else None,
                interpolation="nearest",
            )  # blocky pixels: true to the input, and small PNGs
            ax.set_xticks([]), ax.set_yticks([])
            if boxes is not None and j != 1:
                x0, y0, x1, y1 = boxes[i]
                ax.add_patch(
                    plt.Rectangle(
                        (x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="white", lw=1
                    )
                )
        axes[i, 0].set_title(titles[i], fontsize=7, loc="left")
    fig.tight_layout()
    return fig


def gallery_figures(ex: Explanation, per_class: int = 4, dpi: int = 90) -> dict:
    """{group name: figure} for every non-empty group of `explain.gallery`; titles give
    true -> predicted, p(predicted) and the no_mask logit."""
    t, out = ex.table, {}
    for group, idx in gallery(ex, per_class).items():
        if not idx:
            continue
        titles = [
            f"{t['image_id'].iloc[i]}: {t['true'].iloc[i]} -> {t['pred'].iloc[i]} "
            f"p={t['p_' + t['pred'].iloc[i]].iloc[i]:.2f}"
            + (f" no_mask logit {t['logit_no_mask'].iloc[i]:.2f}" if "logit_no_mask" in t else "")
            for i in idx
        ]
        out[group] = triplets(
            ex.images[idx],
            ex.cams.maps[idx],
            titles,
            None if ex.boxes is None else ex.boxes[idx],
            dpi,
        )
    return out


def mean_maps_figure(ex: Explanation, correct_only: bool = False, dpi: int = 90):
    """Mean heatmap per true class."""
    maps = mean_maps(ex, correct_only)
    fig, axes = plt.subplots(
        1, max(len(maps), 1), figsize=(2.2 * max(len(maps), 1), 2.4), dpi=dpi, squeeze=False
    )
    for ax, (cls, m) in zip(axes[0], maps.items()):
        ax.imshow(m, cmap="jet", vmin=0, vmax=1)
        ax.set_title(f"{cls} (n={int((ex.table['true'] == cls).sum())})", fontsize=8)
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    return fig


def probe_figure(arrays: dict, n: int = 4, dpi: int = 90):
    """The shortcut probe's faces on each background (from `shortcut.probe(...,
    return_arrays=True)`):
    overlays of the maps, the ROI boxed, p(label) in the title."""
    bgs = [b for b in ("original", "control", "cue") if b in arrays]
    n = min(n, len(arrays[bgs[0]]["images"]))
    fig, axes = plt.subplots(
        max(n, 1), len(bgs), figsize=(2.2 * len(bgs), 2.2 * max(n, 1)), dpi=dpi, squeeze=False
    )
    for j, bg in enumerate(bgs):
        a, p = arrays[bg], arrays["table"][bg]
        for i in range(n):
            ax = axes[i, j]
            ax.imshow(overlay(a["images"][i], a["maps"][i]))
            x0, y0, x1, y1 = a["boxes"][i]
            ax.add_patch(
                plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="white", lw=1)
            )
            ax.set_title(
                f"{bg}: p={p['p_label'].iloc[i]:.2f} roi={p['roi_energy'].iloc[i]:.2f}", fontsize=7
            )
            ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    return fig


def _cell(ci: dict) -> str:
    """'0.414 [0.400, 0.429] (n=300)'."""
    return f"{fmt.ci(ci)} (n={ci.get('n', '?')})" if ci.get("value") is not None else "n/a"


def measures_table(block: dict) -> pd.DataFrame:
    """A localisation or faithfulness block of `explain.measures`: rows overall and per class,
    columns the measures as 'value [low, high] (n=...)'."""
    rows = {"all classes": block["overall"], **block["per_class"]}
    return pd.DataFrame(
        {name: {k: _cell(v) for k, v in vals.items()} for name, vals in rows.items()}
    ).T


def baselines_table(m: dict) -> pd.DataFrame:
    """Overall pointing and ROI energy of the maps and of each baseline (`verdicts.BASELINES`),
    and whether the maps' interval lies above, below or overlaps the baseline's."""
    o, v = m["localisation"]["overall"], verdicts.localisation(m)
    rows = {
        "the maps": {"pointing hit": _cell(o["pointing_hit"]), "ROI energy": _cell(o["roi_energy"])}
    }
    for b, (name, pk, ek) in verdicts.BASELINES.items():
        if pk in o:
            rows[name] = {
                "pointing hit": _cell(o[pk]),
                "ROI energy": _cell(o[ek]),
                "maps vs this (pointing / energy)": (
                    f"{v[b]['pointing_hit']} / {v[b]['roi_energy']}"
                ),
            }
    return pd.DataFrame(rows).T.fillna("")


def peak_grid_figure(m: dict, dpi: int = 90):
    """Share of images whose map peaks in each cell of the target layer's grid."""
    grid = np.asarray(m["localisation"]["peak_grid"])
    fig, ax = plt.subplots(figsize=(2.6, 2.4), dpi=dpi)
    im = ax.imshow(grid, cmap="viridis", vmin=0)
    for (i, j), v in np.ndenumerate(grid):
        if v > 0:
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6, color="w")
    ax.set_title(f"map peaks by cell ({len(grid)}x{len(grid)})", fontsize=8)
    ax.set_xticks([]), ax.set_yticks([])
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def sanity_table(m: dict) -> pd.DataFrame:
    """ROAD against random maps, and each randomisation step's rank correlation and SSIM."""
    road, r = m["sanity"]["road"], m["sanity"]["randomisation"]
    rows = {
        f"ROAD, {k.replace('_', ' ')}": {"value": _cell(road[k])}
        for k in ("road", "road_random", "road_vs_random")
    }
    for st in r["steps"]:
        what = (
            f"top {st['fraction']:.0%} of layers re-initialised "
            f"({st['layers_randomised']} of {r['layers']})"
        )
        rows[f"{what}: rank correlation"] = {"value": _cell(st["rank_correlation"])}
        rows[f"{what}: SSIM"] = {"value": _cell(st["ssim"])}
    return pd.DataFrame(rows).T


SIDE = {
    "pointing hit": ("localisation", "pointing_hit"),
    "ROI energy lift": ("localisation", "roi_energy_lift"),
    "drop minus random drop": ("faithfulness", "drop_vs_random"),
}


def side_by_side(s: dict) -> pd.DataFrame:
    """The studied model's and the compared model's maps (`compare`), measure by measure."""
    models = {"studied model": s} | (
        {s["compare"]["model"]: s["compare"]} if "compare" in s else {}
    )
    out = {}
    for name, m in models.items():
        col = {"maps": f"{m['method']} at {m['target_layer']} ({m['grid']}x{m['grid']})"}
        for label, (block, key) in SIDE.items():
            o = m[block].get("overall", {})
            col[label] = _cell(o[key]) if key in o else "n/a"
        col["ROAD minus random"] = _cell(m["sanity"]["road"]["road_vs_random"])
        half = next(x for x in m["sanity"]["randomisation"]["steps"] if x["fraction"] == 0.5)
        col["rank correlation, top half re-initialised"] = _cell(half["rank_correlation"])
        col["every test passed"] = "yes" if verdicts.passes(m) else "no"
        out[name] = col
    return pd.DataFrame(out)


def load_record(path) -> dict | None:
    """The method benchmark's record (benchmarks/results/gradcam_grid.json), or None without one."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def grid_table(record: dict) -> pd.DataFrame:
    """The benchmark's record (benchmarks/results/gradcam_grid.json): one row per (model, method,
    min_grid)."""
    rows = []
    for r in record["rows"]:
        rows.append(
            {
                "model": r["model"],
                "method": r["method"],
                "layer (grid)": f"{r['layer']} ({r['grid']}x{r['grid']})",
                "ROAD minus random": fmt.ci(r["road_vs_random"]),
                "rho, top half random": fmt.ci(r["rank_correlation_top_half_random"]),
                "passes randomisation": "yes" if r["passes_randomisation"] else "no",
                "pointing hit": fmt.ci(r["pointing_hit"]) if r["pointing_hit"] else "n/a",
                "s": r["seconds"],
            }
        )
    return pd.DataFrame(rows)


def grid_text(record: dict | None, s: dict) -> str:
    """Where the stage's method and grid come from, and whether they are the record's choice."""
    if record is None:
        return "No record of the method benchmark (benchmarks/results/gradcam_grid.json)."
    c = record["choice"]
    head = (
        f"Measured by `benchmarks/gradcam_grid.py` on {record['n_images']} {record['split']} "
        f"images of the {record['source']} data ({record['machine']}). Rule: {record['rule']}. "
    )
    if c is None:
        return head + "No row passed: no method is chosen by measurement."
    same = c["method"] == s["method"]
    return (
        head
        + (
            f"Choice: `{c['method']}`, min_grid {c['min_grid']} (`{c['layer']}`); this run uses "
            + ("it." if same else f"`{s['method']}` instead (params/gradcam.yaml).")
        )
        + (
            f" How the rule came to be: {record['rule_history']}"
            if "rule_history" in record
            else ""
        )
    )


def probe_table(probe: dict) -> pd.DataFrame:
    """The shortcut probe: each background and each paired difference, per measure."""
    keys = [
        k
        for k in (
            "original",
            "control",
            "cue",
            "cue_minus_control",
            "cue_minus_original",
            "control_minus_original",
        )
        if k in probe
    ]
    return pd.DataFrame(
        {
            k: {
                m: _cell(v)
                for m, v in probe[k].items()
                if m != "roi_area_share" or "minus" not in k
            }
            for k in keys
        }
    ).T


def header(s: dict, g: dict, model_name: str) -> str:
    """Images, model, method, layer, explained class and accuracy (Markdown)."""
    explained = "predicted" if g["target"] == "pred" else "true"
    return (
        f"**{s['n_images']} images** ({', '.join(g['splits'])}) · model `{model_name}` · "
        f"method `{s['method']}` at layer `{s['target_layer']}` ({s['grid']}x{s['grid']} map) · "
        f"maps explain the {explained} "
        f"class · accuracy on these images {s['accuracy']:.3f}"
    )


def probe_text(probe: dict | None) -> str:
    if probe is None or not probe.get("available"):
        default = "no synthetic data, or disabled by `shortcut.enabled`."
        reason = (probe or {}).get("reason", default)
        return f"Not run: {reason}"
    return (
        f"{probe['n']} {probe['label']} faces from {', '.join(probe['splits'])}, none drawn with "
        "the cue."
    )
