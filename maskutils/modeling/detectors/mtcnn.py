"""Faces in scenes with MTCNN (facenet-pytorch 2.6.0's P-, R- and O-Net), offline and on the CPU.

The weights are the three files facenet-pytorch ships in its package (`facenet_pytorch/data`);
nothing is downloaded. `verify_weights` reads each file once, checks its size and sha256 against
`WEIGHTS` and hands back the bytes it checked, which are then loaded with `weights_only=True`
into nets built with `pretrained=False`, so facenet's own unchecked `torch.load` never runs.

facenet-pytorch 2.6.0 declares torch<2.3, numpy<2 and Pillow<10.3, so it is installed on its own
with `pip install --no-deps facenet-pytorch==2.6.0`; its top-level `__init__` imports `requests`
(for the face-recognition net, unused here), which the project's other pins already bring in.

`MTCNNDetector(params)` is called like every detector: on an RGB uint8 array, it returns an
N x 5 float array x0, y0, x1, y1 (original pixels, clipped to the image), score (the O-Net face
probability), sorted by score, then y0, then x0. The same input gives the same bytes on the CPU
(for a fixed number of torch threads).
"""

from __future__ import annotations

import importlib.util
import io
import warnings
from pathlib import Path

import numpy as np

from maskutils.core.weights import WeightsError, read_verified

INSTALL = "pip install --no-deps facenet-pytorch==2.6.0"
#: The weight files of facenet-pytorch 2.6.0, relative to the facenet_pytorch package: size, sha256.
WEIGHTS = {
    "pnet": (
        "data/pnet.pt",
        28_570,
        "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
    ),
    "rnet": (
        "data/rnet.pt",
        403_147,
        "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
    ),
    "onet": (
        "data/onet.pt",
        1_559_269,
        "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
    ),
}


def weights_dir() -> Path:
    """facenet_pytorch's package folder, found without importing it."""
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"facenet-pytorch is not installed; install it with: {INSTALL}")
    return Path(list(spec.submodule_search_locations)[0])


def verify_weights(root: str | Path | None = None) -> dict[str, bytes]:
    """{net: file bytes} for pnet, rnet, onet under `root` (default: the installed facenet_pytorch
    folder), each checked against `WEIGHTS`; a missing or different file is a WeightsError
    that names the file, the expected and found sha256, and the install command."""
    root = Path(root) if root is not None else weights_dir()
    return {
        net: read_verified(root / rel, size, sha, "MTCNN", INSTALL)
        for net, (rel, size, sha) in WEIGHTS.items()
    }


class MTCNNDetector:
    """The three nets, checked and loaded once; call it on an RGB uint8 array (H x W x 3).
    `params`: the validated detector params (`detectors.params`): min_size (smallest face side
    searched, original pixels), thresholds (P-, R-, O-Net cut-offs), factor (pyramid step),
    upscale (bilinear enlargement first, so small faces reach the nets smoothly enlarged)."""

    def __init__(self, params: dict, weights_root: str | Path | None = None):
        self.params = params
        blobs = verify_weights(weights_root)  # before anything of facenet's is imported
        import torch

        with warnings.catch_warnings():  # facenet imports tqdm.auto, which warns in a notebook
            warnings.filterwarnings("ignore", message="IProgress not found")
            from facenet_pytorch.models.mtcnn import ONet, PNet, RNet
            from facenet_pytorch.models.utils.detect_face import detect_face

        self._torch, self._detect_face = torch, detect_face
        self.nets = {}
        for name, cls in (("pnet", PNet), ("rnet", RNet), ("onet", ONet)):
            net = cls(pretrained=False)
            state = torch.load(io.BytesIO(blobs[name]), map_location="cpu", weights_only=True)
            net.load_state_dict(state)
            self.nets[name] = net.eval()

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """N x 5 float array: x0, y0, x1, y1 (original pixels), score (face probability)."""
        import cv2

        p, torch = self.params, self._torch
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(
                f"MTCNNDetector wants an H x W x 3 uint8 array, got {rgb.dtype} {rgb.shape}"
            )
        h, w = rgb.shape[:2]
        up = float(p["upscale"])
        img = rgb
        if up != 1.0:
            size = (max(1, round(w * up)), max(1, round(h * up)))
            mode = cv2.INTER_LINEAR if up > 1 else cv2.INTER_AREA
            img = cv2.resize(rgb, size, interpolation=mode)
        min_face = float(p["min_size"]) * up
        if min(img.shape[:2]) < min_face:  # no pyramid level (facenet would fail on it)
            return np.zeros((0, 5))
        with torch.inference_mode():
            found, _ = self._detect_face(
                np.ascontiguousarray(img),
                min_face,
                self.nets["pnet"],
                self.nets["rnet"],
                self.nets["onet"],
                list(p["thresholds"]),
                float(p["factor"]),
                torch.device("cpu"),
            )
        boxes = np.asarray(found[0], dtype=np.float64).reshape(-1, 5)
        boxes[:, :4] /= up
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        boxes = boxes[(boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])]
        return boxes[np.lexsort((boxes[:, 0], boxes[:, 1], -boxes[:, 4]))]
