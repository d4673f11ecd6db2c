import io

import numpy as np
import pandas as pd
from PIL import Image, ImageOps

from maskutils.prepare.quality import (
    duplicate_groups,
    fingerprint,
    flags,
    near_duplicate_pairs,
    phash_hex,
    shortcut_check,
)
from tests.conftest import face_photo, params

Q = {"min_side": 32, "aspect_min": 0.25, "aspect_max": 4.0, "dark_mean": 5.0, "bright_mean": 250.0}


def _variants(base: np.ndarray) -> dict[str, np.ndarray]:
    img = Image.fromarray(base)
    buf = io.BytesIO()
    img.resize((90, 90), Image.Resampling.BICUBIC).save(buf, "JPEG", quality=55)
    w, h = img.size
    return {
        "resized+recompressed": np.asarray(Image.open(buf).convert("RGB")),
        "cropped 5%": np.asarray(img.crop((int(0.05 * w), int(0.05 * h), w, h))),
        "mirrored": np.asarray(ImageOps.mirror(img)),
        "brighter": np.clip(base.astype(int) + 25, 0, 255).astype(np.uint8),
    }


QUALITY = params("prepare")["quality"]


def _groups(images, **q):
    pairs, stats = near_duplicate_pairs([fingerprint(im) for im in images], {**QUALITY, **q})
    return duplicate_groups(pairs, len(images)), stats


def test_copies_are_found_and_unrelated_images_are_not():
    base = face_photo(0)
    variants = _variants(base)
    unrelated = [face_photo(s) for s in (1, 2, 3, 4)]
    groups, stats = _groups([base, *variants.values(), *unrelated])
    n = 1 + len(variants)
    assert (groups[:n] == groups[0]).all(), dict(zip(["base", *variants], groups[:n]))
    assert len(set(groups[n:])) == 4 and groups[0] not in groups[n:]
    assert stats["verified_pairs"] >= 1  # the crop needs the keypoint tier


def test_crops_need_the_keypoint_tier():
    base = face_photo(0)
    groups, stats = _groups([base, _variants(base)["cropped 5%"]], candidate_distance=0)
    assert groups[0] != groups[1] and stats["candidate_pairs"] == 0


def test_groups_are_transitive_and_numbered_by_first_member():
    a, b = face_photo(0), face_photo(1)
    groups, _ = _groups([b, a, _variants(a)["cropped 5%"], _variants(b)["mirrored"]])
    assert list(groups) == [0, 1, 1, 0]


def test_flags():
    assert flags(100, 100, 120, Q) == ""
    assert flags(20, 60, 120, Q) == "tiny"
    assert flags(500, 100, 120, Q) == "aspect"
    assert flags(40, 200, 2, Q) == "aspect;dark"
    assert flags(64, 64, 252, Q) == "bright"


def test_shortcut_check_sees_metadata_that_predicts_the_label():
    rng = np.random.default_rng(0)
    labels = np.repeat(["cloth", "n95", "no_mask"], 60)
    leaky = pd.DataFrame(
        {
            "label": labels,
            "format": np.where(labels == "cloth", "PNG", "JPEG"),
            "width": np.where(labels == "n95", 300, 200) + rng.integers(0, 5, 180),
            "height": rng.integers(190, 210, 180),
        }
    )
    fair = leaky.assign(format="JPEG", width=rng.integers(190, 210, 180))
    hi, lo = shortcut_check(leaky), shortcut_check(fair)
    assert hi["tree"] > 0.95 and abs(hi["baseline"] - 1 / 3) < 1e-9
    assert lo["tree"] < hi["baseline"] + 0.15


def test_excluded_rows_count_with_the_training_pool():
    from maskutils.prepare.quality import duplicate_summary

    df = pd.DataFrame(
        {
            "dup_group": [0, 0, 1, 1],
            "dup_size": [2, 2, 2, 2],
            "label": ["a"] * 4,
            "source": ["s"] * 4,
            "split": ["train", "excluded", "val", "test"],
        }
    )
    assert duplicate_summary(df)["groups_across_splits"] == 1


def test_phash_hex_is_imagehash_str():
    import imagehash

    rng = np.random.default_rng(0)
    for _ in range(20):
        shape = (int(rng.integers(8, 90)), int(rng.integers(8, 90)), 3)
        img = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8))
        for bits in (64, 256):
            assert phash_hex(img, bits) == str(imagehash.phash(img, int(bits**0.5)))
