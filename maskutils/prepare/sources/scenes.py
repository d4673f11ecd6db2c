"""Synthetic scenes: several drawn faces (`prepare.faces`) on one street-like canvas,
with known face boxes and labels, deterministic per seed, so detection can be measured anywhere.

A face's box is its skin oval (forehead to chin, cheek to cheek, rotated with the head), the
extent a VOC annotator draws. Faces are drawn far to near (small to large); a face is placed only
where it hides under 2% of every face already there, so no annotated face is occluded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from maskutils.core.images import decode
from maskutils.prepare.faces import render_face, sample_specs
from maskutils.prepare.sources.voc import list_voc

CLASSES = ["no_mask", "cloth", "surgical", "n95", "n95_valve"]
#: Face box height / tile side, roughly (a = 0.25, b = 0.34 of the tile, times the age scale).
_FACE_SHARE = 0.6


@dataclass
class Scene:
    """An image (in memory or a file) and its annotated faces: N x 4 boxes x0, y0, x1, y1 and N
    labels."""

    name: str
    boxes: np.ndarray
    labels: list[str]
    file: str | None = None
    image: np.ndarray | None = field(default=None, repr=False)

    def rgb(self) -> np.ndarray:
        """The RGB array: the one held, else the file decoded (raises images.BadImage)."""
        return self.image if self.image is not None else decode(self.file)[0]


def background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A street: sky gradient, a row of buildings with windows, pavement."""
    img = Image.new("RGB", (width, height))
    d = ImageDraw.Draw(img)
    sky_top, sky_low = (
        rng.uniform([90, 120, 170], [150, 180, 240]),
        rng.uniform([170, 190, 210], [230, 235, 250]),
    )
    horizon = int(height * rng.uniform(0.25, 0.45))
    for y in range(height):
        t = min(1.0, y / max(1, horizon))
        d.line(
            [(0, y), (width, y)],
            fill=tuple(int(u * (1 - t) + v * t) for u, v in zip(sky_top, sky_low)),
        )
    x = int(-rng.uniform(0, 60))
    while x < width:
        w = int(rng.uniform(0.12, 0.3) * width)
        top = int(rng.uniform(0.05, 0.5) * height)
        col = tuple(int(c) for c in rng.uniform(60, 200, 3))
        d.rectangle([x, top, x + w, height], fill=col)
        win = tuple(int(c * rng.uniform(0.4, 0.7)) for c in col)
        step = max(8, int(rng.uniform(0.04, 0.08) * width))
        for wy in range(top + step // 2, height, step):
            for wx in range(x + step // 3, x + w - step // 2, step):
                d.rectangle([wx, wy, wx + step // 2, wy + int(step * 0.6)], fill=win)
        x += w + int(rng.uniform(0, 20))
    ground = int(height * rng.uniform(0.6, 0.8))
    g = tuple(int(c) for c in rng.uniform(80, 150, 3))
    d.rectangle([0, ground, width, height], fill=g)
    for k in range(0, width, max(20, width // 12)):  # paving joints
        d.line(
            [(k, ground), (k - (height - ground), height)],
            fill=tuple(int(c * 0.8) for c in g),
            width=1,
        )
    return img.filter(ImageFilter.GaussianBlur(1.2))


def make_scene(
    index: int,
    seed: int,
    n_faces: int = 6,
    width: int = 640,
    height: int = 480,
    face_sizes: tuple[int, int] = (32, 128),
    classes=CLASSES,
) -> Scene:
    """One scene: up to n_faces faces (fewer when the canvas has no room left), face box heights
    drawn log-uniformly from face_sizes (px), labels balanced over `classes` per scene."""
    lo, hi = face_sizes
    if not 8 <= lo <= hi or hi > min(width, height) * _FACE_SHARE:
        raise ValueError(
            f"face_sizes {face_sizes} must satisfy 8 <= low <= high <= {_FACE_SHARE} x "
            f"the shorter canvas side ({min(width, height)})"
        )
    rng = np.random.default_rng([seed, 7, index])
    canvas = background(rng, width, height).convert("RGBA")
    specs = sample_specs(n_faces, list(classes), int(rng.integers(2**31)), None, 0.0)
    heights = sorted(np.exp(rng.uniform(math.log(lo), math.log(hi), n_faces)))  # far (small) first
    placed_boxes, labels = [], []
    for spec, h in zip(specs, heights):
        tile = max(16, int(round(h / _FACE_SHARE)))
        face, box = render_face(spec, tile, seed * 100_003 + index)
        alpha = face[..., 3] > 8
        for _ in range(40):
            # anywhere the face box stays on the canvas; the shoulders may run off it
            ox = int(rng.integers(-box[0], width - box[2] + 1))
            oy = int(rng.integers(-box[1], height - box[3] + 1))
            if _fits(alpha, ox, oy, placed_boxes, width, height):
                break
        else:
            continue
        layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        layer.paste(Image.fromarray(face), (ox, oy))
        canvas.alpha_composite(layer)
        placed_boxes.append((box[0] + ox, box[1] + oy, box[2] + ox, box[3] + oy))
        labels.append(spec["label"])
    arr = np.asarray(canvas.convert("RGB"), dtype=np.float32)
    arr = arr * rng.uniform(0.8, 1.15) + rng.normal(0, 5, 3)  # lighting and colour cast
    arr = arr + rng.normal(0, rng.uniform(1, 5), arr.shape)  # sensor noise
    img = np.clip(arr, 0, 255).astype(np.uint8)
    return Scene(
        name=f"scene{index:04d}",
        boxes=np.array(placed_boxes, dtype=float).reshape(-1, 4),
        labels=labels,
        image=img,
    )


def _fits(alpha: np.ndarray, ox: int, oy: int, boxes, width: int, height: int) -> bool:
    """True when the face tile at (ox, oy) covers under 2% of every earlier face box."""
    th, tw = alpha.shape
    for x0, y0, x1, y1 in boxes:
        ix0, iy0, ix1, iy1 = max(x0, ox), max(y0, oy), min(x1, ox + tw), min(y1, oy + th)
        if ix1 <= ix0 or iy1 <= iy0:
            continue
        covered = alpha[iy0 - oy : iy1 - oy, ix0 - ox : ix1 - ox].sum()
        if covered > 0.02 * (x1 - x0) * (y1 - y0):
            return False
    return True


def synthetic_scenes(
    n: int,
    seed: int = 0,
    n_faces: int = 6,
    width: int = 640,
    height: int = 480,
    face_sizes: tuple[int, int] = (32, 128),
    classes=CLASSES,
) -> list[Scene]:
    """n scenes (see `make_scene`); scene i is the same whatever n is."""
    return [make_scene(i, seed, n_faces, width, height, face_sizes, classes) for i in range(n)]


def write_voc(scenes, root: str | Path) -> Path:
    """Saves scenes as a Pascal VOC dataset: ROOT/images/<name>.png and
    ROOT/annotations/<name>.xml."""
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for s in scenes:
        rgb = s.rgb()
        Image.fromarray(rgb).save(root / "images" / f"{s.name}.png", compress_level=1)
        objs = "".join(
            f"<object><name>{escape(lab)}</name><bndbox><xmin>{b[0]:g}</xmin><ymin>{b[1]:g}</ymin>"
            f"<xmax>{b[2]:g}</xmax><ymax>{b[3]:g}</ymax></bndbox></object>"
            for b, lab in zip(np.asarray(s.boxes).reshape(-1, 4), s.labels)
        )
        (root / "annotations" / f"{s.name}.xml").write_text(
            f"<annotation><filename>{s.name}.png</filename><size><width>{rgb.shape[1]}</width>"
            f"<height>{rgb.shape[0]}</height><depth>3</depth></size>{objs}</annotation>"
        )
    return root


def voc_scenes(
    root: str | Path, aliases: dict[str, str] | None = None
) -> tuple[list[Scene], list[dict]]:
    """Every annotated image of a Pascal VOC dataset as a Scene (boxes as annotated, canonical
    labels);
    and the listing's problems (unreadable XML, missing image...)."""
    listing = list_voc(root, aliases, incorrect="keep")
    scenes = [
        Scene(
            name=Path(it.file).stem,
            file=it.file,
            boxes=np.array([r["raw_box"] for r in it.rows], float),
            labels=[r["label"] for r in it.rows],
        )
        for it in listing.items
    ]
    return scenes, listing.problems
