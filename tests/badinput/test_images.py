"""Odd but valid images are decoded as a viewer shows them (corpus: tests/badinput/corpus.py)."""

import numpy as np
import pytest

from maskutils.core.images import decode
from tests.badinput.corpus import (
    SIDE,
    case,
    cmyk,
    exif_rotated,
    grey16,
    palette_alpha,
    trns,
)


def _halves(rgb: np.ndarray, right) -> bool:
    """Left half white (the transparent colour composited onto white), right half `right`."""
    half = rgb.shape[1] // 2
    return (rgb[:, :half] == 255).all() and (rgb[:, half:] == right).all()


@pytest.mark.parametrize(
    "write, check",
    [
        case("handled", "cmyk-jpeg", cmyk, lambda rgb: rgb.shape == (SIDE * 3, SIDE * 3, 3)),
        case("handled", "16-bit-grey", grey16, lambda rgb: (rgb == 156).all()),  # 40000/65535
        case("handled", "palette-alpha", palette_alpha, lambda rgb: _halves(rgb, (255, 0, 0))),
        case(
            "handled",
            "exif-rotated",
            exif_rotated,
            lambda rgb: rgb.shape[:2] == (SIDE * 2, SIDE) and rgb[:3].mean() > 200,
        ),
        # item 14: a tRNS chunk in every PNG mode, not only RGBA and palette
        case("handled", "trns-1-bit", trns("1"), lambda rgb: _halves(rgb, 255)),
        case("handled", "trns-grey", trns("L"), lambda rgb: _halves(rgb, 90)),
        case("handled", "trns-16-bit-grey", trns("I;16"), lambda rgb: _halves(rgb, 117)),
        case("handled", "trns-rgb", trns("RGB"), lambda rgb: _halves(rgb, (200, 10, 10))),
    ],
)
def test_odd_images_decode_as_shown(tmp_path, write, check):
    rgb, _ = decode(write(tmp_path / "image.png"))
    assert rgb.dtype == np.uint8 and rgb.shape[2] == 3 and check(rgb)
