"""`maskutils predict` on bad input: unusable files are skipped and named, a bad --out or option
is an error before any work (so nothing computed is lost), unsafe model files are never
unpickled (corpus: tests/badinput/corpus.py)."""

import os
import signal

import pandas as pd
import pytest
import torch

from maskutils.cli import main
from maskutils.modeling import checkpoint
from maskutils.modeling.models import build_cnn
from tests.badinput.corpus import case, dds_unimplemented, denied, face, fifo, png


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """An untrained tiny CNN saved as a model file (what predict reads)."""
    path = tmp_path_factory.mktemp("model") / "cnn.pt"
    return checkpoint.save(
        build_cnn("tiny3", 2, 16),
        path,
        kind="cnn",
        name="tiny3",
        classes=["no_mask", "mask"],
        image_size=16,
        task="binary",
    )


@pytest.fixture
def no_hang():
    """Fails the test, instead of hanging the suite, if a call blocks (a FIFO opened)."""
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("blocked for 20 s"))
    signal.alarm(20)
    yield
    signal.alarm(0)


def _predict(capsys, *args) -> tuple[int, str]:
    rc = main(["predict", *map(str, args)])
    return rc, capsys.readouterr().err


@pytest.mark.parametrize(
    "make, words",
    [
        case("skipped", "fifo", lambda d: fifo(d / "pipe.png"), "not a regular file"),  # item 8
        case("skipped", "dds", lambda d: dds_unimplemented(d / "t.dds"), "NotImplementedError"),
        case("skipped", "missing-file", lambda d: d / "gone.png", "not found"),
    ],
)
def test_unusable_file_is_skipped_and_named(tmp_path, capsys, model, no_hang, make, words):
    bad, good, out = make(tmp_path), png(tmp_path / "good.png", face(1)), tmp_path / "p.csv"
    rc, err = _predict(capsys, bad, good, "--model", model, "--out", out)
    assert rc == 0 and f"skipped {bad}: " in err and words in err
    assert pd.read_csv(out)["file"].tolist() == [str(good)]


def test_skipped_unlistable_subfolder(tmp_path, capsys, model):  # item 13
    png(tmp_path / "in" / "good.png", face(1))
    png(tmp_path / "in" / "locked" / "hidden.png", face(2))
    with denied(tmp_path / "in" / "locked"):
        rc, err = _predict(capsys, tmp_path / "in", "--model", model, "--out", tmp_path / "p.csv")
    assert rc == 0 and f"skipped {tmp_path / 'in' / 'locked'}: cannot list folder" in err
    assert len(pd.read_csv(tmp_path / "p.csv")) == 1


@pytest.mark.parametrize(
    "faces, args, words",
    [  # item 9: checked before the model is even loaded (here it does not exist)
        case(
            "error",
            "out-in-missing-folder",
            False,
            ["--out", "{tmp}/no/such/p.csv"],
            "folder {tmp}/no/such does not exist; create it first",
        ),
        case("error", "out-onto-a-folder", False, ["--out", "{tmp}"], "--out {tmp} is a folder"),
        case(
            "error",
            "faces-out-dir-onto-a-file",
            True,
            ["--out-dir", "{tmp}/a.png"],
            "--out-dir {tmp}/a.png is a file, not a folder",
        ),
        # item 17: the options checked against the detect stage's rows
        case(
            "error",
            "faces-negative-margin",
            True,
            ["--margin=-5"],
            "'margin' is -5.0; must be between 0.0 and 2.0",
        ),
        case(
            "error",
            "faces-bad-threshold",
            True,
            ["--thresholds", "0.6", "0.7", "1.5"],
            "'thresholds' must be three numbers in [0, 1)",
        ),
    ],
)
def test_bad_output_or_option_is_an_error_before_the_work(tmp_path, capsys, faces, args, words):
    scene = png(tmp_path / "a.png", face(1))
    args = [a.format(tmp=tmp_path) for a in args]
    paths = ["--faces", scene] if faces else [scene]
    rc, err = _predict(capsys, *paths, "--model", tmp_path / "none.pt", *args)
    assert rc == 2 and words.format(tmp=tmp_path) in err and "model file" not in err


def test_handled_outputs_are_written_whole(tmp_path, capsys, model):
    """A run that fails while writing leaves no half-written file, and no temporary one."""
    out = tmp_path / "p.csv"
    out.write_text("the previous results\n")
    png(tmp_path / "good.png", face(1))

    def fail(*_, **__):
        raise OSError("disk full")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pd.DataFrame, "to_csv", fail)
        with pytest.raises(OSError, match="disk full"):
            main(["predict", str(tmp_path / "good.png"), "--model", str(model), "--out", str(out)])
    assert (
        out.read_text() == "the previous results\n"
        and os.listdir(tmp_path)
        == [
            "p.csv",
            "good.png",
        ]
        or sorted(os.listdir(tmp_path)) == ["good.png", "p.csv"]
    )


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_error_unsafe_pickle_is_refused_never_run(tmp_path):
    marker, path = tmp_path / "pwned", tmp_path / "evil.pt"
    torch.save(_Evil(str(marker)), path)
    with pytest.raises(ValueError, match="evil.pt is not a maskutils model file"):
        checkpoint.load(path)
    assert not marker.exists()
