"""A Pascal VOC dataset with one of each bad annotation among good ones: each is skipped with its
reason in the rejected list, none reads outside the dataset, and legacy encodings are read
(corpus: tests/badinput/corpus.py)."""

import pytest

from maskutils.prepare.run import process_item
from maskutils.prepare.sources.voc import list_voc
from tests.badinput.corpus import LAUGHS, XXE, broken_link, case, denied, face, png, voc_xml
from tests.conftest import params

GB2312 = '<?xml version="1.0" encoding="GB2312"?>'
LATIN1 = '<?xml version="1.0" encoding="ISO-8859-1"?>'


@pytest.fixture(scope="module")
def voc(tmp_path_factory):
    """(the listing's files, {annotation or box: reason} of the listing and the decoding)."""
    tmp = tmp_path_factory.mktemp("voc")
    root, ann = tmp / "ds", tmp / "ds" / "annotations"
    names = ["plain", "upper", "gb", "utf16", "latin", "nan", "boxes", "enc", "bytes"]
    for k, name in enumerate(names):
        png(root / "images" / f"{name}.png", face(k))
    png(tmp / "outside.png", face(50))  # readable, but not part of the dataset
    ann.mkdir()
    files = {
        "plain.xml": voc_xml("plain.png").encode(),
        "upper.XML": voc_xml("upper.png").encode(),  # item 19
        "gb.xml": voc_xml("gb.png", head=GB2312 + "<!-- 口罩 -->").encode("gb2312"),  # item 22
        "utf16.xml": voc_xml("utf16.png").encode("utf-16"),
        "latin.xml": voc_xml("latin.png", head=LATIN1 + "<!-- café -->").encode("latin-1"),
        "nan.xml": voc_xml("nan.png", [("with_mask", ("nan", 1, 20, 20))]).encode(),  # item 11
        "boxes.xml": voc_xml(
            "boxes.png", [("with_mask", (10, 10, 10, 30)), ("with_mask", (90, 90, 99, 99))]
        ).encode(),
        "enc.xml": voc_xml("enc.png", head='<?xml version="1.0" encoding="x-klingon"?>').encode(),
        "bytes.xml": voc_xml("bytes.png", head="<!-- caf\xe9 -->").encode("latin-1"),
        "traversal.xml": voc_xml("../../outside.png").encode(),  # item 12
        "absolute.xml": voc_xml(str(tmp / "outside.png")).encode(),  # item 12
        "z_same.xml": voc_xml("plain.png").encode(),  # item 20
        "xxe.xml": XXE.encode(),
        "laughs.xml": LAUGHS.encode(),
        "malformed.xml": b"<annotation><object>",
        "locked.xml": voc_xml("plain.png").encode(),  # item 4
    }
    for name, data in files.items():
        (ann / name).write_bytes(data)
    (ann / "folder.xml").mkdir()  # item 3
    broken_link(ann / "broken.xml")  # item 19
    with denied(ann / "locked.xml"):
        listing = list_voc(root)
    p = params("prepare")
    problems = list(listing.problems)
    for item in listing.items:
        problems += process_item(item, 8, p["quality"], p["voc"])[3]
    rejected = {r["file"].split("/")[-1]: r["reason"] for r in problems}
    return [it.file.split("/")[-1] for it in listing.items], rejected


@pytest.mark.parametrize(
    "image",
    [
        case("handled", "utf8", "plain.png"),
        case("handled", "upper-case-XML-suffix", "upper.png"),  # item 19
        case("handled", "gb2312", "gb.png"),  # item 22
        case("handled", "utf16-bom", "utf16.png"),
        case("handled", "latin1-declared", "latin.png"),
    ],
)
def test_annotation_is_read(voc, image):
    assert image in voc[0]


@pytest.mark.parametrize(
    "name, words",
    [
        case("skipped", "unknown-encoding", "enc.xml", "declares encoding 'x-klingon'"),  # item 2
        case("skipped", "bytes-not-declared-encoding", "bytes.xml", "not valid utf-8 (byte 0xe9"),
        case("skipped", "folder-named-xml", "folder.xml", "a folder, not an annotation file"),
        case("skipped", "unreadable", "locked.xml", "cannot read annotation"),  # item 4
        case("skipped", "broken-link", "broken.xml", "broken link"),  # item 19
        case(
            "skipped", "nan-box", "nan.xml#0", "box without four finite coordinates: (nan,"
        ),  # item 11
        case("skipped", "path-traversal", "traversal.xml", "'../../outside.png' points outside"),
        case("skipped", "absolute-filename", "absolute.xml", "outside.png' points outside"),
        case("skipped", "two-xml-one-image", "z_same.xml", "names the same image as plain.xml"),
        case("skipped", "xxe", "xxe.xml", "EntitiesForbidden(name='xxe'"),
        case("skipped", "billion-laughs", "laughs.xml", "EntitiesForbidden(name='lol0'"),
        case("skipped", "malformed", "malformed.xml", "unreadable annotation"),
        case("skipped", "zero-area-box", "boxes.png#", "empty"),
        case("skipped", "out-of-bounds-box", "boxes.png#", "outside"),
    ],
)
def test_bad_annotation_is_rejected_with_its_reason(voc, name, words):
    reasons = [
        r for k, r in voc[1].items() if k == name or (name.endswith("#") and k.startswith(name))
    ]
    assert any(words in r for r in reasons), voc[1]


def test_nothing_outside_the_dataset_is_read(voc):
    assert "outside.png" not in voc[0] and "nan.png" not in voc[0]


def test_error_unknown_object_name(tmp_path):
    png(tmp_path / "ds" / "images" / "a.png", face(0))
    (tmp_path / "ds" / "annotations").mkdir()
    (tmp_path / "ds" / "annotations" / "a.xml").write_text(
        voc_xml("a.png", [("hat", (1, 1, 9, 9))])
    )
    with pytest.raises(ValueError, match=r"unknown object name\(s\) \['hat'\].*source.aliases"):
        list_voc(tmp_path / "ds")
