"""What the detect stage reads and shows: its scenes from params, and the metrics as tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from maskutils.prepare.sources.scenes import synthetic_scenes
from maskutils.stages.detect.run import voc_scenes


def load_scenes(d: dict) -> tuple[list, list[dict]]:
    """(scenes, problems) for the detect params: synthetic scenes, or a Pascal VOC folder."""
    src, sc = d["source"], d["scenes"]
    if src["kind"] == "voc":
        if not src["root"] or not Path(src["root"]).is_dir():
            raise FileNotFoundError(
                f"params/detect.yaml: source.root {src['root']!r} is not a folder "
                "(a Pascal VOC dataset with images/ and annotations/)"
            )
        return voc_scenes(src["root"])
    if sc["face_max"] < sc["face_min"] or sc["face_max"] > 0.6 * min(sc["width"], sc["height"]):
        raise ValueError(
            "params/detect.yaml: scenes.face_max must be at least face_min and at most 0.6 x the "
            f"shorter canvas side ({0.6 * min(sc['width'], sc['height']):.0f} px)"
        )
    return synthetic_scenes(
        sc["n"],
        sc["seed"],
        sc["faces_per_scene"],
        sc["width"],
        sc["height"],
        (sc["face_min"], sc["face_max"]),
    ), []


def _cell(r: dict) -> str:
    if r.get("value") is None:
        return "n/a (n=0)"
    ci = r.get("ci") or [None, None]
    band = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci[0] is not None else ""
    return f"{r['value']:.3f}{band} ({r['k']}/{r['n']})"


def detection_table(s: dict) -> pd.DataFrame:
    rows = {"all sizes": {"recall": _cell(s["recall"]), "precision": _cell(s["precision"])}}
    for bucket, v in s["by_size"].items():
        rows[bucket] = {"recall": _cell(v["recall"]), "precision": _cell(v["precision"])}
    return pd.DataFrame(rows).T


def recall_table(s: dict) -> pd.DataFrame:
    rows = {
        **{k: _cell(v) for k, v in s["recall_masked_vs_unmasked"].items()},
        **{f"label {k}": _cell(v) for k, v in s["recall_by_label"].items()},
    }
    return pd.DataFrame({"recall": rows})


def classification_table(s: dict) -> pd.DataFrame:
    if "classification" not in s:
        return pd.DataFrame({"accuracy": {"(no model)": "n/a"}})
    c = s["classification"]
    rows = {k: _cell(c[k]) for k in ("matched", "oracle_on_matched", "oracle_all")}
    rows.update({f"5-class {k}": _cell(v) for k, v in c.get("exact_class", {}).items()})
    out = pd.DataFrame({"binary accuracy": rows})
    o = s["outcomes"]
    for key, name in (
        ("detected_correct", "detected and right"),
        ("detected_wrong", "detected and wrong"),
        ("missed", "missed by the detector"),
    ):
        out.loc[f"faces {name}", "binary accuracy"] = f"{o[key]} of {o['n']}"
    return out
