"""The synthetic source: a balanced set of drawn faces (`prepare.faces`) saved as PNG files, with
their attributes and ROI boxes as manifest fields."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from PIL import Image

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
) -> list[dict]:
    """Draw every image into out_dir/<label>/<id>.png; returns one dict per image (manifest
    fields), in index order. `mapper(fn, specs)` may draw them in other processes."""
    specs = sample_specs(n, classes, seed, cue_label, cue_fraction)
    for label in {spec["label"] for spec in specs}:
        (out_dir / label).mkdir(parents=True, exist_ok=True)
    return list(mapper(partial(draw, out_dir=out_dir, size=size, seed=seed), specs))


def draw(spec: dict, out_dir: Path, size: int, seed: int) -> dict:
    """Draws and saves one image; returns its manifest fields."""
    img, roi = render(spec, size, seed)
    path = out_dir / spec["label"] / f"syn{spec['index']:06d}.png"
    Image.fromarray(img).save(path, optimize=False, compress_level=1)
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
