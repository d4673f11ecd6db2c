"""OpenCV Haar cascades: the cascades shipped inside opencv-python(-headless)
(`cv2.data.haarcascades`), nothing downloaded. `kind` names one cascade or several joined by '+'
(their boxes are merged by non-maximum suppression); `upscale` enlarges the image first, so faces
smaller than a cascade's window (24 px for the frontal cascades, 20 px for the profile one) can be
found at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskutils.core.boxes import nms

#: Detector components: cascade file in cv2.data.haarcascades, and whether it also runs mirrored
#: (the profile cascade knows one side only; the mirror run finds faces turned the other way).
CASCADES = {
    "frontal": ("haarcascade_frontalface_default.xml", False),
    "frontal_alt": ("haarcascade_frontalface_alt.xml", False),
    "frontal_alt2": ("haarcascade_frontalface_alt2.xml", False),
    "frontal_alt_tree": ("haarcascade_frontalface_alt_tree.xml", False),
    "profile": ("haarcascade_profileface.xml", True),
}


class HaarDetector:
    """Loaded cascades for one set of (validated) detector params; call it on an RGB array."""

    def __init__(self, params: dict):
        import cv2

        self.params = params
        self.parts = []
        for name in self.params["kind"].split("+"):
            file, mirror = CASCADES[name]
            path = Path(cv2.data.haarcascades) / file
            cascade = cv2.CascadeClassifier(str(path))
            if cascade.empty():
                raise FileNotFoundError(f"OpenCV cascade {path} missing or unreadable")
            self.parts.append((cascade, mirror))

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """N x 5 float array: x0, y0, x1, y1 (original pixels), score (cascade neighbour count)."""
        import cv2

        p = self.params
        grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        up = float(p["upscale"])
        if up != 1.0:
            grey = cv2.resize(
                grey,
                None,
                fx=up,
                fy=up,
                interpolation=cv2.INTER_LINEAR if up > 1 else cv2.INTER_AREA,
            )
        grey = cv2.equalizeHist(grey)
        side = max(1, int(round(p["min_size"] * up)))
        found = []
        for cascade, mirror in self.parts:
            for flip in (False, True) if mirror else (False,):
                img = grey[:, ::-1].copy() if flip else grey
                rects, counts = cascade.detectMultiScale2(
                    img,
                    scaleFactor=float(p["scale_factor"]),
                    minNeighbors=int(p["min_neighbors"]),
                    minSize=(side, side),
                )
                for (x, y, w, h), n in zip(
                    np.asarray(rects).reshape(-1, 4), np.asarray(counts).reshape(-1)
                ):
                    if flip:
                        x = img.shape[1] - x - w
                    found.append((x / up, y / up, (x + w) / up, (y + h) / up, float(n)))
        boxes = np.array(found, dtype=float).reshape(-1, 5)
        return nms(boxes, float(p["nms_iou"])) if len(self.parts) > 1 or self.parts[0][1] else boxes
