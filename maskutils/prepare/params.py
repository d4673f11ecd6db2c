"""Params of the prepare stage (params/prepare.yaml): the source, the synthetic set, quality
rules, the split. Every key's default, allowed values and meaning are written here, once."""

from __future__ import annotations

from maskutils.core.labels import CLASSES as KNOWN
from maskutils.core.labels import MASK_TYPES
from maskutils.core.params import Param, Rule, Schema, at_most, auto_or_int, names, seed
from maskutils.prepare.camera import CAMERAS
from maskutils.prepare.faces import AGES, GENDERS, SKIN_TONES

CLASSES = list(MASK_TYPES)


def _aliases(v) -> bool:
    return isinstance(v, dict) and all(
        isinstance(name, str) and name.strip() and cls in KNOWN for name, cls in v.items()
    )


#: what `synthetic.pale_cloth` may name: the attributes the renderer draws
PALE_BY = {"gender": GENDERS, "age": AGES, "skin_tone": range(1, len(SKIN_TONES) + 1)}


def _pale_cloth(v) -> bool:
    return isinstance(v, dict) and all(k in PALE_BY and x in PALE_BY[k] for k, x in v.items())


def _classes(v) -> bool:
    return names(v) and len(set(v)) == len(v) >= 2 and set(v) <= set(CLASSES)


SCHEMA = Schema(
    "prepare",
    [
        seed(help="seeds the synthetic renderer, the split and the folds"),
        Param(
            "image_size",
            "auto",
            "side of the cached square images (px), or `auto`: the synthetic source's "
            "`render_size`, else the faces' median shorter side rounded down to a multiple of 32 "
            "within `auto_size` (`maskutils/prepare/resolution.py`)",
            check=auto_or_int(8, 1024),
            must="'auto' or a whole number from 8 to 1024",
        ),
        Param("auto_size.min", 64, "`image_size: auto`: the smallest side chosen", range=(8, 1024)),
        Param(
            "auto_size.max",
            160,
            "`image_size: auto`: the largest side chosen (160 keeps a study on a 2-core CPU "
            "affordable; the `full` profile for a GPU raises it)",
            range=(8, 1024),
        ),
        Param("workers", 2, "decoding processes (does not change results)", range=(1, 64)),
        Param(
            "source.kind",
            "synthetic",
            "where the images come from",
            choices=("synthetic", "folder", "voc"),
        ),
        Param(
            "source.root",
            None,
            "dataset folder for `folder` and `voc` (relative to the project root, or absolute)",
            nullable=(str,),
        ),
        Param(
            "source.aliases",
            {},
            "extra folder/object names -> class, e.g. `{Stoffmaske: cloth}`",
            check=_aliases,
            must="a mapping of folder or object names (text) to classes: " + ", ".join(KNOWN),
        ),
        Param(
            "synthetic.n_images",
            1500,
            "images drawn, balanced over the classes",
            range=(10, 10_000_000),
        ),
        Param("synthetic.render_size", 64, "side of each drawn image (px)", range=(16, 1024)),
        Param(
            "synthetic.classes",
            list(CLASSES),
            "classes to draw",
            check=_classes,
            must="a list of two or more distinct classes of " + ", ".join(CLASSES),
        ),
        Param(
            "synthetic.camera",
            "default",
            "camera the faces are drawn through (`maskutils/prepare/camera.py`): `shifted`, for "
            "an external test set, is darker, warmer, blurrier and JPEG, with smaller faces and "
            "more women, children and elders",
            choices=tuple(CAMERAS),
        ),
        Param(
            "synthetic.pale_cloth",
            {},
            "draw the cloth masks of the people matching all of these attributes in pale "
            "colours, e.g. `{age: elder}` (`{}`: nobody's): a subgroup that looks different, so "
            "under-sampling it (`split.plant_bias`) really costs it recall; the default's "
            "planted bias, the design the bias power study measured (docs/bias_power.md)",
            check=_pale_cloth,
            must="a mapping of gender, age or skin_tone to one of its values, e.g. {age: elder}",
        ),
        Param(
            "synthetic.spurious_cue.label",
            None,
            "class that gets a green background in training only (off when null)",
            nullable=(str,),
        ),
        Param(
            "synthetic.spurious_cue.fraction",
            0.8,
            "share of that class drawn with the cue (those images stay in the training pool)",
            range=(0.0, 0.95),
        ),
        Param(
            "voc.margin",
            0.15,
            "margin added around each box, as a share of its side",
            range=(0.0, 2.0),
        ),
        Param(
            "voc.min_box_side",
            10,
            "boxes with a shorter side (px) are dropped and reported",
            range=(1, 10_000),
        ),
        Param(
            "voc.incorrect",
            "keep",
            "`keep` mask_weared_incorrect as class `incorrect`, or `drop` it",
            choices=("keep", "drop"),
        ),
        Param("quality.hash_distance", 32, "hash tier: max differing bits of 256", range=(0, 128)),
        Param(
            "quality.candidate_distance",
            12,
            "keypoint tier: max differing bits of 64 for a candidate pair (0 turns the tier off)",
            range=(0, 32),
        ),
        Param(
            "quality.min_inliers",
            30,
            "keypoint tier: consistent ORB matches needed",
            range=(6, 200),
        ),
        Param(
            "quality.min_correlation",
            0.85,
            "keypoint tier: grey correlation needed after alignment",
            range=(0.0, 1.0),
        ),
        Param(
            "quality.min_side", 32, "flag `tiny` below this shorter side (px)", range=(1, 100_000)
        ),
        Param(
            "quality.aspect_min",
            0.25,
            "flag `aspect` below this width/height",
            range=(0.0, 1000.0),
        ),
        Param(
            "quality.aspect_max",
            4.0,
            "flag `aspect` above this width/height",
            range=(0.0, 1000.0),
        ),
        Param(
            "quality.dark_mean",
            5.0,
            "flag `dark` below this mean channel value (0-255)",
            range=(0.0, 255.0),
        ),
        Param(
            "quality.bright_mean",
            250.0,
            "flag `bright` above this mean channel value",
            range=(0.0, 255.0),
        ),
        Param(
            "quality.max_pixels",
            60_000_000,
            "larger images are refused as decompression bombs",
            range=(1_000_000, 2_000_000_000),
        ),
        Param(
            "split.test_fraction",
            0.2,
            "share of images in the test split, taken as one fold of "
            "round(1/share): 0.2 -> 1/5, 0.3 -> 1/3",
            range=(0.05, 0.5),
        ),
        Param(
            "split.val_fraction",
            0.1,
            "share of the remaining pool used for validation (likewise 1/round(1/share))",
            range=(0.0, 0.5),
        ),
        Param(
            "split.folds", 5, "k of the k-fold assignment over the train+val pool", range=(2, 20)
        ),
        Param(
            "split.plant_bias.where",
            {},
            "manifest column -> value, e.g. `{gender: female, label: cloth}`",
            mapping=True,
        ),
        Param(
            "split.plant_bias.keep",
            1.0,
            "share of matching training-pool images trained on; the "
            "rest are `excluded` from training but keep their fold, so k-fold predicts them and "
            "the "
            "bias stage audits them",
            range=(0.0, 1.0),
        ),
    ],
    [
        at_most("auto_size.min", "auto_size.max"),
        at_most("quality.aspect_min", "quality.aspect_max"),
        at_most("quality.dark_mean", "quality.bright_mean"),
        Rule(
            ("synthetic.spurious_cue.label", "synthetic.classes"),
            lambda label, classes: label is None or label in classes,
            "'synthetic.spurious_cue.label' null or one of 'synthetic.classes'",
        ),
    ],
)
