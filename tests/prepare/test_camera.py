"""The shifted camera differs from the default one the way `prepare.camera` says, measured on 100
drawn images of each; the default camera draws what it drew before cameras existed."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import laplace

from maskutils.core import manifest
from maskutils.core.labels import MASK_TYPES
from maskutils.core.params import ParamsError
from maskutils.prepare.camera import CAMERAS, Camera
from maskutils.prepare.faces import AGES, render, sample_specs
from maskutils.prepare.params import SCHEMA
from maskutils.prepare.run import run
from tests.conftest import params

N, SIZE, SEED = 100, 64, 0
CLASSES = list(MASK_TYPES)


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """camera name -> (manifest fields, decoded images N x SIZE x SIZE x 3) of one generate."""
    from maskutils.prepare.sources.synthetic import generate

    out = {}
    for name in ("default", "shifted"):
        rows = generate(tmp_path_factory.mktemp(name), N, SIZE, CLASSES, SEED, camera=name)
        out[name] = rows, np.stack([np.asarray(Image.open(r["file"])) for r in rows])
    return out


def test_shifted_images_are_darker_and_warmer(drawn):
    (_, default), (_, shifted) = drawn["default"], drawn["shifted"]
    assert shifted.mean() < 0.75 * default.mean()
    warmth = lambda imgs: imgs[..., 0].mean() - imgs[..., 2].mean()  # noqa: E731  (red - blue)
    assert warmth(shifted) > warmth(default) + 5


def _sharpness(camera: Camera) -> float:
    """Median over images of the Laplacian's variance over the pixels' variance (of the grey image
    before any JPEG compression): lower is blurrier, whatever the lighting gain."""
    specs = sample_specs(N, CLASSES, SEED, None, 0.8, camera)
    grey = [render(s, SIZE, SEED, camera=camera)[0].astype(float).mean(-1) for s in specs]
    return float(np.median([laplace(g).var() / g.var() for g in grey]))


def test_shifted_images_are_blurrier():
    assert _sharpness(CAMERAS["shifted"]) < 0.6 * _sharpness(CAMERAS["default"])


def _roi_area(rows: list[dict]) -> float:
    return float(np.mean([(r["roi_x1"] - r["roi_x0"]) * (r["roi_y1"] - r["roi_y0"]) for r in rows]))


def test_shifted_faces_are_smaller(drawn):
    assert _roi_area(drawn["shifted"][0]) < 0.8 * _roi_area(drawn["default"][0])


def test_shifted_files_are_jpeg_and_default_files_png(drawn):
    for name, fmt in (("default", "PNG"), ("shifted", "JPEG")):
        files = [r["file"] for r in drawn[name][0]]
        assert {Path(f).suffix for f in files} == {".png" if fmt == "PNG" else ".jpg"}
        assert {Image.open(f).format for f in files} == {fmt}


@pytest.mark.parametrize("name", list(CAMERAS))
def test_gender_and_age_mix_follow_the_camera(name):
    camera, n = CAMERAS[name], 4000
    specs = sample_specs(n, CLASSES, SEED, None, 0.8, camera)
    expected = {"female": 0.5 if camera.female_share is None else camera.female_share}
    expected |= dict(zip(AGES, camera.age_p))
    for value, p in expected.items():
        share = np.mean([value in (s["gender"], s["age"]) for s in specs])
        assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / n), (value, share, p)


def test_cameras_share_no_image_and_no_id(drawn):
    (rows_d, default), (rows_s, shifted) = drawn["default"], drawn["shifted"]
    ids = lambda rows: {Path(r["file"]).stem for r in rows}  # noqa: E731
    assert not ids(rows_d) & ids(rows_s)
    assert not {im.tobytes() for im in default} & {im.tobytes() for im in shifted}


def test_another_stream_draws_other_images_with_the_same_seed():
    """A camera that differs from the default in its stream number alone: nothing repeats."""
    renders = {}
    for camera in (CAMERAS["default"], Camera(stream=1)):
        specs = sample_specs(20, CLASSES, SEED, None, 0.8, camera)
        renders[camera.stream] = (
            [s["label"] for s in specs],
            [render(s, 32, SEED, camera=camera)[0].tobytes() for s in specs],
        )
    assert renders[0][0] != renders[1][0]
    assert not set(renders[0][1]) & set(renders[1][1])


def test_default_camera_draws_what_render_draws_without_one(drawn):
    specs = sample_specs(N, CLASSES, SEED, None, 0.8)
    rows, images = drawn["default"]
    assert [r["label"] for r in rows] == [s["label"] for s in specs]
    for spec, img in zip(specs, images):
        assert np.array_equal(img, render(spec, SIZE, SEED)[0])


def test_prepare_reads_the_camera_param(tmp_path):
    given = {"workers": 1, "synthetic": {"n_images": 40, "render_size": 32, "camera": "shifted"}}
    run(params("prepare", given), tmp_path, progress=False, splits=False)  # an external test set
    df = manifest.read(tmp_path / "manifest.csv")
    assert set(df["format"]) == {"JPEG"} and df["image_id"].str.startswith("cam").all()


def test_unknown_camera_is_a_params_error():
    with pytest.raises(ParamsError, match="synthetic.camera"):
        SCHEMA.validate({"synthetic": {"camera": "nikon"}})


def test_pale_cloth_marks_the_people_matching_every_attribute_it_names():
    plain = sample_specs(200, list(MASK_TYPES), 3, None, 0.8)
    for where in ({"age": "elder"}, {"gender": "male", "age": "child"}, {"skin_tone": 6}):
        pale = sample_specs(200, list(MASK_TYPES), 3, None, 0.8, pale_cloth=where)
        want = [all(str(s[k]) == str(v) for k, v in where.items()) for s in plain]
        assert [s["pale"] for s in pale] == want and 0 < sum(want) < 200
    assert not any(
        s["pale"] for s in sample_specs(50, list(MASK_TYPES), 3, None, 0.8, pale_cloth={})
    )


@pytest.mark.parametrize(
    "value, word",
    [
        ({"hair": "grey"}, "hair"),
        ({"age": "teen"}, "teen"),
        ({"skin_tone": 7}, "7"),
        ("female", ""),
    ],
)
def test_pale_cloth_naming_an_unknown_attribute_or_value_is_a_params_error(value, word):
    with pytest.raises(ParamsError, match=f"synthetic.pale_cloth.*{word}"):
        SCHEMA.validate({"synthetic": {"pale_cloth": value}})


def test_pale_cloth_redraws_only_that_genders_cloth_masks_and_in_pale_colours():
    plain = sample_specs(60, list(MASK_TYPES), 3, None, 0.8)
    pale = sample_specs(60, list(MASK_TYPES), 3, None, 0.8, pale_cloth={"gender": "female"})
    assert [s["pale"] for s in pale] == [s["gender"] == "female" for s in plain]
    changed, kept = [], 0
    for a, b in zip(plain, pale):
        x, y = render(a, 48, 3)[0], render(b, 48, 3)[0]
        if a["label"] == "cloth" and a["gender"] == "female":
            changed.append((x, y, render(b, 48, 3)[1]))
        else:
            kept += 1
            assert np.array_equal(x, y)  # same draws: every other image is byte for byte the same
    assert changed and kept
    for x, y, (x0, y0, x1, y1) in changed:  # the mask region is paler: brighter, less saturated
        mx, my = x[y0:y1, x0:x1].astype(float), y[y0:y1, x0:x1].astype(float)
        spread = lambda m: (m.max(axis=2) - m.min(axis=2)).mean()  # noqa: E731
        assert my.mean() > mx.mean() - 5 and spread(my) < spread(mx) + 5
    assert np.mean([y[..., :].mean() > x.mean() for x, y, _ in changed]) >= 0.7
