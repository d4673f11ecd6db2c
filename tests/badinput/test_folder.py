"""A class-folder dataset with one of each bad file among good ones: prepare skips each, says why
in its log and in problems.csv (the EDA report's list of rejected files), and goes on; what a run
cannot go on with is a clear error naming the file (corpus: tests/badinput/corpus.py)."""

import contextlib
import io

import pytest

from maskutils.cli import main
from maskutils.prepare.prepared import load_prepared
from maskutils.prepare.run import run
from maskutils.prepare.sources.folder import list_folder
from maskutils.stages.eda.report import problem_table
from tests.badinput.corpus import (
    bomb,
    broken_link,
    case,
    dds_unimplemented,
    denied,
    face,
    fifo,
    link_outside,
    non_utf8_name,
    png,
    text_file,
    truncated,
)
from tests.conftest import params


def _prepare(root, out, **given):
    p = params(
        "prepare",
        {
            "image_size": 8,
            "workers": 1,
            "source": {"kind": "folder", "root": str(root)},
            "split": {"folds": 2},
            **given,
        },
    )
    return run(p, out, progress=True)


def _good(root, classes=("NoMask", "ClothMask"), n=14):
    for k, cls in enumerate(classes):
        for i in range(n):
            png(root / cls / f"ok{i}.png", face(100 * k + i))
    return root


@pytest.fixture(scope="module")
def rejected(tmp_path_factory):
    """(problems.csv as file name -> reason, the run's log) of one prepare run over the lot."""
    tmp = tmp_path_factory.mktemp("folder")
    root = _good(tmp / "ds")
    bad = root / "NoMask"
    truncated(bad / "truncated.jpg")
    dds_unimplemented(bad / "texture.dds")
    bomb(bad / "bomb.png")
    text_file(bad / "notes.txt")
    fifo(bad / "pipe.png")
    broken_link(bad / "broken.png")
    link_outside(bad / "outside.png", tmp / "elsewhere" / "secret.png")
    non_utf8_name(bad)
    png(bad / "locked" / "hidden.png", face(99))
    (root / "N95Mask").mkdir()
    log = io.StringIO()
    with denied(bad / "locked"), contextlib.redirect_stderr(log):
        _prepare(root, tmp / "out")
    problems = load_prepared(tmp / "out").problems  # what the EDA report lists
    by_file = dict(zip(problems["file"].str.split("/").str[-1], problems["reason"]))
    return by_file, log.getvalue(), problem_table(problems)["count"].to_dict()


@pytest.mark.parametrize(
    "name, words",
    [
        case("skipped", "truncated", "truncated.jpg", "truncated"),
        case("skipped", "dds-not-implemented", "texture.dds", "NotImplementedError"),  # item 1
        case("skipped", "decompression-bomb", "bomb.png", "too large: 100000x100000"),
        case("skipped", "not-an-image", "notes.txt", "not an image"),
        case("skipped", "fifo", "pipe.png", "not a regular file"),
        case("skipped", "broken-link", "broken.png", "broken link"),  # item 19
        case("skipped", "link-outside-root", "outside.png", "outside the dataset: a link to"),
        case("skipped", "non-utf8-name", "caf\\xe9.png", "not valid UTF-8"),  # item 21
        case("skipped", "unlistable-folder", "locked", "cannot list folder"),  # item 13
        case("skipped", "empty-class-folder", "N95Mask", "empty class folder"),
    ],
)
def test_bad_file_is_rejected_with_its_reason_and_logged(rejected, name, words):
    problems, log, _ = rejected
    assert words in problems[name]
    assert name in log and words in log


def test_the_good_files_go_on(rejected):
    problems, _, kinds = rejected
    assert len(problems) == 10 and not any(k.startswith("ok") for k in problems)
    assert kinds == {  # the EDA report's table of problems per kind
        "truncated": 1,
        "unreadable": 1,
        "too large": 1,
        "not an image": 1,
        "not a regular file": 1,
        "broken link": 1,
        "outside the dataset": 1,
        "file name is not valid UTF-8": 1,
        "cannot list folder": 1,
        "empty class folder": 1,
    }


def _csv(root, data: bytes):
    _good(root, n=1)
    (root / "attributes.csv").write_bytes(data)
    return root


@pytest.mark.parametrize(
    "data, words",
    [  # item 23: the file named, the encoding expected
        case(
            "error",
            "attributes-latin1",
            "image,note\nNoMask/ok0.png,caf\xe9\n".encode("latin-1"),
            ["attributes.csv is not UTF-8", "byte 0xe9 on line 2", "save it as UTF-8"],
        ),
        case(
            "error",
            "attributes-utf16",
            "image\nNoMask/ok0.png\n".encode("utf-16"),
            ["attributes.csv is UTF-16", "UTF-8"],
        ),
        case("error", "attributes-binary", b"\x00\x01\x02PK\x00", ["attributes.csv", "binary"]),
        case("error", "attributes-empty", b"", ["attributes.csv is empty", "UTF-8"]),
        # item 15: reserved names are an error, not an override of what prepare measures
        case(
            "error",
            "attributes-cue",
            b"image,cue\nNoMask/ok0.png,1\n",
            ["attributes.csv", "['cue']", "prepare writes itself"],
        ),
        case(
            "error",
            "attributes-width",
            b"image,width,format\nNoMask/ok0.png,1,x\n",
            ["['format', 'width']", "rename"],
        ),
    ],
)
def test_bad_attributes_csv_is_a_clear_error(tmp_path, data, words):
    with pytest.raises(ValueError) as err:
        list_folder(_csv(tmp_path / "ds", data))
    assert all(w in str(err.value) for w in words), err.value


def test_error_empty_dataset_folder(tmp_path):
    (tmp_path / "ds").mkdir()
    with pytest.raises(ValueError, match="has no class folders; expected ROOT/<class>"):
        list_folder(tmp_path / "ds")


def test_error_unknown_class_folder(tmp_path):
    root = _good(tmp_path / "ds", ("NoMask", "Hats"), 1)
    with pytest.raises(ValueError, match="unknown class folder.*'Hats'.*source.aliases"):
        list_folder(root)


def test_error_one_class_dataset(tmp_path):  # item 7
    with pytest.raises(ValueError, match=r"one class only \(no_mask: 14 images\).*two or more"):
        _prepare(_good(tmp_path / "ds", ("NoMask",)), tmp_path / "out")


def test_error_too_small_to_split(tmp_path):  # item 26
    with pytest.raises(ValueError) as err:
        _prepare(_good(tmp_path / "ds", n=5), tmp_path / "out")
    for words in [
        "too few images to split: a share of 0.10 is 1 part in 10",
        "there are 8 groups of 8 images",
        "the test split (split.test_fraction 0.2: 1 part in 5) needs 5",
        "every class needs 3 images (one each for train, validation and test)",
    ]:
        assert words in str(err.value)


def test_error_prepare_out_onto_a_file(tmp_path, capsys):  # item 10: before any work
    (tmp_path / "taken").write_text("x")
    (tmp_path / "p.yaml").write_text("source: {kind: folder, root: nowhere}\n")
    rc = main(["prepare", "--params", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "taken")])
    assert rc == 2 and "taken is a file, not a folder" in capsys.readouterr().err


def test_error_one_image_per_class(tmp_path):  # item 26
    with pytest.raises(ValueError, match=r"too few in cloth \(1\), no_mask \(1\)\. Each split"):
        _prepare(_good(tmp_path / "ds", n=1), tmp_path / "out")
