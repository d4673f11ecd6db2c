import pytest

from maskutils.core.boxes import crop_box
from maskutils.prepare.sources.voc import list_voc
from tests.conftest import face_photo, save

OBJ = (
    "<object><name>{name}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
    "<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
)


def _xml(path, filename, objects):
    body = "".join(OBJ.format(name=n, b=b) for n, b in objects)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<annotation><filename>{filename}</filename>{body}</annotation>")


def _voc(root):
    save(face_photo(0), root / "images" / "s1.jpg")
    save(face_photo(1), root / "images" / "s2.png")
    save(face_photo(2), root / "images" / "s5.jpg")
    _xml(
        root / "annotations" / "s1.xml",
        "s1.jpg",
        [
            ("with_mask", (10, 10, 60, 60)),
            ("without_mask", (70, 20, 120, 80)),
            ("mask_weared_incorrect", (5, 70, 50, 120)),
        ],
    )
    _xml(
        root / "annotations" / "s2.xml", "renamed.jpg", [("with_mask", (0, 0, 40, 40))]
    )  # found by stem
    _xml(root / "annotations" / "s3.xml", "gone.jpg", [("with_mask", (0, 0, 40, 40))])  # no image
    (root / "annotations" / "s4.xml").write_text("<annotation><object>")  # malformed
    _xml(
        root / "annotations" / "s5.xml", "s5.jpg", [("with_mask", ("a", 1, 2, 3))]
    )  # garbage coordinate
    return root


def test_rows_per_box_and_problems(tmp_path):
    listing = list_voc(_voc(tmp_path / "v"))
    labels = [r["label"] for it in listing.items for r in it.rows]
    assert labels == ["mask", "no_mask", "incorrect", "mask"]
    assert listing.items[1].file.endswith("s2.png")
    reasons = " | ".join(p["reason"] for p in listing.problems)
    assert (
        "image not found" in reasons
        and "unreadable annotation" in reasons
        and "four numeric" in reasons
    )
    ids = [r["image_id"] for it in listing.items for r in it.rows]
    assert len(set(ids)) == len(ids)


def test_incorrect_can_be_dropped(tmp_path):
    listing = list_voc(_voc(tmp_path / "v"), incorrect="drop")
    assert "incorrect" not in [r["label"] for it in listing.items for r in it.rows]
    assert sum(listing.dropped.values()) == 1


def test_unknown_object_name_is_an_error(tmp_path):
    root = _voc(tmp_path / "v")
    save(face_photo(3), root / "images" / "s6.jpg")
    _xml(root / "annotations" / "s6.xml", "s6.jpg", [("face_shield", (1, 1, 30, 30))])
    with pytest.raises(ValueError, match="face_shield.*under source.aliases in params/prepare"):
        list_voc(root)
    with pytest.raises(ValueError, match="under sets.camera.aliases in params/external.yaml"):
        list_voc(root, aliases_at="sets.camera.aliases in params/external.yaml")


def test_missing_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="annotations"):
        list_voc(tmp_path)


@pytest.mark.parametrize(
    "raw, expect",
    [
        (
            (10, 10, 30, 30),
            (7, 7, 33, 33),
        ),  # margin 0.15 of 20 px = 3 px each side (floor/ceil: boxes grow outward)
        ((-10, -5, 30, 30), (0, 0, 35, 35)),  # clipped first, then the margin (clipped again)
        ((90, 90, 130, 130), (88, 88, 100, 100)),  # partly outside: clipped to the 100x100 image
        ((30, 30, 30, 50), "empty"),
        ((150, 10, 170, 40), "outside"),
        ((10, 10, 14, 40), "tiny"),
    ],
)
def test_crop_box(raw, expect):
    box, reason = crop_box(raw, 0.15, 100, 100, 8)
    if isinstance(expect, tuple):
        assert box == expect and reason is None
    else:
        assert box is None and expect in reason
