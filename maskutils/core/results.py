"""Metrics files: plain JSON with sorted keys and rounded floats, so equal runs give equal bytes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def plain(x):
    """JSON-ready: numpy scalars as Python numbers, floats rounded to 6 digits, NaN as None."""
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return None if np.isnan(v) else round(v, 6)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def write_metrics(path: str | Path, metrics: dict) -> Path:
    """Metrics JSON with sorted keys and rounded floats, so equal runs give equal bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_round(metrics), indent=2, sort_keys=True) + "\n")
    return path


def _round(x, digits: int = 6):
    if isinstance(x, float):
        return round(x, digits)
    if isinstance(x, dict):
        return {str(k): _round(v, digits) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_round(v, digits) for v in x]
    return x
