"""`maskutils predict`: classify image files and folders with a trained model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from maskutils.core.images import IMAGE_SUFFIXES, BadImage, decode, resize
from maskutils.modeling.checkpoint import load
from maskutils.modeling.fit import predict_proba


def expand(paths) -> list[Path]:
    """Files as given; folders searched recursively for image files."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
            )
        else:
            out.append(p)
    return out


def classify(
    paths, model_path: str | Path, batch_size: int = 128
) -> tuple[pd.DataFrame, list[dict]]:
    """(table: file, class, probability, p_<class>...; problems: file, reason for unreadable files)."""
    model, meta = load(model_path)
    size, classes = meta["image_size"], meta["classes"]
    files, images, problems = [], [], []
    for f in expand(paths):
        try:
            images.append(resize(decode(f)[0], size).transpose(2, 0, 1))
            files.append(str(f))
        except (BadImage, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            problems.append({"file": str(f), "reason": str(exc)})
    if not files:
        return pd.DataFrame(columns=["file", "class", "probability"]), problems
    probs = predict_proba(model, np.stack(images), batch_size)
    table = pd.DataFrame(
        {"file": files, "class": [classes[i] for i in probs.argmax(1)], "probability": probs.max(1)}
    )
    for k, c in enumerate(classes):
        table[f"p_{c}"] = probs[:, k]
    return table, problems
