import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from maskutils.core import manifest
from maskutils.core.images import load_cache
from maskutils.prepare.run import run
from tests.conftest import face_photo, params, save


def _messy_dataset(root):
    for k in range(12):
        save(face_photo(k), root / "NoMask" / f"n{k}.jpg")
        save(face_photo(k + 20), root / "SurgicalMask" / f"s{k}.png")
    save(Image.fromarray(face_photo(40)).convert("CMYK"), root / "SurgicalMask" / "cmyk.jpg")
    save(Image.fromarray(face_photo(41)).convert("P"), root / "SurgicalMask" / "palette.png")
    (root / "NoMask" / "notes.txt").write_text("not an image")
    good = (root / "NoMask" / "n0.jpg").read_bytes()
    (root / "NoMask" / "truncated.jpg").write_bytes(good[: len(good) // 3])
    save(Image.new("L", (40, 4000)), root / "NoMask" / "sliver.png")  # odd aspect, dark
    (root / "N95Mask").mkdir()
    return root


def test_bad_files_are_reported_and_the_rest_goes_on(tmp_path):
    given = params(
        "prepare",
        {
            "image_size": 24,
            "workers": 1,
            "source": {"kind": "folder", "root": str(_messy_dataset(tmp_path / "ds"))},
            "split": {"folds": 2},
        },
    )
    info = run(given, tmp_path / "out", progress=False)
    df = manifest.read(tmp_path / "out" / "manifest.csv")
    problems = pd.read_csv(tmp_path / "out" / "problems.csv")
    assert len(df) == 27 and info["n_problems"] == len(problems) == 3
    reasons = dict(zip(problems["file"].str.split("/").str[-1], problems["reason"]))
    assert reasons["notes.txt"].startswith("not an image") and reasons["truncated.jpg"].startswith(
        "truncated"
    )
    assert reasons["N95Mask"] == "empty class folder"
    sliver = df[df["file"].str.endswith("sliver.png")].iloc[0]
    assert set(sliver["quality_flags"].split(";")) == {"aspect", "dark"}
    images = load_cache(tmp_path / "out" / "images.npy", df["image_id"].tolist(), 24)
    assert images.shape == (27, 3, 24, 24) and images.dtype == np.uint8
    assert json.loads((tmp_path / "out" / "info.json").read_text())["params"]["image_size"] == 24


def test_synthetic_prepare_is_repeatable(tmp_path):
    given = params(
        "prepare",
        {
            "image_size": 16,
            "workers": 1,
            "synthetic": {"n_images": 60, "render_size": 32},
            "split": {"folds": 2},
        },
    )
    run(given, tmp_path / "a", progress=False)
    run(given, tmp_path / "b", progress=False)
    for name in ("manifest.csv", "images.npy"):
        a, b = (tmp_path / d / name for d in "ab")
        if name == "manifest.csv":
            strip = lambda p: pd.read_csv(p).drop(columns="file")  # noqa: E731  (paths differ)
            assert strip(a).equals(strip(b))
        else:
            assert a.read_bytes() == b.read_bytes()
    df = manifest.read(tmp_path / "a" / "manifest.csv")
    assert {"gender", "age", "skin_tone", "roi_x0"} <= set(df.columns)
    assert df["roi_x1"].max() <= 32


def test_errors_name_where_the_caller_takes_aliases(tmp_path):
    at = "sets.camera.aliases in params/external.yaml"
    root = tmp_path / "ds"
    for k in range(3):
        save(face_photo(k), root / "NoMask" / f"n{k}.png")
    given = params("prepare", {"workers": 1, "source": {"kind": "folder", "root": str(root)}})
    with pytest.raises(ValueError, match=f"one class only.*check {at}"):  # a training set
        run(given, tmp_path / "one", progress=False, aliases_at=at)
    info = run(given, tmp_path / "one_test", progress=False, splits=False, aliases_at=at)
    assert info["n_images"] == 3  # a test set may hold one class
    save(face_photo(3), root / "Bandana" / "b.png")
    with pytest.raises(ValueError, match=f"'Bandana'.*under {at}"):
        run(given, tmp_path / "unknown", progress=False, splits=False, aliases_at=at)
