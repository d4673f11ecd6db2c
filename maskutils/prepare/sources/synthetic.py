"""The synthetic source: a balanced set of drawn faces (`prepare.faces`) saved as PNG files, with
their attributes and ROI boxes as manifest fields."""

from __future__ import annotations

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
) -> list[dict]:
    """Draw every image into out_dir/<label>/<id>.png; returns one dict per image (manifest
    fields)."""
    rows = []
    for spec in sample_specs(n, classes, seed, cue_label, cue_fraction):
        img, roi = render(spec, size, seed)
        rel = Path(spec["label"]) / f"syn{spec['index']:06d}.png"
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(path, optimize=False, compress_level=1)
        rows.append(
            {
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
        )
    return rows
