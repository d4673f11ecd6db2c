import numpy as np
import pytest

from maskutils.modeling import detectors
from maskutils.modeling.faces import faces_from
from maskutils.prepare.sources.scenes import (
    synthetic_scenes,
)
from maskutils.stages.detect.run import evaluate
from tests.conftest import CLASSES


def test_detector_params_checked():
    assert detectors.SCHEMA.validate({"min_neighbors": 3})["min_neighbors"] == 3
    for bad in ({"kind": "frontal+nose"}, {"scale_factor": 1.0}, {"colour": 1}, {"nms_iou": 0}):
        with pytest.raises(ValueError):
            detectors.make(bad)


def test_haar_finds_drawn_faces():
    scenes = synthetic_scenes(3, seed=0, n_faces=4, face_sizes=(80, 140))
    ev = evaluate(scenes, None, {"kind": "frontal", "min_neighbors": 3})
    assert ev.faces["matched"].sum() >= 1  # the cascade does find some drawn faces
    assert (ev.detections.loc[ev.detections["matched"], "iou"] >= 0.5).all()


def test_detector_runs_on_any_image():
    rgb = np.zeros((50, 60, 3), dtype=np.uint8)
    for kind in ("frontal", "frontal_alt2+profile"):
        boxes = detectors.make({"kind": kind, "upscale": 2.0})(rgb)
        assert boxes.shape == (0, 5)
    assert faces_from(np.zeros((0, 5)), np.zeros((0, 5)), CLASSES) == []
