"""Face detectors. `make(params)` gives a callable: RGB uint8 array -> N x 5 float boxes
(x0, y0, x1, y1 in the image's pixels, score). `kind: mtcnn` is MTCNN (`mtcnn.py`, the default:
it finds masked faces); any other kind is OpenCV Haar cascades (`haar.py`). Params rows:
`detectors.params`."""

from __future__ import annotations

from maskutils.core.params import Schema
from maskutils.modeling.detectors.params import DETECTOR

SCHEMA = Schema("detector", DETECTOR)


def make(params: dict | None = None):
    """The detector for `params` (defaults for keys left out; unknown keys or values are errors)."""
    p = SCHEMA.validate(params, origin="detector")
    if p["kind"] == "mtcnn":
        from maskutils.modeling.detectors.mtcnn import MTCNNDetector

        return MTCNNDetector(p)
    from maskutils.modeling.detectors.haar import HaarDetector

    return HaarDetector(p)
