import json

import numpy as np

from maskutils.cli import main
from maskutils.modeling.faces import COLOURS, FaceClassifier, draw, find_and_classify
from maskutils.prepare.sources.scenes import (
    make_scene,
    write_voc,
)
from tests.conftest import CLASSES, FixedDetector, tiny_model_file


def test_draw_and_json_on_a_scene(tmp_path):
    scene = make_scene(0, seed=1, n_faces=3, face_sizes=(60, 100))
    clf = FaceClassifier(tiny_model_file(tmp_path / "m.pt", always="surgical"), margin=0.15)
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


def test_cli_predict_faces(tmp_path, capsys):
    scene = make_scene(1, seed=0, n_faces=3, face_sizes=(70, 120))
    write_voc([scene], tmp_path / "s")
    scene_file = tmp_path / "s" / "images" / f"{scene.name}.png"
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    model = tiny_model_file(tmp_path / "m.pt")
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
