"""`image_size: auto`: the side the faces are cached at, chosen from the faces themselves.

The synthetic source keeps the side it draws at (`synthetic.render_size`). For class folders and
VOC scenes it is the median shorter side of the faces (a folder image's header, or a VOC box with
its margin), rounded down to a multiple of `STEP` and clamped to `auto_size.min`..`auto_size.max`:
rounding down never upsamples the median face, and the cap keeps a CPU study affordable (a GPU
profile raises it). A number in `image_size` overrides all of this.
"""

from __future__ import annotations

import numpy as np

from maskutils.core.images import header_size
from maskutils.prepare.sources import Listing

#: sizes are multiples of this: MobileNetV2 and its kin reduce their input 32-fold
STEP = 32
#: faces measured at most (evenly spaced over the listing): a header read each, for a stable median
SAMPLE = 2000


def face_sides(listing: Listing, voc_margin: float) -> np.ndarray:
    """Shorter side (px) of each face in an even sample of the listing; unreadable files are
    left out (decoding reports them)."""
    items = listing.items
    if len(items) > SAMPLE:
        items = [items[i] for i in np.linspace(0, len(items) - 1, SAMPLE).round().astype(int)]
    sides = []
    for item in items:
        boxes = [r["raw_box"] for r in item.rows if r.get("raw_box") is not None]
        if boxes:
            sides += [min(x1 - x0, y1 - y0) * (1 + 2 * voc_margin) for x0, y0, x1, y1 in boxes]
            continue
        size = header_size(item.file)
        if size is not None:
            sides.append(min(size))
    return np.asarray(sides, float)


def choose(median_side: float, low: int, high: int) -> int:
    """The median side rounded down to a multiple of STEP, clamped to [low, high]."""
    return int(min(max(int(median_side) // STEP * STEP, low), high))


def resolve(params: dict, listing: Listing) -> tuple[int, dict | None]:
    """(side, how it was chosen) for prepare's params; `how` is None for an explicit number."""
    if params["image_size"] != "auto":
        return int(params["image_size"]), None
    if params["source"]["kind"] == "synthetic":
        side = params["synthetic"]["render_size"]
        return side, {"rule": "synthetic.render_size", "median_side": side, "measured": 0}
    sides = face_sides(listing, params["voc"]["margin"])
    if not len(sides):
        raise ValueError(
            "image_size: auto found no readable image to measure; set prepare.image_size to a "
            "number, or check source.root"
        )
    lo, hi = params["auto_size"]["min"], params["auto_size"]["max"]
    median = float(np.median(sides))
    how = {
        "rule": f"median shorter side, rounded down to a multiple of {STEP}, within [{lo}, {hi}]",
        "median_side": round(median, 1),
        "measured": int(len(sides)),
    }
    return choose(median, lo, hi), how
