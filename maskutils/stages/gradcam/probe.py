"""The shortcut probe: does a model's evidence for a class leave the face when a spurious cue
appears?

The same synthetic faces are drawn again (`prepare.faces.render` with the same seeds, so face, noise
and lighting are identical) on three backgrounds: their own, the planted cue's saturated green,
and a blue control of the same saturation and brightness. Grad-CAM maps and probabilities of the
three are compared face by face (`maskutils.stages.gradcam.run` does the maps and measures).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from torch import nn

from maskutils.core.images import resize
from maskutils.core.labels import task_label
from maskutils.core.stats import bootstrap_mean
from maskutils.prepare import faces as syn
from maskutils.prepare.camera import CAMERAS
from maskutils.stages.gradcam.cams import compute_cams
from maskutils.stages.gradcam.measures import energy_share, pointing_hits, roi_masks


def _synthetic_params(prepared) -> dict:
    p = prepared.info.get("params", {})
    if p.get("source", {}).get("kind") != "synthetic":
        raise ValueError(
            "the shortcut probe redraws synthetic faces: the prepared data are not synthetic"
        )
    return p


#: Probe backgrounds: the stored one, the cue's saturated green, and a control of the same
#: saturation and brightness in another hue (blue), so that the cue's effect is told apart
#: from that of any flat, saturated background.
BACKGROUNDS = ("original", "cue", "control")
CONTROL_HUE = 0.62


def redraw(
    prepared, rows, background: str = "cue", seed_offset: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """The synthetic faces of manifest rows drawn again at the cached size, by the camera that drew
    them: 'original' exactly as stored (before a JPEG camera's compression), 'cue' the same face,
    noise and lighting on the planted cue's green background, 'control' the same on a blue
    background of the same saturation and brightness.
    Returns (uint8 N x 3 x S x S, ROI boxes N x 4 in those pixels)."""
    if background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {', '.join(BACKGROUNDS)}, not {background!r}")
    p = _synthetic_params(prepared)
    s = p["synthetic"]
    camera = CAMERAS[s.get("camera", "default")]  # data prepared before cameras: the default
    specs = syn.sample_specs(
        s["n_images"],
        s["classes"],
        p["seed"],
        s["spurious_cue"]["label"],
        s["spurious_cue"]["fraction"],
        camera,
        s.get("pale_cloth") or None,  # data prepared before it: nobody's
    )
    size, render_size, seed = prepared.info["image_size"], s["render_size"], p["seed"]
    imgs, boxes = [], []
    for row in np.asarray(rows, int):
        spec = specs[int(prepared.manifest["image_id"].iloc[row][len(camera.id_prefix) :])]
        flat = None
        if background != "original":
            hue = syn.CUE_HUE if background == "cue" else CONTROL_HUE
            value = float(
                np.random.default_rng([seed, seed_offset, spec["index"]]).uniform(0.55, 0.8)
            )
            flat = syn.hsv(hue, 0.85, value)
        arr, box = syn.render(spec, render_size, seed, flat_background=flat, camera=camera)
        imgs.append(resize(arr, size).transpose(2, 0, 1))
        boxes.append(np.array(box, float) * size / render_size)
    return (
        np.stack(imgs) if imgs else np.empty((0, 3, size, size), np.uint8),
        np.stack(boxes) if boxes else np.empty((0, 4)),
    )


def probe_rows(prepared, label: str | None = None, n: int = 100, splits=("test",)) -> np.ndarray:
    """Up to n manifest rows of `label` (default: the planted cue's label, else 'cloth') in
    `splits`, none of which carried the cue, in manifest order."""
    p = _synthetic_params(prepared)
    label = label or p["synthetic"]["spurious_cue"]["label"] or "cloth"
    df = prepared.manifest
    cue = df["cue"].fillna(False).astype(bool) if "cue" in df else False
    return np.flatnonzero(
        ((df["label"] == label) & df["split"].isin(list(splits)) & ~cue).to_numpy()
    )[:n]


MEASURES = ("roi_energy", "pointing_hit", "p_label", "predicted_label")


def probe(
    model: nn.Module,
    prepared,
    task: str = "mask_type",
    label: str | None = None,
    n: int = 100,
    splits=("test",),
    method: str = "gradcam",
    target_layer: str | None = None,
    batch_size: int = 32,
    reps: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    return_arrays: bool = False,
):
    """Does the model's evidence for `label` leave the face when the cue background appears?

    The same faces of `label` (rows of `splits` that did not carry the cue) are drawn three
    times: on their original background, on the cue's green background and on a control
    background (blue, same saturation and brightness). Maps explain `label` (the true class).
    Reported per background: ROI energy share, pointing hit, p(label), share predicted `label`,
    and per-face paired differences with bootstrap intervals. The shortcut's signature is
    `cue_minus_control`: ROI energy falls and p(label) rises on green but not on the control;
    `cue_minus_original` alone also moves for a model that never saw the cue (any flat,
    saturated background changes the picture), so it is reported but is not the test."""
    p = _synthetic_params(prepared)
    label = label or p["synthetic"]["spurious_cue"]["label"] or "cloth"
    classes, _ = prepared.task(task)
    cls = task_label(label, task)
    k = classes.index(cls)
    rows = probe_rows(prepared, label, n, splits)
    out = {
        "label": label,
        "class": cls,
        "splits": list(splits),
        "n": int(len(rows)),
        "method": method,
        "backgrounds": {
            "cue": "saturated green (the planted cue's colour)",
            "control": f"saturated blue (hue {CONTROL_HUE}), same saturation and brightness",
            "original": "as stored",
        },
        "image_ids": prepared.manifest["image_id"].iloc[rows].tolist(),
    }
    if not len(rows):
        out.update(
            available=False, reason=f"no {label} images without the cue in {', '.join(splits)}"
        )
        return (out, None) if return_arrays else out
    arrays, per = {}, {}
    for bg in BACKGROUNDS:
        imgs, boxes = redraw(prepared, rows, bg)
        cams = compute_cams(model, imgs, method, target_layer, np.full(len(rows), k), batch_size)
        masks = roi_masks(boxes, imgs.shape[-1])
        probs = cams.probs
        per[bg] = pd.DataFrame(
            {
                "roi_energy": energy_share(cams.maps, masks),
                "pointing_hit": pointing_hits(cams.maps, masks),
                "p_label": probs[:, k],
                "predicted_label": (probs.argmax(1) == k).astype(float),
                "roi_area_share": masks.mean((1, 2)),
            }
        )
        arrays[bg] = {"images": imgs, "maps": cams.maps, "boxes": boxes, "probs": probs}
        out["target_layer"] = cams.layer
    out["available"] = True
    for bg, t in per.items():
        out[bg] = {c: bootstrap_mean(t[c], reps, confidence, seed) for c in t.columns}
    for a, b in (("cue", "control"), ("cue", "original"), ("control", "original")):
        d = per[a] - per[b]
        out[f"{a}_minus_{b}"] = {
            c: bootstrap_mean(d[c], reps, confidence, seed + 7) for c in MEASURES
        }
    if return_arrays:
        arrays["table"] = per
        return out, arrays
    return out
