"""`image_size: auto`: the cache side follows the faces; a number overrides it."""

import json

import numpy as np
import pytest

from maskutils.prepare.resolution import choose
from maskutils.prepare.run import run
from tests.conftest import face_photo, params, save


def _folder(root, side: int, n: int = 6):
    """Two class folders of n photos whose shorter side is `side` (the longer one 1.5x)."""
    for k in range(n):
        photo = face_photo(k, size=max(side, 16))
        tall = np.resize(photo, (int(side * 1.5), side, 3)).astype(np.uint8)
        save(tall, root / "NoMask" / f"n{k}.png")
        save(tall, root / "SurgicalMask" / f"s{k}.png")
    return root


def _prepare(tmp_path, root, **given) -> dict:
    p = params(
        "prepare",
        {"workers": 1, "source": {"kind": "folder", "root": str(root)}, "split": {"folds": 2}}
        | given,
    )
    return run(p, tmp_path / "out", progress=False, splits=False)  # the size, not the split


@pytest.mark.parametrize(
    "median, low, high, side",
    [(181, 64, 160, 160), (139, 64, 160, 128), (40, 64, 160, 64), (250, 64, 224, 224)],
)
def test_the_median_rounds_down_to_32_within_the_range(median, low, high, side):
    assert choose(median, low, high) == side


def test_small_photos_are_cached_at_the_smallest_side(tmp_path):
    info = _prepare(tmp_path, _folder(tmp_path / "ds", 40))
    assert info["image_size"] == 64
    assert info["image_size_auto"]["median_side"] == 40
    assert info["image_size_auto"]["measured"] == 12


def test_large_photos_are_capped_and_the_cap_is_a_param(tmp_path):
    root = _folder(tmp_path / "ds", 300)
    assert _prepare(tmp_path, root)["image_size"] == 160
    wide = _prepare(tmp_path, root, auto_size={"max": 256})
    assert wide["image_size"] == 256
    cached = np.load(tmp_path / "out" / "images.npy", mmap_mode="r")
    assert cached.shape[-1] == 256


def test_a_number_overrides_auto(tmp_path):
    info = _prepare(tmp_path, _folder(tmp_path / "ds", 300), image_size=48)
    assert info["image_size"] == 48 and info["image_size_auto"] is None
    assert json.loads((tmp_path / "out" / "info.json").read_text())["image_size"] == 48


def test_synthetic_faces_keep_their_drawn_side(tmp_path):
    p = params("prepare", {"workers": 1, "synthetic": {"n_images": 20, "render_size": 48}})
    info = run(p, tmp_path / "out", progress=False, splits=False)
    assert info["image_size"] == 48
    assert info["image_size_auto"]["rule"] == "synthetic.render_size"


def test_voc_boxes_are_measured_with_their_margin(tmp_path):
    from maskutils.prepare.sources.scenes import synthetic_scenes, write_voc

    scenes = synthetic_scenes(2, seed=0, n_faces=3, face_sizes=(100, 110))
    root = write_voc(scenes, tmp_path / "voc")
    sides = [min(b[2] - b[0], b[3] - b[1]) for s in scenes for b in s.boxes]
    info = _prepare(tmp_path, root, source={"kind": "voc", "root": str(root)})
    how = info["image_size_auto"]
    assert how["measured"] == len(sides)
    assert how["median_side"] == pytest.approx(np.median(sides) * 1.3, abs=0.1)  # margin 0.15
    assert info["image_size"] == choose(how["median_side"], 64, 160) > 64


def test_bad_sizes_are_errors_naming_the_key():
    from maskutils.core.params import ParamsError

    with pytest.raises(ParamsError, match="image_size"):
        params("prepare", {"image_size": "big"})
    with pytest.raises(ParamsError, match="auto_size.min"):
        params("prepare", {"auto_size": {"min": 200, "max": 100}})
