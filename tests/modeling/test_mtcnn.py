"""MTCNNDetector: the shipped weights and their check, and faces found in a drawn scene (~5 s)."""

import hashlib
import importlib.metadata
import shutil
import socket
import subprocess
import sys
from base64 import urlsafe_b64encode

import numpy as np
import pytest
from PIL import Image

from maskutils.core.boxes import iou_matrix
from maskutils.modeling import detectors
from maskutils.modeling.detectors.mtcnn import (
    INSTALL,
    WEIGHTS,
    MTCNNDetector,
    WeightsError,
    verify_weights,
    weights_dir,
)
from maskutils.prepare.faces import render_face, sample_specs
from maskutils.prepare.sources.scenes import CLASSES

#: Two faces of sample_specs(20, CLASSES, seed 0) that MTCNN finds at 160 px tiles (a surgical
#: mask and no mask). Darker skin tones are often missed, so a different pick may fail.
FACES = (12, 13)


def draw_scene(tile: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """(RGB array, face boxes): the FACES side by side on a flat grey 480 x 240 canvas."""
    specs = sample_specs(20, CLASSES, 0, None, 0.0)
    canvas = Image.new("RGBA", (480, 240), (128, 128, 128, 255))
    boxes = []
    for k, index in enumerate(FACES):
        face, box = render_face(specs[index], tile, 0)
        ox, oy = 40 + 240 * k, 40
        layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        layer.paste(Image.fromarray(face), (ox, oy))
        canvas.alpha_composite(layer)
        boxes.append((box[0] + ox, box[1] + oy, box[2] + ox, box[3] + oy))
    return np.asarray(canvas.convert("RGB")), np.array(boxes, float)


def _mtcnn(**given):
    return MTCNNDetector(detectors.SCHEMA.validate({"kind": "mtcnn", **given}))


@pytest.fixture(scope="module")
def detector():
    return detectors.make()


def test_shipped_weights_match_the_pinned_hashes_and_pips_record():
    blobs = verify_weights()
    assert set(blobs) == {"pnet", "rnet", "onet"}
    recorded = {str(f): f.hash for f in importlib.metadata.files("facenet-pytorch")}
    for net, (rel, size, sha) in WEIGHTS.items():
        assert len(blobs[net]) == size and hashlib.sha256(blobs[net]).hexdigest() == sha
        h = recorded[f"facenet_pytorch/{rel}"]  # what pip wrote when it installed the wheel
        assert h.mode == "sha256"
        assert h.value == urlsafe_b64encode(bytes.fromhex(sha)).decode().rstrip("=")
    assert (weights_dir() / "data" / "pnet.pt").is_file()


def test_tampered_or_missing_weights_are_refused(tmp_path):
    shutil.copytree(weights_dir() / "data", tmp_path / "data")
    rnet = tmp_path / "data" / "rnet.pt"
    data = bytearray(rnet.read_bytes())
    data[-10] ^= 1
    rnet.write_bytes(bytes(data))
    with pytest.raises(WeightsError) as err:
        verify_weights(tmp_path)
    msg = str(err.value)
    assert str(rnet) in msg and WEIGHTS["rnet"][2] in msg
    assert hashlib.sha256(data).hexdigest() in msg
    assert "pip install --force-reinstall --no-deps facenet-pytorch==2.6.0" in msg
    rnet.unlink()
    with pytest.raises(WeightsError, match=r"rnet\.pt unreadable.*" + INSTALL):
        MTCNNDetector(detectors.SCHEMA.defaults(), weights_root=tmp_path)


def test_a_refused_file_is_never_unpickled(tmp_path):
    """The check comes before torch or facenet is imported (a fresh interpreter)."""
    shutil.copytree(weights_dir() / "data", tmp_path / "data")
    (tmp_path / "data" / "onet.pt").write_bytes(b"not a checkpoint")
    code = (
        "import sys\nfrom maskutils.modeling.detectors import mtcnn\ntry:\n"
        "    mtcnn.MTCNNDetector({}, weights_root=sys.argv[1])\n"
        "except mtcnn.WeightsError:\n    print(sorted(m for m in ('torch', 'facenet_pytorch') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stderr


def test_loading_uses_weights_only(monkeypatch):
    import torch

    seen = []
    real = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: seen.append(k) or real(*a, **k))
    _mtcnn()
    assert len(seen) == 3 and all(k.get("weights_only") is True for k in seen)


def test_finds_the_drawn_faces_offline_and_deterministically(detector, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("MTCNN tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    rgb, faces = draw_scene()
    found = detector(rgb)
    assert found.dtype == np.float64 and found.shape[1] == 5
    assert np.all(iou_matrix(faces, found).max(axis=1) >= 0.5), found
    assert np.all(found[:, 4] > 0.9) and np.all(np.diff(found[:, 4]) <= 0)
    assert np.all(found[:, :2] >= 0) and np.all(found[:, 2:4] <= (480, 240))
    assert detector(rgb.copy()).tobytes() == found.tobytes()


def test_upscaled_boxes_are_in_original_pixels(detector):
    rgb, faces = draw_scene(tile=80)  # faces about 48 px tall
    big = _mtcnn(upscale=2.0, min_size=12)(rgb)
    assert np.all(iou_matrix(faces, big).max(axis=1) >= 0.5), big


def test_no_face_in_blank_images(detector):
    for value in (0, 128, 255):
        assert detector(np.full((240, 320, 3), value, np.uint8)).shape == (0, 5)
    assert detector(np.zeros((8, 8, 3), np.uint8)).shape == (0, 5)  # under min_size: no pyramid


def test_params_are_checked(detector):
    assert detectors.SCHEMA.defaults()["thresholds"] == [0.6, 0.7, 0.7]
    for bad in (
        {"min_sise": 20},
        {"thresholds": [0.6, 0.7]},
        {"factor": 1.0},
        {"upscale": 0},
        {"kind": "mtcnn+frontal"},
    ):
        with pytest.raises(ValueError):
            detectors.make(bad)
    with pytest.raises(ValueError, match="uint8"):
        detector(np.zeros((20, 20), np.uint8))
