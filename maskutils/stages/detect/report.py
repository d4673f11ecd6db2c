"""Tables of the detect report, from the metrics `run.summary` wrote."""

from __future__ import annotations

import pandas as pd

from maskutils.core import fmt


def _cell(r: dict) -> str:
    """A ratio with its interval and counts: '0.356 [0.294, 0.422] (64/180)'."""
    if r.get("value") is None:
        return "n/a (n=0)"
    return f"{fmt.ci(r)} ({r['k']}/{r['n']})"


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


def header(s: dict, d: dict, skipped: int, seconds_per_scene: float | None) -> str:
    """Scenes, faces, detections, detector, skipped inputs and speed (Markdown)."""
    return (
        f"**{s['n_scenes']} scenes**, {s['n_faces']} annotated faces, {s['n_detections']} "
        f"detections · detector `{d['detector']['kind']}` · {skipped} scenes or boxes skipped · "
        f"{seconds_per_scene or 0:.2f} s per scene"
    )
