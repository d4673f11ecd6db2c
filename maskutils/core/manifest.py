"""The manifest: one row per face image, carried through every stage. Stored as CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from maskutils.core.files import atomic
from maskutils.core.labels import CLASSES

CORE = [
    "image_id",
    "file",
    "box_x0",
    "box_y0",
    "box_x1",
    "box_y1",
    "source",
    "label",
    "label_raw",
    "width",
    "height",
    "format",
    "mean_rgb",
    "phash",
    "phash_flip",
    "dup_group",
    "dup_size",
    "quality_flags",
    "split",
    "fold",
    "roi_x0",
    "roi_y0",
    "roi_x1",
    "roi_y1",
    "cue",
]
REQUIRED = ["image_id", "file", "label", "width", "height", "dup_group", "split", "fold"]
SPLITS = ("train", "val", "test", "excluded")
_DTYPES = {
    "image_id": str,
    "file": str,
    "label": str,
    "label_raw": str,
    "source": str,
    "format": str,
    "phash": str,
    "phash_flip": str,
    "quality_flags": str,
    "split": str,
}


def attribute_columns(df: pd.DataFrame) -> list[str]:
    """Columns a dataset brought beyond the core schema (gender, age, skin_tone, ...)."""
    return [c for c in df.columns if c not in CORE]


def write(df: pd.DataFrame, path: Path) -> None:
    validate(df, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic(path) as tmp:
        df.to_csv(tmp, index=False)


def read(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"manifest {path} not found: run `dvc repro prepare` first")
    df = pd.read_csv(path, dtype=_DTYPES, keep_default_na=True)
    df["quality_flags"] = df["quality_flags"].fillna("")
    validate(df, str(path))
    return df


def validate(df: pd.DataFrame, origin: str = "manifest") -> None:
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"{origin}: missing column(s) {missing}")
    if df["image_id"].duplicated().any():
        raise ValueError(
            f"{origin}: duplicate image_id {df['image_id'][df['image_id'].duplicated()].iloc[0]}"
        )
    bad = set(df["label"]) - set(CLASSES)
    if bad:
        raise ValueError(f"{origin}: unknown label(s) {sorted(bad)}")
    bad = set(df["split"]) - set(SPLITS)
    if bad:
        raise ValueError(f"{origin}: unknown split(s) {sorted(bad)}")
