"""The external stage on a small prepared set: what is dropped and why (unknown classes, exact
and near copies of training images, duplicates inside the set, unreadable files), the scores and
their gap, the audit of a set with attributes before and after mitigation, a set without them
(and training photos without them), and bad params."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from maskutils.core.params import ParamsError
from maskutils.core.results import write_metrics
from maskutils.fairness.analysis import unaudited
from maskutils.stages.contract import Inputs
from maskutils.stages.external import run as external
from tests.conftest import (
    TINY_CNN,
    face_photo,
    params,
    prepared_folder,
    prepared_synthetic,
    save,
    save_studied,
)

RECIPE = {**TINY_CNN, "evaluate": {"bootstrap": 200}}
BIAS = {"bootstrap": 200, "permutations": 200, "mde": {"repeats": 0}, "min_group": 5}


def _studied(p, root, bias: dict):
    """An untrained studied CNN on prepared set `p` saved like the train stage saves it, its
    in-distribution test predictions, and `bias` as bias.json."""
    save_studied(p, params("train", RECIPE), root / "study.pt", root / "train")
    (root / "bias.json").write_text(json.dumps(bias))
    return p, root


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A prepared synthetic set, its studied CNN and a bias.json naming a mitigation plan."""
    plan = {"method": "reweight", "by": ["gender"], "oversample_cap": 4.0}
    p = prepared_synthetic(tmp_path_factory, 150, 32, 3)
    return _studied(p, tmp_path_factory.mktemp("study"), {"mitigation": plan})


def _folder_set(p, root):
    """5 re-encoded training images (near copies), 1 byte copy (exact), 4 new faces of which one
    twice (a duplicate inside the set), 3 of a class the model does not know, 1 broken file."""
    ext = root / "ext"
    if ext.exists():
        shutil.rmtree(ext)
    train = p.manifest[p.manifest["split"] == "train"]
    folder = {
        "no_mask": "no-mask",
        "cloth": "Cloth",
        "surgical": "surgical",
        "n95": "Odd-Name",
        "n95_valve": "n95_valve",
    }
    for k, row in enumerate(train.head(5).itertuples()):
        img = Image.open(row.file).convert("RGB").resize((48, 48))
        save(img, ext / folder[row.label] / f"copy{k}.jpg", quality=90)
    first = train.iloc[5]
    (ext / folder[first["label"]]).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(first["file"], ext / folder[first["label"]] / "same_bytes.png")
    for k in range(4):
        save(face_photo(500 + k, 48), ext / "no-mask" / f"new{k}.png")
    shutil.copyfile(ext / "no-mask" / "new0.png", ext / "no-mask" / "new0_again.png")
    for k in range(3):
        save(face_photo(600 + k, 48), ext / "with_mask" / f"m{k}.png")
    (ext / "no-mask" / "broken.png").write_bytes(b"\x89PNG not really")
    return ext


def _run(p, root, sets, **kw):
    cfg = params("external", {"sets": sets, "bootstrap": 200, **kw})
    paths = {
        "models/study.pt": root / "study.pt",
        "data/train": root / "train",
        "reports/metrics/bias.json": root / "bias.json",
        "data/external": root / "out",
    }
    return external.run(Inputs(paths, {"bias": params("bias", BIAS)}, p), cfg), cfg


@pytest.fixture(scope="module")
def web(study):
    """The folder set of `_folder_set`, scored (its unknown folder name given an alias)."""
    p, root = study
    ext = _folder_set(p, root)
    st, _ = _run(
        p, root, {"web": {"kind": "folder", "root": str(ext), "aliases": {"Odd-Name": "n95"}}}
    )
    return st, root


def test_a_folder_set_drops_unknown_classes_copies_and_duplicates(web):
    st, root = web
    (s,) = st.sets
    c = s.counts
    assert c["problems"] == 1 and c["images"] == 14
    assert (c["unknown_class"], c["exact_copies"], c["duplicates_within"]) == (3, 1, 1)
    assert c["near_copies"] == 5, s.removed
    assert c["used"] == 14 - 3 - 1 - 5 - 1 == len(s.table)
    assert s.unknown_classes == {"with_mask": 3}
    assert set(s.removed["reason"]) == {"exact copy", "near copy"}
    assert s.removed.loc[s.removed["reason"] == "exact copy", "bits"].tolist() == [0]
    assert len(s.pairs) == 2 * 6  # each copy beside the training image it copies
    saved = pd.read_csv(root / "out" / "web" / "removed.csv")
    assert sorted(saved["reason"]) == ["exact copy"] + ["near copy"] * 5
    assert s.audit is None and "no group attributes" in s.unaudited  # no attributes.csv
    assert external.summary(st, params("external", {}))["sets"]["web"]["bias"] == {
        "audited": False,
        "reason": s.unaudited,
    }


def test_the_gap_is_the_in_distribution_metric_minus_the_external_one(web):
    st, _ = web
    (s,) = st.sets
    for metric in ("accuracy", "macro_f1"):
        d = s.gap[metric]
        expected = st.in_distribution[metric]["value"] - s.metrics[metric]["value"]
        assert d["value"] == pytest.approx(expected)
        assert d["ci_low"] <= d["value"] <= d["ci_high"]
    absent = [c for c in st.classes if not s.metrics["per_class"][c]["support"]]
    assert all(s.gap[f"recall_{c}"]["value"] is None for c in absent)


def test_a_synthetic_camera_set_is_audited_before_and_after_mitigation(study):
    p, root = study
    st, cfg = _run(p, root, {"camera": {"kind": "synthetic", "synthetic": {"n_images": 60}}})
    (s,) = st.sets
    assert s.counts["images"] == 60 and s.counts["exact_copies"] == 0
    assert s.audit is not None and {"gender", "age"} <= set(s.audit.results)
    assert {"before", "after"} <= set(s.audit.table.columns)
    assert st.mitigation["method"] == "reweight"
    out = write_metrics(root / "external.json", external.summary(st, cfg))
    saved = json.loads(out.read_text())["sets"]["camera"]
    assert saved["bias"]["attributes"]["gender"]["groups"]
    assert saved["counts"] == s.counts and saved["metrics"]["n"] == len(s.table)
    assert np.isclose(saved["gap"]["macro_f1"]["value"], s.gap["macro_f1"]["value"], atol=1e-6)


def test_the_group_prior_correction_is_counted_on_the_training_rows_and_retrains_nothing(study):
    from maskutils.fairness import group_prior

    p, _ = study
    plan = {"method": "group_prior", "by": ["age"], "strength": 1.0}
    root = study[1].parent / "prior"
    root.mkdir(exist_ok=True)
    for name in ("study.pt", "train"):
        if not (root / name).exists():
            (root / name).symlink_to(study[1] / name)
    (root / "bias.json").write_text(json.dumps({"mitigation": plan}))
    st, _ = _run(p, root, {"camera": {"kind": "synthetic", "synthetic": {"n_images": 60}}})
    (s,) = st.sets
    assert st.mitigation == plan
    classes, y = p.task(st.task)
    train = p.rows("train")
    fitted = group_prior.fit(
        group_prior.group_keys(p.manifest.iloc[train], ["age"]), y[train], len(classes), 1.0
    )
    probs = s.table[[f"p_{c}" for c in classes]].to_numpy()
    expected = group_prior.apply(probs, group_prior.group_keys(s.rows, ["age"]), fitted)
    after = s.audit.table["after"].tolist()
    assert after == [classes[k] for k in expected.argmax(1)]
    assert fitted and any(np.abs(v).max() > 0 for v in fitted.values())


def test_training_photos_without_attributes_score_and_audit_a_set_that_has_them(
    tmp_path_factory,
):
    """The bias stage had nothing to audit (bias.json says why, no mitigation): a set with
    attributes is still audited, before only; the output folder is made even with no set."""
    p = prepared_folder(tmp_path_factory)
    reason = "the images carry no group attributes"
    p, root = _studied(p, tmp_path_factory.mktemp("photos_study"), unaudited(reason))
    st, _ = _run(p, root, {"camera": {"kind": "synthetic", "synthetic": {"n_images": 30}}})
    (s,) = st.sets
    assert s.counts["used"] == len(s.table) > 0 and s.gap and st.mitigation is None
    assert s.audit is not None and "after" not in s.audit.table and s.unaudited is None
    assert {"gender", "age"} <= set(s.audit.results)
    empty, _ = _run(p, root, {})
    assert empty.sets == [] and (root / "out").is_dir()


def test_bad_external_params_name_the_key_and_the_folder(study):
    p, root = study
    with pytest.raises(ParamsError, match=r"sets\.web: unknown key 'rot'"):
        params("external", {"sets": {"web": {"kind": "folder", "rot": "x"}}})
    with pytest.raises(ParamsError, match=r"sets\.web.*'root'"):
        params("external", {"sets": {"web": {"kind": "folder"}}})
    with pytest.raises(FileNotFoundError, match="nowhere"):
        _run(p, root, {"web": {"kind": "folder", "root": str(root / "nowhere")}})
    ext = _folder_set(p, root)
    with pytest.raises(ValueError, match=r"sets\.web\.aliases in params/external\.yaml"):
        _run(p, root, {"web": {"kind": "folder", "root": str(ext)}})  # Odd-Name: no alias
