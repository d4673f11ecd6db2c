"""Face detectors. `make(params)` gives a callable: RGB uint8 array -> N x 5 float boxes
(x0, y0, x1, y1 in the image's pixels, score). Params rows: `detectors.params`."""

from __future__ import annotations

from maskutils.core.params import Schema
from maskutils.modeling.detectors.params import DETECTOR

SCHEMA = Schema("detector", DETECTOR)


def make(params: dict | None = None):
    """The detector for `params` (defaults for keys left out; unknown keys or values are errors)."""
    from maskutils.modeling.detectors.haar import HaarDetector

    return HaarDetector(SCHEMA.validate(params, origin="detector"))
