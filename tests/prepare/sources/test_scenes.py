import numpy as np

from maskutils.core.boxes import iou_matrix
from maskutils.prepare.sources.scenes import (
    Scene,
    make_scene,
    synthetic_scenes,
    voc_scenes,
    write_voc,
)
from tests.conftest import CLASSES


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


def test_scene_from_file_roundtrip(tmp_path):
    scenes = synthetic_scenes(2, seed=4, n_faces=2)
    back, problems = voc_scenes(write_voc(scenes, tmp_path / "v"))
    assert not problems and [s.name for s in back] == [s.name for s in scenes]
    assert np.allclose(back[0].boxes, scenes[0].boxes) and back[0].labels == scenes[0].labels
    assert np.array_equal(back[0].rgb(), scenes[0].image)
    assert isinstance(back[0], Scene)
