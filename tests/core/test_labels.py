import pytest

from maskutils.core.labels import alias_table, canonical, task_classes, task_label


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
