"""The synthetic source: a balanced set of drawn faces (`prepare.faces`) saved as image files (PNG,
or JPEG for a camera that compresses), with their attributes and ROI boxes as manifest fields."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from maskutils.prepare.camera import CAMERAS, Camera
from maskutils.prepare.faces import render, sample_specs


def generate(
    out_dir: Path,
    n: int,
    size: int,
    classes: list[str],
    seed: int,
    cue_label: str | None = None,
    cue_fraction: float = 0.8,
    mapper: Callable = map,
    camera: str = "default",
    pale_cloth: dict | None = None,
) -> list[dict]:
    """Draw every image into out_dir/<label>/<id>.png (.jpg) as the named camera takes it;
    returns one dict per image (manifest fields), in index order. `mapper(fn, specs)` may draw
    them in other processes."""
    cam = CAMERAS[camera]
    specs = sample_specs(n, classes, seed, cue_label, cue_fraction, cam, pale_cloth)
    for label in {spec["label"] for spec in specs}:
        (out_dir / label).mkdir(parents=True, exist_ok=True)
    return list(mapper(partial(draw, out_dir=out_dir, size=size, seed=seed, camera=cam), specs))


def draw(spec: dict, out_dir: Path, size: int, seed: int, camera: Camera) -> dict:
    """Draws and saves one image; returns its manifest fields. A camera with a JPEG quality
    range saves a JPEG file at a quality drawn from the seed and index."""
    img, roi = render(spec, size, seed, camera=camera)
    name = out_dir / spec["label"] / f"{camera.id_prefix}{spec['index']:06d}"
    if camera.jpeg_quality is None:
        path = name.with_suffix(".png")
        Image.fromarray(img).save(path, optimize=False, compress_level=1)
    else:
        rng = np.random.default_rng(camera.key(seed, 4, spec["index"]))
        path = name.with_suffix(".jpg")
        Image.fromarray(img).save(
            path, quality=int(rng.integers(*camera.jpeg_quality, endpoint=True))
        )
    return {
        "file": str(path),
        "label": spec["label"],
        "label_raw": spec["label"],
        "gender": spec["gender"],
        "age": spec["age"],
        "skin_tone": spec["skin_tone"],
        "cue": spec["cue"],
        "roi_x0": roi[0],
        "roi_y0": roi[1],
        "roi_x1": roi[2],
        "roi_y1": roi[3],
    }
