from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Under pytest-xdist (`-n N`, pyproject's addopts) each worker's torch, OpenMP and BLAS get
# cores // N threads: N workers with a thread per core each would oversubscribe the cores, and an
# OpenMP thread waiting on a busy core stalls every op (several times slower than one thread).
# Set before numpy and torch are first imported; the subprocesses tests start inherit it.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _threads = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_var, _threads)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"


def pytest_collection_modifyitems(config, items):
    """The files marked slow as a whole (the end-to-end pipelines, the planted-bias study) run
    first, so that under `-n N --dist loadfile` they start at once on their own workers instead
    of last; every file keeps its own order (test_pipeline's last two tests must run last)."""

    def slow(item):
        marks = getattr(getattr(item, "module", None), "pytestmark", [])
        return any(m.name == "slow" for m in (marks if isinstance(marks, list) else [marks]))

    items.sort(key=lambda item: not slow(item))


def project_env(project: Path) -> dict:
    """This interpreter's scripts (dvc, maskutils) first on PATH, and the project copy's own
    maskutils first on PYTHONPATH: the `maskutils` script of an editable install would otherwise
    import the package from wherever it was installed from (another checkout), not the code under
    test that dvc.yaml tracks."""
    path = os.pathsep.join(p for p in (str(project), os.environ.get("PYTHONPATH")) if p)
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": path,
    }


def run_in(cmd, project, cwd=None) -> str:
    """`cmd` run in a copy of the project (`project_env`); its output, or a failure showing it."""
    out = subprocess.run(
        cmd,
        cwd=cwd or project,
        env=project_env(project),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, (
        f"{' '.join(cmd)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    )
    return out.stdout + out.stderr


def params(stage: str, given: dict | None = None) -> dict:
    """A stage's params: its defaults with `given` written over them (checked)."""
    from maskutils.stages import SCHEMAS

    return SCHEMAS[stage].validate(given)


def shared(name: str) -> Path:
    """A real dataset from ../shared/datasets, or skip the test with the reason."""
    path = SHARED / name
    if not path.is_dir():
        pytest.skip(f"{path} not present (real datasets live beside the project)")
    return path


def face_photo(seed: int = 0, size: int = 128) -> np.ndarray:
    """A synthetic face as a stand-in photo (RGB uint8)."""
    from maskutils.prepare.faces import render, sample_specs

    spec = sample_specs(5, ["no_mask", "cloth", "surgical", "n95", "n95_valve"], seed, None, 0)[
        seed % 5
    ]
    return render(spec, size, seed)[0]


def save(arr_or_img, path: Path, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = arr_or_img if isinstance(arr_or_img, Image.Image) else Image.fromarray(arr_or_img)
    img.save(path, **kw)
    return path


def prepared_synthetic(tmp_path_factory, n_images: int, size: int, folds: int):
    """Runs `prepare` on a small synthetic set and loads it (for module-scoped fixtures)."""
    from maskutils.prepare.prepared import load_prepared
    from maskutils.prepare.run import run

    out = tmp_path_factory.mktemp("prepared")
    run(
        params(
            "prepare",
            {
                "image_size": size,
                "workers": 1,
                "split": {"folds": folds},
                "synthetic": {"n_images": n_images, "render_size": 32},
            },
        ),
        out,
        progress=False,
    )
    return load_prepared(out)


def photo_folders(root: Path, per_class: int = 20, size: int = 32, first: int = 0) -> Path:
    """Class folders (NoMask, SurgicalMask) of synthetic faces, `first` the first face's seed,
    and no attributes.csv: a real photo set's layout, with nothing to group people by. 20 a class
    split into 3 folds leaves each fold enough images for its validation share."""
    for k in range(first, first + per_class):
        save(face_photo(k, size), root / "NoMask" / f"n{k}.png")
        save(face_photo(1000 + k, size), root / "SurgicalMask" / f"s{k}.png")
    return root


def prepared_folder(tmp_path_factory, per_class: int = 20, size: int = 32, folds: int = 3):
    """Runs `prepare` on `photo_folders` and loads it (for module-scoped fixtures)."""
    from maskutils.prepare.prepared import load_prepared
    from maskutils.prepare.run import run

    root = photo_folders(tmp_path_factory.mktemp("photos"), per_class, size)
    out = tmp_path_factory.mktemp("prepared")
    given = {"kind": "folder", "root": str(root)}
    run(
        params(
            "prepare",
            {"image_size": size, "workers": 1, "source": given, "split": {"folds": folds}},
        ),
        out,
        progress=False,
    )
    return load_prepared(out)


CLASSES = ["no_mask", "cloth", "surgical", "n95", "n95_valve"]


#: one epoch of the tiny CNN on a CPU: the studied model of stage tests, made in seconds
TINY_CNN = {
    "epochs": 1,
    "batch_size": 32,
    "device": "cpu",
    "model": "cnn",
    "cnn": {"preset": "tiny3"},
    "transfer": {"backbone": "none"},
}


def save_studied(p, cfg: dict, model_path: Path, train_dir: Path) -> None:
    """What the train stage leaves for the stages after it: an untrained CNN of recipe `cfg` on
    prepared set `p`, saved as the studied model, and its test predictions
    (train_dir/predictions_cnn.csv)."""
    from maskutils.modeling import checkpoint
    from maskutils.modeling.build import build
    from maskutils.modeling.evaluate import predictions_table
    from maskutils.modeling.predict import predict_proba

    classes, y = p.task("mask_type")
    model = build("cnn", cfg, len(classes), 32)
    checkpoint.save(
        model,
        model_path,
        kind="cnn",
        name="tiny3",
        classes=classes,
        image_size=32,
        task="mask_type",
        params=cfg,
    )
    test = p.rows("test")
    table = predictions_table(
        p.manifest["image_id"].to_numpy()[test],
        y[test],
        predict_proba(model, p.images[test]),
        classes,
    )
    Path(train_dir).mkdir(parents=True, exist_ok=True)
    table.to_csv(Path(train_dir) / "predictions_cnn.csv", index=False)


def tiny_model_file(path, always: str | None = None):
    """A tiny untrained CNN file; with `always`, its head is fixed so every face gets that class."""
    import torch
    from torch import nn

    from maskutils.modeling import checkpoint
    from maskutils.modeling.models import build_cnn

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
