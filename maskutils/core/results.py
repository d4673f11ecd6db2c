"""Metrics files: plain JSON with sorted keys and rounded floats, so equal runs give equal bytes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from maskutils.core.files import atomic
from maskutils.core.machine import machine


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


def write_metrics(path: str | Path, metrics: dict, provenance: bool = True) -> Path:
    """Metrics JSON with sorted keys and rounded floats, so equal runs give equal bytes; with
    `provenance`, under that key what else decides the bytes: CPU, instruction set, threads,
    library versions, device (`core.machine`: facts of the machine, the same every run)."""
    path = Path(path)
    if provenance:
        metrics = {**metrics, "provenance": machine()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic(path) as tmp:
        tmp.write_text(json.dumps(_round(metrics), indent=2, sort_keys=True) + "\n")
    return path


def _round(x, digits: int = 6):
    if isinstance(x, float):
        return round(x, digits)
    if isinstance(x, dict):
        return {str(k): _round(v, digits) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_round(v, digits) for v in x]
    return x


def headline(metrics: dict, paths: tuple[str, ...]) -> dict:
    """The few numbers a reader compares across runs (`dvc metrics show`, `dvc metrics diff`):
    each dotted path's value, `*` standing for every key at its level, flat under the path that
    found it. A path the metrics do not have (a block some data never write) is left out."""
    out = {}
    for path in paths:
        found = [((), metrics)]
        for part in path.split("."):
            found = [
                ((*at, k), v[k])
                for at, v in found
                if isinstance(v, dict)
                for k in (v if part == "*" else [part] if part in v else [])
            ]
        for at, v in found:
            if isinstance(v, (int, float, bool)) or v is None:
                out[".".join(at)] = v
    return out
