"""What `prepare` wrote, loaded once: the manifest, problems, info and the image cache."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from maskutils.core import manifest as mf
from maskutils.core.images import load_cache
from maskutils.core.labels import task_classes, task_label


@dataclass
class Prepared:
    manifest: pd.DataFrame
    problems: pd.DataFrame
    info: dict
    images: np.ndarray  # N x 3 x S x S uint8, row i = manifest row i

    def task(self, task: str) -> tuple[list[str], np.ndarray]:
        """(classes of the task, class index per manifest row)."""
        labels = [task_label(lab, task) for lab in self.manifest["label"]]
        classes = task_classes(self.manifest["label"], task)
        index = {c: k for k, c in enumerate(classes)}
        return classes, np.array([index[lab] for lab in labels])

    def positions(self, image_ids) -> list[int]:
        """Manifest row position of each image id (to show its image)."""
        where = pd.Series(np.arange(len(self.manifest)), index=self.manifest["image_id"])
        return where.loc[list(image_ids)].tolist()

    def rows(self, *splits: str) -> np.ndarray:
        """Manifest row positions in the given splits."""
        return np.flatnonzero(self.manifest["split"].isin(splits).to_numpy())


def load_prepared(prepared_dir: str | Path) -> Prepared:
    d = Path(prepared_dir)
    df = mf.read(d / "manifest.csv")
    info = json.loads((d / "info.json").read_text())
    images = load_cache(d / "images.npy", df["image_id"].tolist(), info["image_size"])
    return Prepared(df, pd.read_csv(d / "problems.csv", dtype=str), info, images)
