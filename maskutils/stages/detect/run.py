"""Measuring face detection + classification in scenes with annotated face boxes.

Matching: a detection and an annotated face match when their IoU is >= the threshold (0.5, as the
Pascal VOC devkit: `ov >= minoverlap`); pairs are taken greedily by descending IoU (ties: lower face
index, then lower detection index), each face and each detection at most once.

Size buckets: a box's side is sqrt(width x height); `buckets` are the edges, e.g. (16, 32, 64) gives
<16, 16-32, 32-64, >=64 px. Recall per bucket uses the annotated face's size; precision per
bucket the detection's own size (an unmatched detection has no face to take a size from).

Classification is scored on the binary task (mask vs no_mask, `labels.task_label`): any mask type
the model predicts counts as mask. VOC's mask_weared_incorrect (canonical `incorrect`) is, by
`incorrect`: 'exclude' (default; left out of accuracy, still counted for detection recall) or
'mask' (counted as mask). Every face is also classified from its annotated box ("oracle crop"), so
a report can tell detection misses from classification errors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from maskutils.core.boxes import box_side, iou_matrix
from maskutils.core.images import BadImage
from maskutils.core.labels import task_label
from maskutils.core.progress import note
from maskutils.core.stats import bootstrap_ratio, wilson
from maskutils.modeling import detectors
from maskutils.modeling.faces import FaceClassifier, draw, faces_from
from maskutils.prepare.sources.scenes import synthetic_scenes, voc_scenes
from maskutils.stages.contract import Inputs
from maskutils.stages.detect.ap import PRCurve, pr_curve

INCORRECT = ("exclude", "mask")
DEFAULT_BUCKETS = (16, 32, 64)


# ---- geometry and matching --------------------------------------------------------------------


def match(faces, detections, threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching: (face index, detection index, IoU) for pairs with IoU >=
    threshold."""
    ious = iou_matrix(faces, detections)
    pairs = [
        (-ious[i, j], i, j)
        for i in range(ious.shape[0])
        for j in range(ious.shape[1])
        if ious[i, j] >= threshold and ious[i, j] > 0
    ]
    used_f, used_d, out = set(), set(), []
    for neg, i, j in sorted(pairs):
        if i not in used_f and j not in used_d:
            used_f.add(i)
            used_d.add(j)
            out.append((i, j, -neg))
    return sorted(out)


def bucket_names(edges) -> list[str]:
    edges = [int(e) if float(e).is_integer() else float(e) for e in edges]
    if not edges:
        return ["all"]
    return [f"<{edges[0]}"] + [f"{a}-{b}" for a, b in zip(edges, edges[1:])] + [f">={edges[-1]}"]


def size_bucket(side, edges) -> list[str]:
    """The bucket name of each side length (see `bucket_names`)."""
    edges = list(edges)
    if sorted(edges) != edges or len(set(edges)) != len(edges):
        raise ValueError(f"size buckets must be increasing edges, got {edges}")
    names = bucket_names(edges)
    return [names[int(np.searchsorted(edges, s, side="right"))] for s in np.atleast_1d(side)]


# ---- the scenes ---------------------------------------------------------------------------


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


# ---- the evaluation ---------------------------------------------------------------------------


@dataclass
class DetectEval:
    faces: pd.DataFrame  # one row per annotated face
    detections: pd.DataFrame  # one row per detection
    scenes: pd.DataFrame  # one row per scene evaluated: name, file, n_faces, n_detections, seconds
    problems: list[dict]  # scenes that could not be read: file, reason
    settings: dict = field(default_factory=dict)
    classes: list[str] | None = None


def evaluate(
    scenes,
    model_path: str | Path | None = None,
    detector: dict | None = None,
    margin: float = 0.15,
    iou_threshold: float = 0.5,
    buckets=DEFAULT_BUCKETS,
    incorrect: str = "exclude",
    detect=None,
) -> DetectEval:
    """Detects faces in every scene, matches them to the annotated boxes, classifies detections and
    annotated boxes (oracle crops) with the model (none: detection only).

    `detect`: a callable rgb -> N x 4 or N x 5 boxes used instead of `detectors.make(detector)`
    (tests).
    """
    if incorrect not in INCORRECT:
        raise ValueError(f"incorrect must be one of {INCORRECT}, got {incorrect!r}")
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
    size_bucket([], buckets)  # validates the edges
    det = detect if detect is not None else detectors.make(detector)
    params = getattr(det, "params", detector)
    clf = FaceClassifier(model_path, margin) if model_path is not None else None
    face_rows, det_rows, scene_rows, problems = [], [], [], []
    for k, s in enumerate(scenes):
        if k and k % 50 == 0:
            note(f"{k} scenes evaluated")
        try:
            rgb = s.rgb()
        except (BadImage, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            problems.append({"file": str(s.file or s.name), "reason": str(exc)})
            continue
        t = time.perf_counter()
        boxes = _as_boxes(det(rgb))
        seconds = time.perf_counter() - t
        gt = np.asarray(s.boxes, dtype=float).reshape(-1, 4)
        pairs = match(gt, boxes[:, :4], iou_threshold)
        by_face = {i: (j, v) for i, j, v in pairs}
        by_det = {j: (i, v) for i, j, v in pairs}
        det_faces = (
            faces_from(boxes, clf.classify(rgb, boxes), clf.classes) if clf else [None] * len(boxes)
        )
        oracle = (
            faces_from(np.hstack([gt, np.zeros((len(gt), 1))]), clf.classify(rgb, gt), clf.classes)
            if clf
            else [None] * len(gt)
        )
        gt_side, det_side = box_side(gt), box_side(boxes[:, :4])
        for i, (box, label) in enumerate(zip(gt, s.labels)):
            j, v = by_face.get(i, (None, 0.0))
            face = {
                "scene": s.name,
                "face": i,
                "x0": box[0],
                "y0": box[1],
                "x1": box[2],
                "y1": box[3],
                "side": gt_side[i],
                "bucket": size_bucket([gt_side[i]], buckets)[0],
                "label": label,
                "label_binary": _binary_truth(label, incorrect),
                "matched": j is not None,
                "iou": v,
                "detection": -1 if j is None else j,
            }
            face.update(_prediction(det_faces[j] if j is not None else None, ""))
            face.update(_prediction(oracle[i], "oracle_"))
            face_rows.append(face)
        for j, box in enumerate(boxes):
            i, v = by_det.get(j, (None, 0.0))
            row = {
                "scene": s.name,
                "detection": j,
                "x0": box[0],
                "y0": box[1],
                "x1": box[2],
                "y1": box[3],
                "score": box[4],
                "side": det_side[j],
                "bucket": size_bucket([det_side[j]], buckets)[0],
                "matched": i is not None,
                "face": -1 if i is None else i,
                "iou": v,
            }
            row.update(_prediction(det_faces[j], ""))
            det_rows.append(row)
        scene_rows.append(
            {
                "scene": s.name,
                "file": str(s.file) if s.file else None,
                "width": rgb.shape[1],
                "height": rgb.shape[0],
                "n_faces": len(gt),
                "n_detections": len(boxes),
                "n_matched": len(pairs),
                "seconds": seconds,
            }
        )
    faces = pd.DataFrame(face_rows, columns=_FACE_COLUMNS)
    for col in ("correct", "oracle_correct"):
        pred = faces["pred_binary" if col == "correct" else "oracle_pred_binary"]
        ok = faces["label_binary"].notna() & pred.notna()
        faces[col] = pd.array([None] * len(faces), dtype="boolean")
        faces.loc[ok, col] = (faces.loc[ok, "label_binary"] == pred[ok]).astype(bool)
    settings = {
        "detector": dict(params) if isinstance(params, dict) else None,
        "margin": float(margin),
        "iou_threshold": float(iou_threshold),
        "buckets": [float(b) for b in buckets],
        "incorrect": incorrect,
        "model": str(model_path) if model_path is not None else None,
    }
    return DetectEval(
        faces,
        pd.DataFrame(det_rows, columns=_DET_COLUMNS),
        pd.DataFrame(scene_rows),
        problems,
        settings,
        clf.classes if clf else None,
    )


def _as_boxes(found) -> np.ndarray:
    """N x 5 (x0, y0, x1, y1, score) from a detector's N x 4 or N x 5 output (no score: NaN)."""
    b = np.asarray(found, dtype=float)
    if b.size == 0:
        return np.zeros((0, 5))
    b = b.reshape(len(b), -1)
    if b.shape[1] == 4:
        b = np.hstack([b, np.full((len(b), 1), np.nan)])
    return b[:, :5]


_PRED = ["pred", "pred_binary", "probability"]
_FACE_COLUMNS = (
    [
        "scene",
        "face",
        "x0",
        "y0",
        "x1",
        "y1",
        "side",
        "bucket",
        "label",
        "label_binary",
        "matched",
        "iou",
        "detection",
    ]
    + _PRED
    + ["oracle_" + c for c in _PRED]
)
_DET_COLUMNS = [
    "scene",
    "detection",
    "x0",
    "y0",
    "x1",
    "y1",
    "score",
    "side",
    "bucket",
    "matched",
    "face",
    "iou",
] + _PRED


def _binary_truth(label: str, incorrect: str) -> str | None:
    if label == "incorrect" and incorrect == "exclude":
        return None
    return task_label(label, "binary")


def _prediction(face: dict | None, prefix: str) -> dict:
    if face is None:
        return {prefix + "pred": None, prefix + "pred_binary": None, prefix + "probability": np.nan}
    return {
        prefix + "pred": face["class"],
        prefix + "pred_binary": task_label(face["class"], "binary"),
        prefix + "probability": face["probability"],
    }


# ---- summary ----------------------------------------------------------------------------------


def _ratio(k: int, n: int, ci) -> dict:
    return {"value": (k / n) if n else None, "k": int(k), "n": int(n), "ci": ci}


def evaluation_summary(
    ev: DetectEval, confidence: float = 0.95, reps: int = 1000, seed: int = 0
) -> dict:
    """Plain-JSON metrics for reports/metrics/detect.json.

    Intervals: with reps > 0, a percentile bootstrap over scenes (faces in one scene are not
    independent), seeded, so deterministic; with reps = 0, Wilson intervals over faces.
    """
    f, d = ev.faces, ev.detections
    scenes = list(ev.scenes["scene"]) if len(ev.scenes) else []

    def ratio(sub_k: pd.Series, sub_scene: pd.Series, key: int) -> dict:
        k, n = int(sub_k.sum()), int(len(sub_k))
        if reps > 0:
            kk = sub_k.groupby(sub_scene).sum().reindex(scenes, fill_value=0).to_numpy(float)
            nn = sub_k.groupby(sub_scene).size().reindex(scenes, fill_value=0).to_numpy(float)
            ci = bootstrap_ratio(kk, nn, reps, confidence, np.random.default_rng([seed, key]))
        else:
            ci = wilson(k, n, confidence)
        return _ratio(k, n, ci)

    counter = iter(range(10_000))
    out = {
        "n_scenes": len(ev.scenes),
        "n_faces": int(len(f)),
        "n_detections": int(len(d)),
        "n_unreadable": len(ev.problems),
        "settings": ev.settings,
        "classes": ev.classes,
        "interval": {
            "method": "scene_bootstrap" if reps > 0 else "wilson",
            "confidence": confidence,
            "reps": reps,
            "seed": seed,
        },
        "recall": ratio(f["matched"].astype(bool), f["scene"], next(counter)),
        "precision": ratio(d["matched"].astype(bool), d["scene"], next(counter)),
    }
    r, p = out["recall"]["value"], out["precision"]["value"]
    out["f1"] = (2 * r * p / (r + p)) if r is not None and p is not None and r + p > 0 else None
    names = bucket_names(ev.settings.get("buckets", DEFAULT_BUCKETS))
    out["by_size"] = {}
    for b in names:
        fb, db = f[f["bucket"] == b], d[d["bucket"] == b]
        out["by_size"][b] = {
            "recall": ratio(fb["matched"].astype(bool), fb["scene"], next(counter)),
            "precision": ratio(db["matched"].astype(bool), db["scene"], next(counter)),
        }
    out["recall_by_label"] = {}
    for lab in sorted(f["label"].unique()):
        fl = f[f["label"] == lab]
        out["recall_by_label"][lab] = ratio(fl["matched"].astype(bool), fl["scene"], next(counter))
    groups = f["label"].map(lambda x: "masked" if task_label(x, "binary") == "mask" else "unmasked")
    out["recall_masked_vs_unmasked"] = {
        g: ratio(
            f.loc[groups == g, "matched"].astype(bool), f.loc[groups == g, "scene"], next(counter)
        )
        for g in ("masked", "unmasked")
    }
    if ev.classes is not None:
        scored = f[f["label_binary"].notna()]
        m = scored[scored["matched"].astype(bool)]
        out["classification"] = {
            "task": "binary",
            "incorrect": ev.settings.get("incorrect"),
            "matched": ratio(m["correct"].astype(bool), m["scene"], next(counter)),
            "oracle_on_matched": ratio(m["oracle_correct"].astype(bool), m["scene"], next(counter)),
            "oracle_all": ratio(
                scored["oracle_correct"].astype(bool), scored["scene"], next(counter)
            ),
        }
        # every scored face ends in exactly one of these: the end-to-end split of errors
        n = len(scored)
        missed = int((~scored["matched"]).sum())
        right = int((scored["matched"] & scored["correct"].fillna(False).astype(bool)).sum())
        out["outcomes"] = {
            "n": n,
            "detected_correct": right,
            "detected_wrong": n - missed - right,
            "missed": missed,
        }
        same = [lab for lab in f["label"].unique() if lab in ev.classes]
        if same:
            fs = f[f["label"].isin(same)]
            ms = fs[fs["matched"]]
            out["classification"]["exact_class"] = {
                "matched": ratio(ms["pred"] == ms["label"], ms["scene"], next(counter)),
                "oracle_all": ratio(fs["oracle_pred"] == fs["label"], fs["scene"], next(counter)),
            }
    return out


def seconds_per_scene(ev: DetectEval) -> dict:
    """Detection and classification time per scene (kept out of the metrics file, which must not
    change between equal runs)."""
    secs = ev.scenes["seconds"] if len(ev.scenes) else pd.Series(dtype=float)
    return {
        "mean": float(secs.mean()) if len(secs) else None,
        "median": float(secs.median()) if len(secs) else None,
        "total": float(secs.sum()),
    }


# ---- the report gallery -----------------------------------------------------------------------


def gallery(
    scenes,
    model_path: str | Path,
    detector: dict | None = None,
    margin: float = 0.15,
    n: int = 6,
    detect=None,
) -> list[tuple[str, np.ndarray]]:
    """(scene name, annotated RGB array) for up to n scenes spread evenly over the list: the
    annotated
    boxes thin and white, the detections coloured by predicted class with probability."""
    scenes = list(scenes)
    if not scenes or n <= 0:
        return []
    picks = sorted(set(np.linspace(0, len(scenes) - 1, min(n, len(scenes))).round().astype(int)))
    det = detect if detect is not None else detectors.make(detector)
    clf = FaceClassifier(model_path, margin)
    out = []
    for k in picks:
        s = scenes[k]
        try:
            rgb = s.rgb()
        except (BadImage, FileNotFoundError, IsADirectoryError, PermissionError):
            continue
        boxes = _as_boxes(det(rgb))
        faces = faces_from(boxes, clf.classify(rgb, boxes), clf.classes)
        truth = [
            {"x0": b[0], "y0": b[1], "x1": b[2], "y1": b[3]}
            for b in np.asarray(s.boxes).reshape(-1, 4)
        ]
        out.append((s.name, draw(rgb, faces, truth)))
    return out


# ---- the stage: the detector of the params, and a second one side by side ---------------------


def boxes_by_scene(ev: DetectEval) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(annotated N_i x 4, detected M_i x 5 with scores) per evaluated scene, in scene order."""
    faces, dets = [], []
    for name in ev.scenes["scene"] if len(ev.scenes) else []:
        faces.append(ev.faces.loc[ev.faces["scene"] == name, ["x0", "y0", "x1", "y1"]].to_numpy())
        d = ev.detections[ev.detections["scene"] == name]
        dets.append(d[["x0", "y0", "x1", "y1", "score"]].to_numpy(float))
    return faces, dets


def curve(ev: DetectEval) -> PRCurve:
    """The VOC precision-recall curve of a detector over all its scenes."""
    faces, dets = boxes_by_scene(ev)
    return pr_curve(faces, dets, ev.settings["iou_threshold"])


@dataclass
class DetectRun:
    scenes: list
    problems: list[dict]  # scenes or boxes the source could not use
    evals: dict[str, DetectEval]  # detector kind -> its evaluation; the first is the stage's


def run(inputs: Inputs, params: dict) -> DetectRun:
    """Both detectors on the same scenes (`load_scenes`): `detector` (with classification by
    the studied model, models/study.pt) and, unless `compare` is none, the `compare` detector
    with the same size settings."""
    d, model_path = params, inputs.path("models/study.pt")
    scenes, problems = load_scenes(d)
    evals = {}
    kinds = [d["detector"]["kind"]] + ([d["compare"]] if d["compare"] != "none" else [])
    for kind in dict.fromkeys(kinds):
        note(f"detector {kind}: {len(scenes)} scenes")
        params = {**d["detector"], "kind": kind}
        evals[kind] = evaluate(
            scenes,
            model_path,
            params,
            d["margin"],
            d["iou_threshold"],
            d["buckets"],
            d["incorrect"],
        )
    return DetectRun(scenes, problems, evals)


def summary(r: DetectRun, params: dict) -> dict:
    """The metrics file: the stage's detector in full (`evaluation_summary`), plus its AP and
    the recall it keeps at precision >= 0.85, and each detector's headline numbers side by side."""
    d, out, side = params, None, {}
    for kind, ev in r.evals.items():
        s = evaluation_summary(ev, d["confidence"], d["bootstrap"], d["scenes"]["seed"])
        c = curve(ev)
        recall, score = c.recall_at_precision(0.85)
        s["ap"] = c.ap()
        s["recall_at_precision_0.85"] = {"recall": recall, "min_score": score}
        side[kind] = {k: s[k] for k in ("recall", "precision", "ap", "recall_at_precision_0.85")}
        side[kind]["recall_by_size"] = {b: v["recall"] for b, v in s["by_size"].items()}
        side[kind]["recall_masked_vs_unmasked"] = s["recall_masked_vs_unmasked"]
        out = out or s
    out["detectors"] = side
    return out
