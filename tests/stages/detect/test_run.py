import json

import numpy as np
import pytest

from maskutils.core.boxes import box_side
from maskutils.prepare.sources.scenes import (
    synthetic_scenes,
    voc_scenes,
)
from maskutils.stages.detect.run import evaluate, evaluation_summary, gallery, match, size_bucket
from tests.conftest import FixedDetector, save, tiny_model_file


def test_matching_threshold_inclusive_and_one_to_one():
    faces = [(0, 0, 2, 1)]
    assert match(faces, [(0, 0, 1, 1)], 0.5) == [(0, 0, 0.5)]  # exactly 0.5 counts (VOC: >=)
    assert match(faces, [(0, 0, 1, 1)], 0.5000001) == []
    # two detections on one face: only the better one matches
    assert match([(0, 0, 10, 10)], [(0, 0, 10, 9), (0, 0, 10, 10)], 0.5) == [(0, 1, 1.0)]
    # one detection between two faces: it goes to the face it overlaps most, the other face is
    # missed
    pairs = match([(0, 0, 10, 10), (2, 0, 12, 10)], [(1, 0, 11, 10)], 0.5)
    assert len(pairs) == 1 and pairs[0][1] == 0
    # greedy by IoU, no detection or face used twice
    faces = [(0, 0, 10, 10), (8, 0, 18, 10)]
    dets = [(1, 0, 11, 10), (0, 0, 10, 10), (8, 0, 18, 10)]
    pairs = match(faces, dets, 0.5)
    assert pairs == [(0, 1, 1.0), (1, 2, 1.0)]
    assert len({j for _, j, _ in pairs}) == len(pairs) == len({i for i, _, _ in pairs})


def test_size_buckets():
    assert size_bucket([10, 23.9, 24, 47, 48, 95.9, 96, 500], (24, 48, 96)) == [
        "<24",
        "<24",
        "24-48",
        "24-48",
        "48-96",
        "48-96",
        ">=96",
        ">=96",
    ]
    assert box_side([(0, 0, 16, 36)]).tolist() == [24.0]
    with pytest.raises(ValueError):
        size_bucket([1], (48, 24))


def _xml(path, filename, objects):
    body = "".join(
        f"<object><name>{n}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax>"
        f"<ymax>{b[3]}</ymax></bndbox></object>"
        for n, b in objects
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<annotation><filename>{filename}</filename>{body}</annotation>")


def _crafted_voc(root):
    rng = np.random.default_rng(0)
    for name, (h, w) in {"a": (100, 200), "b": (120, 160), "c": (90, 90)}.items():
        save(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), root / "images" / f"{name}.png")
    _xml(
        root / "annotations" / "a.xml",
        "a.png",
        [
            ("with_mask", (10, 10, 30, 30)),  # side 20: <24
            ("without_mask", (50, 10, 110, 70)),  # side 60: 48-96
            ("mask_weared_incorrect", (120, 10, 150, 40)),
        ],
    )  # side 30
    _xml(
        root / "annotations" / "b.xml",
        "b.png",
        [("with_mask", (0, 0, 30, 30)), ("without_mask", (40, 40, 80, 80))],
    )
    _xml(root / "annotations" / "c.xml", "c.png", [("with_mask", (0, 0, 10, 10))])
    detections = {
        (100, 200): [(10, 10, 30, 30), (50, 10, 110, 40), (120, 10, 150, 40), (150, 60, 190, 100)],
        (120, 160): [(0, 0, 30, 30), (1, 1, 31, 31), (40, 40, 80, 80)],
        (90, 90): [],
    }
    return root, FixedDetector(detections)


def test_voc_evaluation_known_answer(tmp_path):
    root, det = _crafted_voc(tmp_path / "voc")
    scenes, problems = voc_scenes(root)
    assert [s.name for s in scenes] == ["a", "b", "c"] and not problems
    ev = evaluate(
        scenes,
        tiny_model_file(tmp_path / "m.pt", always="no_mask"),
        detect=det,
        margin=0.15,
        buckets=(24, 48, 96),
    )
    # a: mask matched, no_mask matched at IoU exactly 0.5 (60x30 inside 60x60), incorrect matched,
    #    one false positive; b: both matched, the duplicate box a false positive; c: missed.
    assert ev.faces["matched"].tolist() == [True, True, True, True, True, False]
    assert ev.detections["matched"].tolist() == [True, True, True, False, True, False, True]
    s = evaluation_summary(ev, reps=0)
    assert (s["recall"]["k"], s["recall"]["n"]) == (5, 6)
    assert (s["precision"]["k"], s["precision"]["n"]) == (5, 7)
    assert s["recall"]["value"] == pytest.approx(5 / 6) and s["precision"][
        "value"
    ] == pytest.approx(5 / 7)
    lo, hi = s["recall"]["ci"]
    assert lo < 5 / 6 < hi
    r = s["by_size"]
    assert (r["<24"]["recall"]["k"], r["<24"]["recall"]["n"]) == (
        1,
        2,
    )  # a's 20 px and c's 10 px faces
    assert (r["24-48"]["recall"]["k"], r["24-48"]["recall"]["n"]) == (3, 3)
    assert (r["48-96"]["recall"]["k"], r["48-96"]["recall"]["n"]) == (1, 1)
    # precision by the detection's own size: 42, 30, 40 (false), 30, 30 (duplicate), 40 px
    assert (r["24-48"]["precision"]["k"], r["24-48"]["precision"]["n"]) == (4, 6)
    assert (r["<24"]["precision"]["k"], r["<24"]["precision"]["n"]) == (1, 1)
    assert r["48-96"]["precision"]["n"] == 0 and r["48-96"]["precision"]["value"] is None
    mv = s["recall_masked_vs_unmasked"]
    assert (mv["masked"]["k"], mv["masked"]["n"]) == (
        3,
        4,
    )  # incorrect counts as masked for detection
    assert (mv["unmasked"]["k"], mv["unmasked"]["n"]) == (2, 2)
    # the model says no_mask to everything: right on the 2 unmasked faces, wrong on 2 matched masked
    # ones;
    # the incorrect face is left out of accuracy
    c = s["classification"]
    assert (c["matched"]["k"], c["matched"]["n"]) == (2, 4)
    assert (c["oracle_all"]["k"], c["oracle_all"]["n"]) == (2, 5)
    assert s["outcomes"] == {"n": 5, "detected_correct": 2, "detected_wrong": 2, "missed": 1}
    json.dumps(s, allow_nan=False)  # plain JSON
    assert evaluation_summary(ev, reps=200, seed=3) == evaluation_summary(
        ev, reps=200, seed=3
    )  # bootstrap is deterministic
    ev2 = evaluate(
        scenes, tiny_model_file(tmp_path / "m.pt", always="no_mask"), detect=det, incorrect="mask"
    )
    assert evaluation_summary(ev2, reps=0)["classification"]["matched"]["n"] == 5


def test_unreadable_scene_skipped_in_evaluation(tmp_path):
    root, det = _crafted_voc(tmp_path / "voc")
    (root / "images" / "b.png").write_bytes(b"not a png")
    scenes, _ = voc_scenes(root)
    ev = evaluate(scenes, None, detect=det)
    assert len(ev.problems) == 1 and "b.png" in ev.problems[0]["file"]
    assert set(ev.faces["scene"]) == {"a", "c"} and "classification" not in evaluation_summary(
        ev, reps=0
    )


def test_gallery_draws_truth_and_detections(tmp_path):
    scenes = synthetic_scenes(3, seed=2, n_faces=3)
    det = FixedDetector({s.image.shape[:2]: s.boxes for s in scenes[:1]})
    pics = gallery(scenes, tiny_model_file(tmp_path / "m.pt"), n=2, detect=det)
    assert [name for name, _ in pics] == [scenes[0].name, scenes[2].name]
    assert all(img.shape == scenes[0].image.shape for _, img in pics)


def test_no_readable_scene_still_summarises(tmp_path):
    root = tmp_path / "voc"
    (root / "images").mkdir(parents=True)
    (root / "images" / "a.png").write_bytes(b"not a png")
    _xml(root / "annotations" / "a.xml", "a.png", [("with_mask", (10, 10, 40, 40))])
    scenes, _ = voc_scenes(root)
    s = evaluation_summary(
        evaluate(scenes, tiny_model_file(tmp_path / "m.pt"), detect=FixedDetector({})), reps=100
    )
    assert s["n_unreadable"] == 1 and s["n_faces"] == 0
    assert s["recall"]["value"] is None and s["recall"]["ci"] is None
    assert s["outcomes"]["n"] == 0 and s["classification"]["matched"]["value"] is None
