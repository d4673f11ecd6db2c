"""The real datasets in ../shared/datasets: counts, and what prepare makes of them (skipped if
absent)."""

import pytest

from maskutils.core import manifest
from maskutils.prepare.quality import duplicate_summary
from maskutils.prepare.run import run
from tests.conftest import params, shared


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    cache = {}

    def get(name, kind="folder"):
        if name not in cache:
            root = shared(name)
            out = tmp_path_factory.mktemp(name)
            info = run(
                params("prepare", {"source": {"kind": kind, "root": str(root)}}),
                out,
                progress=False,
            )
            cache[name] = (manifest.read(out / "manifest.csv"), info)
        return cache[name]

    return get


def test_mask4_attributes(prepared):
    df, info = prepared("mask4-attributes")
    assert len(df) == 1990 and info["n_problems"] == 0
    assert sorted(df["label"].unique()) == ["cloth", "n95", "no_mask", "surgical"]
    assert df["gender"].notna().sum() == 1990
    assert (
        df["gender"].notna() & df["age"].notna()
    ).sum() == 1984  # 6 rows of attributes.csv lack an age
    assert duplicate_summary(df)["groups_across_splits"] == 0


def test_binary_4k_copies_stay_on_one_side(prepared):
    df, info = prepared("binary-4k")
    assert len(df) == 4094 and set(df["label"]) == {"mask", "no_mask"}
    dups = duplicate_summary(df)
    assert dups["groups"] > 150 and dups["images_in_groups"] > 400  # many augmented copies found
    assert dups["groups_across_splits"] == 0
    assert info["near_duplicates"]["verified_pairs"] > 50  # crops found by the keypoint tier
    assert info["seconds"]["total"] < 120  # 20 s on a quiet 2-core CPU


def test_voc_300_boxes(prepared):
    df, info = prepared("voc-300", kind="voc")
    assert df["source"].eq("voc-300").all() and set(df["label"]) == {"mask", "no_mask", "incorrect"}
    assert (df["box_x1"] > df["box_x0"]).all() and (df["box_y1"] > df["box_y0"]).all()
    assert info["n_problems"] > 0  # tiny boxes are reported and dropped
    assert len(df) + info["n_problems"] >= 1400
