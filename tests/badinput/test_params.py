"""Params files a new user might write: each mistake is an error at check time (`maskutils
check-params`) naming the file and the key, never a failure deep inside a run."""

import pytest

from maskutils.cli import main
from maskutils.core.params import ParamsError
from maskutils.stages import SCHEMAS
from tests.badinput.corpus import case


@pytest.mark.parametrize(
    "stage, text, words",
    [
        case(
            "error",
            "duplicate-key",
            "prepare",
            "seed: 1\nworkers: 1\nseed: 2\n",
            ["key 'seed' given twice (lines 1 and 3)"],
        ),  # item 16
        case(
            "error",
            "duplicate-nested-key",
            "prepare",
            "split:\n  folds: 3\n  folds: 4\n",
            ["key 'folds' given twice"],
        ),  # item 16
        case(
            "error",
            "integer-alias-key",
            "prepare",
            "source: {aliases: {1: cloth}}\n",
            ["'source.aliases' must be a mapping of folder or object names (text)"],
        ),  # item 5
        case(
            "error",
            "alias-to-unknown-class",
            "prepare",
            "source: {aliases: {Hut: hat}}\n",
            ["'source.aliases'", "{'Hut': 'hat'}"],
        ),
        case(
            "error",
            "no-classes",
            "prepare",
            "synthetic: {classes: []}\n",
            ["'synthetic.classes' must be a list of two or more distinct classes"],
        ),  # item 6
        case(
            "error",
            "unknown-class",
            "prepare",
            "synthetic: {classes: [hat, cloth]}\n",
            ["'synthetic.classes'", "['hat', 'cloth']"],
        ),  # item 27
        case(
            "error",
            "one-class",
            "prepare",
            "synthetic: {classes: [cloth]}\n",
            ["'synthetic.classes'", "two or more"],
        ),  # item 7
        case(
            "error",
            "negative-seed",
            "prepare",
            "seed: -1\n",
            ["'seed' is -1; must be between 0 and 4294967295"],
        ),  # item 25
        case(
            "error",
            "huge-seed",
            "prepare",
            f"seed: {2**66}\n",
            ["'seed' is 73786976294838206464; must be between 0 and 4294967295"],
        ),  # item 25
        case("error", "train-seed", "train", "seed: -1\n", ["'seed' is -1"]),
        case("error", "gradcam-seed", "gradcam", f"seed: {2**32}\n", ["'seed' is 4294967296"]),
        case("error", "detect-seed", "detect", "scenes: {seed: -3}\n", ["'scenes.seed' is -3"]),
        case(
            "error",
            "aspect-min-over-max",
            "prepare",
            "quality: {aspect_min: 5.0, aspect_max: 4.0}\n",
            [
                "'quality.aspect_min' at most 'quality.aspect_max' is required",
                "quality.aspect_min = 5.0",
            ],
        ),  # item 18
        case(
            "error",
            "dark-over-bright",
            "prepare",
            "quality: {dark_mean: 251.0}\n",
            ["'quality.dark_mean' at most 'quality.bright_mean'"],
        ),
        case(
            "error",
            "face-min-over-max",
            "detect",
            "scenes: {face_min: 200}\n",
            ["'scenes.face_min' at most 'scenes.face_max'"],
        ),
        case(
            "error",
            "cue-label-not-drawn",
            "prepare",
            "synthetic: {classes: [cloth, n95], spurious_cue: {label: surgical}}\n",
            ["'synthetic.spurious_cue.label' null or one of 'synthetic.classes'"],
        ),
        case(
            "error",
            "negative-margin",
            "prepare",
            "voc: {margin: -0.1}\n",
            ["'voc.margin' is -0.1; must be between 0.0 and 2.0"],
        ),
        case("error", "unknown-key", "prepare", "sed: 1\n", ["unknown key 'sed'"]),
    ],
)
def test_bad_params_are_errors_at_check_time(tmp_path, stage, text, words):
    path = tmp_path / f"{stage}.yaml"
    path.write_text(text)
    with pytest.raises(ParamsError) as err:
        SCHEMAS[stage].load(path)
    for w in [str(path)] + words:
        assert w in str(err.value)


def test_error_params_file_not_utf8(tmp_path, capsys):  # item 24
    path = tmp_path / "prepare.yaml"
    path.write_bytes(
        "source: {aliases: {Stoffmaske: cloth, Gesichtsmaske\xe9: surgical}}\n".encode("latin-1")
    )
    assert main(["check-params", "prepare", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: not UTF-8 text (byte 0xe9 at offset 51); save the file as UTF-8" in err
