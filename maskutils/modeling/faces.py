"""Faces in scenes: a detector (`modeling.detectors`) finds them, a trained model classifies each.

Each detected face is cropped with a margin on every side (like the VOC source's boxes), squashed
to the model's image_size and classified. `draw` paints boxes coloured by class with the label and
probability; `faces_json` is the JSON of boxes written beside the annotated image.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from maskutils.core.boxes import crop_box
from maskutils.core.images import BadImage, decode, resize
from maskutils.modeling import detectors
from maskutils.modeling.checkpoint import load
from maskutils.modeling.predict import expand, predict_proba

#: Box colours (RGB) by class; any other class gets a colour from its name.
COLOURS = {
    "no_mask": (230, 40, 40),
    "mask": (40, 200, 70),
    "cloth": (40, 200, 70),
    "surgical": (40, 170, 230),
    "n95": (150, 90, 230),
    "n95_valve": (230, 120, 220),
    "incorrect": (250, 160, 20),
}


def crops(rgb: np.ndarray, boxes, margin: float, size: int) -> np.ndarray:
    """N x 3 x size x size uint8: each box widened by `margin` of its side each way, clipped,
    squashed."""
    h, w = rgb.shape[:2]
    out = np.zeros((len(boxes), 3, size, size), dtype=np.uint8)
    for i, b in enumerate(boxes):
        box, _ = crop_box(tuple(float(v) for v in b[:4]), margin, w, h, 1)
        if box is not None:
            x0, y0, x1, y1 = box
            out[i] = resize(np.ascontiguousarray(rgb[y0:y1, x0:x1]), size).transpose(2, 0, 1)
    return out


class FaceClassifier:
    """A model file loaded once; `classify(rgb, boxes)` gives per-class probabilities per box."""

    def __init__(self, model_path: str | Path, margin: float = 0.15, batch_size: int = 256):
        self.model, self.meta = load(model_path)
        self.classes, self.size = list(self.meta["classes"]), int(self.meta["image_size"])
        self.margin, self.batch_size = float(margin), batch_size

    def classify(self, rgb: np.ndarray, boxes) -> np.ndarray:
        if len(boxes) == 0:
            return np.zeros((0, len(self.classes)))
        return predict_proba(self.model, crops(rgb, boxes, self.margin, self.size), self.batch_size)


def faces_from(boxes: np.ndarray, probs: np.ndarray, classes: list[str]) -> list[dict]:
    """One JSON-ready dict per face: x0, y0, x1, y1 (int pixels), score, class, probability,
    probabilities."""
    out = []
    for b, p in zip(boxes, probs):
        k = int(np.argmax(p))
        out.append(
            {
                "x0": int(round(b[0])),
                "y0": int(round(b[1])),
                "x1": int(round(b[2])),
                "y1": int(round(b[3])),
                "score": float(b[4]) if len(b) > 4 and np.isfinite(b[4]) else None,
                "class": classes[k],
                "probability": float(p[k]),
                "probabilities": {c: float(v) for c, v in zip(classes, p)},
            }
        )
    return out


def find_and_classify(rgb: np.ndarray, detector, classifier: FaceClassifier) -> list[dict]:
    """Detect every face in an RGB array and classify it (see `faces_from`)."""
    boxes = detector(rgb)
    return faces_from(boxes, classifier.classify(rgb, boxes), classifier.classes)


def colour(cls: str) -> tuple[int, int, int]:
    if cls in COLOURS:
        return COLOURS[cls]
    h = sum(map(ord, cls))
    return (60 + h * 37 % 180, 60 + h * 71 % 180, 60 + h * 13 % 180)


def draw(rgb: np.ndarray, faces: list[dict], truth: list[dict] | None = None) -> np.ndarray:
    """A copy of the image with each face's box in its class colour and 'class 0.87' above it.
    `truth` (dicts with x0..y1, optional label) is drawn first, thin and white, for comparisons."""
    img = Image.fromarray(np.ascontiguousarray(rgb)).convert("RGB")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    width = max(1, round(max(img.size) / 400))
    for t in truth or []:
        d.rectangle([t["x0"], t["y0"], t["x1"] - 1, t["y1"] - 1], outline=(255, 255, 255), width=1)
    for f in faces:
        col = colour(f["class"])
        d.rectangle([f["x0"], f["y0"], f["x1"] - 1, f["y1"] - 1], outline=col, width=width)
        text = f"{f['class']} {f['probability']:.2f}"
        tx0, ty0, tx1, ty1 = d.textbbox((0, 0), text, font=font)
        tw, th = tx1 - tx0, ty1 - ty0
        y = f["y0"] - th - 3 if f["y0"] - th - 3 >= 0 else f["y1"]
        x = min(max(0, f["x0"]), max(0, img.width - tw - 2))
        d.rectangle([x, y, x + tw + 2, y + th + 3], fill=col)
        d.text(
            (x + 1 - tx0, y + 1 - ty0),
            text,
            fill=(0, 0, 0) if sum(col) > 380 else (255, 255, 255),
            font=font,
        )
    return np.asarray(img)


def faces_json(
    file: str,
    size: tuple[int, int],
    faces: list[dict],
    classes: list[str],
    detector: dict,
    model: str,
    margin: float,
) -> dict:
    """The JSON written per scene: image file and size, settings, and the faces."""
    return {
        "file": str(file),
        "width": int(size[0]),
        "height": int(size[1]),
        "classes": list(classes),
        "detector": dict(detector),
        "model": str(model),
        "margin": float(margin),
        "faces": faces,
    }


def annotate_files(
    paths,
    model_path: str | Path,
    out_dir: str | Path | None = None,
    detector: dict | None = None,
    margin: float = 0.15,
) -> tuple[list[dict], list[dict]]:
    """Detect and classify faces in image files (folders searched recursively).

    Returns (results: one dict per readable file, with `faces` and, with `out_dir`, the paths of
    the annotated PNG and the JSON written there; problems: file, reason for unreadable files).
    """
    det = detectors.make(detector)
    clf = FaceClassifier(model_path, margin)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    results, used = [], set()
    paths, problems = expand(paths)
    for f in paths:
        try:
            rgb = decode(f)[0]
        except (BadImage, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            problems.append({"file": str(f), "reason": str(exc)})
            continue
        t = time.perf_counter()
        faces = find_and_classify(rgb, det, clf)
        res = faces_json(
            str(f),
            (rgb.shape[1], rgb.shape[0]),
            faces,
            clf.classes,
            det.params,
            str(model_path),
            margin,
        )
        res["seconds"] = time.perf_counter() - t
        if out is not None:
            stem, k = f.stem, 1
            while stem in used:  # two scenes with one name in different folders
                k += 1
                stem = f"{f.stem}-{k}"
            used.add(stem)
            Image.fromarray(draw(rgb, faces)).save(out / f"{stem}.faces.png")
            (out / f"{stem}.faces.json").write_text(
                json.dumps({k: v for k, v in res.items() if k != "seconds"}, indent=1)
            )
            res["annotated"], res["json"] = (
                str(out / f"{stem}.faces.png"),
                str(out / f"{stem}.faces.json"),
            )
        results.append(res)
    return results, problems
