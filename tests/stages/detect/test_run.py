import json

import numpy as np
import pytest
import torch
from torch import nn

from maskutils.cli import main
from maskutils.core.boxes import box_side, iou, iou_matrix
from maskutils.modeling import checkpoint, detectors
from maskutils.modeling.faces import COLOURS, FaceClassifier, draw, faces_from, find_and_classify
from maskutils.modeling.models import build_cnn
from maskutils.prepare.sources.scenes import (
    Scene,
    make_scene,
    synthetic_scenes,
    voc_scenes,
    write_voc,
)
from maskutils.stages.detect.run import evaluate, gallery, match, size_bucket, summary
from tests.conftest import save

CLASSES = ["no_mask", "cloth", "surgical", "n95", "n95_valve"]


def _model(path, always: str | None = None):
    """A tiny untrained CNN file; with `always`, its head is fixed so every face gets that class."""
    torch.manual_seed(0)
    model = build_cnn("tiny3", len(CLASSES), 32)
    if always is not None:
        head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
        with torch.no_grad():
            head.weight.zero_()
            head.bias.copy_(torch.tensor([4.0 if c == always else 0.0 for c in CLASSES]))
    return checkpoint.save(
        model, path, kind="cnn", name="tiny3", classes=CLASSES, image_size=32, task="mask_type"
    )


class FixedDetector:
    """Returns the boxes listed for the image's (height, width): a detector with a known answer."""

    def __init__(self, by_shape):
        self.by_shape = by_shape
        self.params = {"kind": "fixed"}

    def __call__(self, rgb):
        return np.array(self.by_shape.get(rgb.shape[:2], []), dtype=float).reshape(-1, 4)


# ---- geometry and matching --------------------------------------------------------------------


def test_iou_arithmetic():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0  # touching edges share no area
    assert iou((0, 0, 2, 1), (0, 0, 1, 1)) == 0.5
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 0, 10), (0, 0, 0, 10)) == 0.0  # empty boxes never match
    m = iou_matrix(
        [(0, 0, 10, 10), (20, 20, 30, 30)], [(0, 0, 10, 10), (0, 0, 5, 10), (100, 100, 110, 110)]
    )
    assert m.shape == (2, 3) and m[0, 1] == 0.5 and m[1].sum() == 0
    assert iou_matrix([], [(0, 0, 1, 1)]).shape == (0, 1)


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


def test_detector_params_checked():
    assert detectors.SCHEMA.validate({"min_neighbors": 3})["min_neighbors"] == 3
    for bad in ({"kind": "frontal+nose"}, {"scale_factor": 1.0}, {"colour": 1}, {"nms_iou": 0}):
        with pytest.raises(ValueError):
            detectors.make(bad)


# ---- scenes, drawing, JSON --------------------------------------------------------------------


def test_scenes_deterministic_with_known_faces():
    a, b = make_scene(2, seed=5, n_faces=4), make_scene(2, seed=5, n_faces=4)
    assert (
        np.array_equal(a.image, b.image)
        and np.array_equal(a.boxes, b.boxes)
        and a.labels == b.labels
    )
    assert not np.array_equal(a.image, make_scene(2, seed=6, n_faces=4).image)
    assert 1 <= len(a.labels) <= 4 and set(a.labels) <= set(CLASSES)
    h, w = a.image.shape[:2]
    assert (a.boxes[:, 0] >= 0).all() and (a.boxes[:, 2] <= w).all() and (a.boxes[:, 3] <= h).all()
    assert (
        iou_matrix(a.boxes, a.boxes) - np.eye(len(a.boxes))
    ).max() < 0.05  # faces do not overlap


def test_draw_and_json_on_a_scene(tmp_path):
    scene = make_scene(0, seed=1, n_faces=3, face_sizes=(60, 100))
    clf = FaceClassifier(_model(tmp_path / "m.pt", always="surgical"), margin=0.15)
    faces = find_and_classify(scene.image, FixedDetector({scene.image.shape[:2]: scene.boxes}), clf)
    assert len(faces) == len(scene.labels)
    assert all(
        f["class"] == "surgical" and abs(sum(f["probabilities"].values()) - 1) < 1e-5 for f in faces
    )
    out = draw(scene.image, faces)
    assert out.shape == scene.image.shape and not np.array_equal(out, scene.image)
    f = faces[-1]  # drawn last, so nothing covers its box
    left_edge = out[f["y0"] + 2 : f["y1"] - 2, f["x0"]]
    assert (
        np.abs(left_edge.astype(int) - COLOURS["surgical"]).sum(1) == 0
    ).all()  # box in the class colour
    assert np.array_equal(
        out[f["y0"] + 5 : f["y1"] - 5, f["x0"] + 5 : f["x1"] - 5],  # inside untouched
        scene.image[f["y0"] + 5 : f["y1"] - 5, f["x0"] + 5 : f["x1"] - 5],
    )
    back = json.loads(json.dumps(faces))
    assert back[0].keys() >= {"x0", "y0", "x1", "y1", "class", "probability", "probabilities"}
    assert [(b["x0"], b["y0"], b["x1"], b["y1"]) for b in back] == [
        tuple(int(round(v)) for v in b) for b in scene.boxes
    ]


def test_haar_finds_drawn_faces():
    scenes = synthetic_scenes(3, seed=0, n_faces=4, face_sizes=(80, 140))
    ev = evaluate(scenes, None, {"kind": "frontal", "min_neighbors": 3})
    assert ev.faces["matched"].sum() >= 1  # the cascade does find some drawn faces
    assert (ev.detections.loc[ev.detections["matched"], "iou"] >= 0.5).all()


# ---- the VOC evaluation on a crafted set ------------------------------------------------------


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
    ev = evaluate(scenes, _model(tmp_path / "m.pt", always="no_mask"), detect=det, margin=0.15)
    # a: mask matched, no_mask matched at IoU exactly 0.5 (60x30 inside 60x60), incorrect matched,
    #    one false positive; b: both matched, the duplicate box a false positive; c: missed.
    assert ev.faces["matched"].tolist() == [True, True, True, True, True, False]
    assert ev.detections["matched"].tolist() == [True, True, True, False, True, False, True]
    s = summary(ev, reps=0)
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
    assert summary(ev, reps=200, seed=3) == summary(
        ev, reps=200, seed=3
    )  # bootstrap is deterministic
    ev2 = evaluate(
        scenes, _model(tmp_path / "m.pt", always="no_mask"), detect=det, incorrect="mask"
    )
    assert summary(ev2, reps=0)["classification"]["matched"]["n"] == 5


def test_unreadable_scene_skipped_in_evaluation(tmp_path):
    root, det = _crafted_voc(tmp_path / "voc")
    (root / "images" / "b.png").write_bytes(b"not a png")
    scenes, _ = voc_scenes(root)
    ev = evaluate(scenes, None, detect=det)
    assert len(ev.problems) == 1 and "b.png" in ev.problems[0]["file"]
    assert set(ev.faces["scene"]) == {"a", "c"} and "classification" not in summary(ev, reps=0)


def test_gallery_draws_truth_and_detections(tmp_path):
    scenes = synthetic_scenes(3, seed=2, n_faces=3)
    det = FixedDetector({s.image.shape[:2]: s.boxes for s in scenes[:1]})
    pics = gallery(scenes, _model(tmp_path / "m.pt"), n=2, detect=det)
    assert [name for name, _ in pics] == [scenes[0].name, scenes[2].name]
    assert all(img.shape == scenes[0].image.shape for _, img in pics)


# ---- the command line -------------------------------------------------------------------------


def test_cli_predict_faces(tmp_path, capsys):
    scene = make_scene(1, seed=0, n_faces=3, face_sizes=(70, 120))
    write_voc([scene], tmp_path / "s")
    scene_file = tmp_path / "s" / "images" / f"{scene.name}.png"
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    model = _model(tmp_path / "m.pt")
    out_dir, csv = tmp_path / "out", tmp_path / "faces.csv"
    rc = main(
        [
            "predict",
            "--faces",
            str(scene_file),
            str(bad),
            "--model",
            str(model),
            "--out-dir",
            str(out_dir),
            "--out",
            str(csv),
            "--min-neighbors",
            "3",
        ]
    )
    cap = capsys.readouterr()
    assert rc == 0
    assert "skipped" in cap.err and "broken.jpg" in cap.err
    data = json.loads((out_dir / f"{scene.name}.faces.json").read_text())
    assert data["width"] == scene.image.shape[1] and data["classes"] == CLASSES
    assert data["detector"]["min_neighbors"] == 3
    for f in data["faces"]:
        assert 0 <= f["x0"] < f["x1"] <= data["width"] and f["class"] in CLASSES
    assert (out_dir / f"{scene.name}.faces.png").is_file()
    assert csv.is_file() and not (out_dir / "broken.faces.json").exists()
    # nothing readable: an error, not a crash
    assert main(["predict", "--faces", str(bad), "--model", str(model)]) == 2
    assert "no readable scene" in capsys.readouterr().err


def test_detector_runs_on_any_image():
    rgb = np.zeros((50, 60, 3), dtype=np.uint8)
    for kind in ("frontal", "frontal_alt2+profile"):
        boxes = detectors.make({"kind": kind, "upscale": 2.0})(rgb)
        assert boxes.shape == (0, 5)
    assert faces_from(np.zeros((0, 5)), np.zeros((0, 5)), CLASSES) == []


def test_scene_from_file_roundtrip(tmp_path):
    scenes = synthetic_scenes(2, seed=4, n_faces=2)
    back, problems = voc_scenes(write_voc(scenes, tmp_path / "v"))
    assert not problems and [s.name for s in back] == [s.name for s in scenes]
    assert np.allclose(back[0].boxes, scenes[0].boxes) and back[0].labels == scenes[0].labels
    assert np.array_equal(back[0].rgb(), scenes[0].image)
    assert isinstance(back[0], Scene)


def test_no_readable_scene_still_summarises(tmp_path):
    root = tmp_path / "voc"
    (root / "images").mkdir(parents=True)
    (root / "images" / "a.png").write_bytes(b"not a png")
    _xml(root / "annotations" / "a.xml", "a.png", [("with_mask", (10, 10, 40, 40))])
    scenes, _ = voc_scenes(root)
    s = summary(evaluate(scenes, _model(tmp_path / "m.pt"), detect=FixedDetector({})), reps=100)
    assert s["n_unreadable"] == 1 and s["n_faces"] == 0
    assert s["recall"]["value"] is None and s["recall"]["ci"] is None
    assert s["outcomes"]["n"] == 0 and s["classification"]["matched"]["value"] is None
