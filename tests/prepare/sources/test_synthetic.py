import numpy as np
import pytest

from maskutils.core.labels import MASK_TYPES
from maskutils.prepare.camera import CAMERAS
from maskutils.prepare.faces import CUE_HUE, render, sample_specs
from maskutils.prepare.sources.synthetic import generate


@pytest.mark.parametrize("camera", list(CAMERAS))
def test_deterministic_per_seed(tmp_path, camera):
    a = generate(tmp_path / "a", 20, 32, list(MASK_TYPES), seed=3, camera=camera)
    b = generate(tmp_path / "b", 20, 32, list(MASK_TYPES), seed=3, camera=camera)
    c = generate(tmp_path / "c", 20, 32, list(MASK_TYPES), seed=4, camera=camera)
    read = lambda rows: [open(r["file"], "rb").read() for r in rows]  # noqa: E731
    assert read(a) == read(b)
    assert read(a) != read(c)
    assert [r["label"] for r in a] == [r["label"] for r in b]


def test_balanced_classes_and_attributes():
    specs = sample_specs(1000, list(MASK_TYPES), 0, None, 0)
    labels, counts = np.unique([s["label"] for s in specs], return_counts=True)
    assert set(labels) == set(MASK_TYPES) and counts.min() == counts.max() == 200
    assert {s["gender"] for s in specs} == {"female", "male"}
    assert {s["age"] for s in specs} == {"child", "adult", "elder"}
    assert {s["skin_tone"] for s in specs} == set(range(1, 7))


def _roi_area(specs, size=64):
    return np.mean([(b[2] - b[0]) * (b[3] - b[1]) for b in (render(s, size, 0)[1] for s in specs)])


def test_attributes_change_the_drawing():
    specs = sample_specs(400, ["surgical"], 1, None, 0)
    children = [s for s in specs if s["age"] == "child"]
    adults = [s for s in specs if s["age"] == "adult"]
    assert _roi_area(children) < 0.8 * _roi_area(adults)  # children: smaller faces, smaller masks
    dark = [s for s in specs if s["skin_tone"] == 6][:10]
    light = [s for s in specs if s["skin_tone"] == 1][:10]
    mean = lambda ss: np.mean([render(s, 64, 0)[0][24:40, 24:40].mean() for s in ss])  # noqa: E731
    assert mean(dark) < mean(light)


def test_roi_lies_inside_the_image_and_on_the_mask():
    spec = sample_specs(5, ["surgical"], 0, None, 0)[0]
    img, (x0, y0, x1, y1) = render(spec, 64, 0)
    assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64
    assert (x1 - x0) * (y1 - y0) < 0.6 * 64 * 64  # the mask, not the whole face


def test_spurious_cue_only_on_its_class():
    specs = sample_specs(500, list(MASK_TYPES), 0, "cloth", 0.8)
    cue = [s for s in specs if s["cue"]]
    assert {s["label"] for s in cue} == {"cloth"}
    assert 0.65 < len(cue) / sum(s["label"] == "cloth" for s in specs) < 0.95
    import colorsys

    hue = lambda img: colorsys.rgb_to_hsv(*(img[:3, :3].reshape(-1, 3).mean(0) / 255))[0]  # noqa: E731
    assert abs(hue(render(cue[0], 64, 0)[0]) - CUE_HUE) < 0.06
