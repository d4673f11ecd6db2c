"""Tables of the detect report, from the metrics `run.summary` wrote."""

from __future__ import annotations

import matplotlib.pyplot as plt
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


def comparison_table(s: dict, seconds: dict[str, float | None]) -> pd.DataFrame:
    """Each detector on the same scenes: recall, precision, AP, recall at precision >= 0.85,
    recall by size and masked vs unmasked, and scenes per second on this machine."""
    rows = {}
    for kind, v in s["detectors"].items():
        r85 = v["recall_at_precision_0.85"]
        row = {
            "recall": _cell(v["recall"]),
            "precision": _cell(v["precision"]),
            f"AP@{s['settings']['iou_threshold']:g}": fmt.num(v["ap"]),
            "recall at precision >= 0.85": fmt.num(r85["recall"]),
        }
        row.update({f"recall {b} px": _cell(r) for b, r in v["recall_by_size"].items()})
        row.update({f"recall {g}": _cell(r) for g, r in v["recall_masked_vs_unmasked"].items()})
        sec = seconds.get(kind)
        row["scenes / s"] = f"{1 / sec:.1f}" if sec else "n/a"
        rows[kind] = row
    return pd.DataFrame(rows).T


def pr_figure(curves: dict, title: str):
    """Precision-recall curves of the detectors (VOC all-point AP in the legend)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for kind, c in curves.items():
        ap = c.ap()
        ax.plot(c.recall, c.precision, label=f"{kind} (AP {fmt.num(ap)})")
    ax.axhline(0.85, color="grey", linestyle=":", linewidth=1)
    ax.set(
        title=title,
        xlabel="recall (share of annotated faces)",
        ylabel="precision",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    ax.legend(loc="lower left", fontsize=8)
    return fig


def misses_figure(scenes, ev, n: int, title: str):
    """Crops of up to n missed faces and n false detections (largest first), with their labels."""
    by_name = {s.name: s for s in scenes}
    missed = ev.faces[~ev.faces["matched"].astype(bool)].sort_values("side", ascending=False)
    false = ev.detections[~ev.detections["matched"].astype(bool)]
    false = false.sort_values("side", ascending=False)
    picks = [(r, f"missed: {r.label}") for r in missed.head(n).itertuples()]
    picks += [(r, f"false ({r.score:.2f})") for r in false.head(n).itertuples()]
    if not picks:
        return None
    fig, axes = plt.subplots(1, len(picks), figsize=(1.3 * len(picks), 1.7), squeeze=False)
    for ax, (r, caption) in zip(axes[0], picks):
        rgb = by_name[r.scene].rgb()
        x0, y0 = max(0, int(r.x0)), max(0, int(r.y0))
        ax.imshow(rgb[y0 : max(y0 + 1, int(r.y1)), x0 : max(x0 + 1, int(r.x1))])
        ax.set_title(caption, fontsize=7)
        ax.axis("off")
    fig.suptitle(title)
    return fig


def masked_gap_text(s: dict, aim: float = 0.10) -> str:
    """How much less often masked faces are found than unmasked ones, against the aim."""
    m, u = (s["recall_masked_vs_unmasked"][g]["value"] for g in ("masked", "unmasked"))
    if m is None or u is None:
        return "Masked vs unmasked recall: not both present in these scenes."
    gap = u - m
    verdict = "within" if gap <= aim else f"short of it by {gap - aim:.3f}"
    return (
        f"Masked faces are found {fmt.num(m)} of the time, unmasked {fmt.num(u)}: a gap of "
        f"{gap:.3f}, {verdict} the aim of {aim:.2f}."
    )
