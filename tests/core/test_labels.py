import pytest

from maskutils.core.labels import (
    _ALIASES,
    alias_table,
    canonical,
    normalise,
    task_classes,
    task_label,
)


@pytest.mark.parametrize(
    "name, cls",
    [
        ("ClothMask", "cloth"),
        ("cloth_mask", "cloth"),
        ("Cloth mask", "cloth"),
        ("N95Mask", "n95"),
        ("FFP2", "n95"),
        ("KN95", "n95"),
        ("n95-valve", "n95_valve"),
        ("n95v", "n95_valve"),
        ("with_valve", "n95_valve"),
        ("NoMask", "no_mask"),
        ("nomask", "no_mask"),
        ("nfm", "no_mask"),
        ("without_mask", "no_mask"),
        ("SurgicalMask", "surgical"),
        ("srg", "surgical"),
        ("with_mask", "mask"),
        ("mask_weared_incorrect", "incorrect"),
    ],
)
def test_builtin_aliases(name, cls):
    assert canonical(name, alias_table()) == cls


@pytest.mark.parametrize(
    "name, cls",
    [
        ("FFP2-Mask", "n95"),
        ("ffp2_mask", "n95"),
        ("ffp2 mask", "n95"),
        ("FFP3", "n95"),
        ("ffp3_mask", "n95"),
        ("KN95", "n95"),
        ("kn95_mask", "n95"),
        ("FFP2 valve", "n95_valve"),
        ("KN95-Valve", "n95_valve"),
        ("medical", "surgical"),
        ("Medical Mask", "surgical"),
        ("surgical_mask", "surgical"),
        ("surgical-mask", "surgical"),
        ("mask_surgical", "surgical"),
        ("fabric-mask", "cloth"),
        ("no-mask", "no_mask"),
        ("without mask", "no_mask"),
        ("WithoutMask", "no_mask"),
        ("no_face_mask", "no_mask"),
        ("face_no_mask", "no_mask"),
        ("WithMask", "mask"),
        ("face_with_mask", "mask"),
        ("Face Mask", "mask"),
        ("mask_weared_incorrect", "incorrect"),
        ("face_with_mask_incorrect", "incorrect"),
    ],
)
def test_real_world_spellings(name, cls):
    """Class names of public mask datasets and what a user would type, in their own spelling."""
    assert canonical(name, alias_table()) == cls


def test_no_alias_names_two_classes():
    seen = {}
    for cls, names in _ALIASES.items():
        for name in names:
            assert seen.setdefault(normalise(name), cls) == cls, name


def test_extra_aliases_extend_and_are_checked():
    table = alias_table({"Stoffmaske": "cloth"})
    assert canonical("stoffmaske", table) == "cloth"
    assert canonical("unknown-thing", table) is None
    with pytest.raises(ValueError, match="unknown class 'cotton'"):
        alias_table({"x": "cotton"})


def test_tasks():
    assert task_label("n95_valve", "binary") == "mask"
    assert task_label("no_mask", "binary") == "no_mask"
    assert task_label("cloth", "mask_type") == "cloth"
    assert task_classes(["cloth", "no_mask", "n95"], "binary") == ["no_mask", "mask"]
    assert task_classes(["n95", "cloth"], "mask_type") == ["cloth", "n95"]
    with pytest.raises(ValueError, match="unknown task"):
        task_label("cloth", "multi")


def test_a_model_that_knows_only_mask_scores_every_mask_type_as_mask():
    from maskutils.core.labels import known_label

    binary = ["no_mask", "mask"]
    assert [known_label(c, "mask_type", binary) for c in ("cloth", "n95_valve", "no_mask")] == [
        "mask",
        "mask",
        "no_mask",
    ]
    assert known_label("incorrect", "mask_type", binary) is None
    four = ["no_mask", "cloth", "surgical", "n95"]
    assert known_label("n95_valve", "mask_type", four) is None  # a type it does not know
    assert known_label("mask", "mask_type", four) is None
    assert known_label("cloth", "binary", binary) == "mask"
