import pytest

from maskutils.prepare.sources.folder import image_id, list_folder
from tests.conftest import face_photo, save


def _dataset(root):
    save(face_photo(0), root / "ClothMask" / "a.jpg")
    save(face_photo(1), root / "ClothMask" / "sub" / "b.png")
    save(face_photo(2), root / "NoMask" / "c.jpg")
    (root / "NoMask" / ".DS_Store").write_bytes(b"junk")
    (root / ".hidden").mkdir(parents=True)
    (root / "attributes.csv").write_text(
        "image,gender,age\nClothMask/a.jpg,female,old\nNoMask/c.jpg,male,\nNoMask/zzz.jpg,male,young\n"
    )
    return root


def test_aliases_and_attributes_join(tmp_path):
    listing = list_folder(_dataset(tmp_path / "ds"))
    rows = {
        it.rows[0]["label_raw"] + "/" + it.file.split("/")[-1]: it.rows[0] for it in listing.items
    }
    assert set(rows) == {"ClothMask/a.jpg", "ClothMask/b.png", "NoMask/c.jpg"}
    assert (
        rows["ClothMask/a.jpg"]["label"] == "cloth" and rows["NoMask/c.jpg"]["label"] == "no_mask"
    )
    assert rows["ClothMask/a.jpg"]["gender"] == "female" and rows["ClothMask/a.jpg"]["age"] == "old"
    assert rows["NoMask/c.jpg"]["age"] is None
    assert "gender" not in rows["ClothMask/b.png"]
    assert any("1 rows name no image" in p["reason"] for p in listing.problems)


def test_ids_are_stable():
    assert image_id("ds", "a/b.jpg") == image_id("ds", "a/b.jpg") != image_id("ds", "a/c.jpg")


def test_unknown_folder_lists_folders_and_aliases(tmp_path):
    root = _dataset(tmp_path / "ds")
    save(face_photo(3), root / "Bandana" / "x.jpg")
    with pytest.raises(ValueError) as err:
        list_folder(root)
    msg = str(err.value)
    assert (
        "'Bandana'" in msg
        and "ClothMask, NoMask" in msg
        and "without_mask" in msg
        and "source.aliases" in msg
    )
    assert list_folder(root, {"Bandana": "cloth"}).items  # params can extend the table


def test_unknown_folder_names_where_the_caller_takes_aliases(tmp_path):
    root = _dataset(tmp_path / "ds")
    save(face_photo(3), root / "Bandana" / "x.jpg")
    with pytest.raises(ValueError, match="under sets.camera.aliases in params/external.yaml"):
        list_folder(root, aliases_at="sets.camera.aliases in params/external.yaml")


def test_empty_class_folder_is_reported(tmp_path):
    root = _dataset(tmp_path / "ds")
    (root / "N95Mask").mkdir()
    assert any(p["reason"] == "empty class folder" for p in list_folder(root).problems)


def test_missing_root_and_no_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="source.root"):
        list_folder(tmp_path / "nope")
    (tmp_path / "flat").mkdir()
    with pytest.raises(ValueError, match="no class folders"):
        list_folder(tmp_path / "flat")
