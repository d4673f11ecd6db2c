"""Average precision of a face detector over many scenes, as Pascal VOC 2010+ computes it.

Every detection of every scene is taken in descending score order (ties: scene order, then the
detection's order in its scene). A detection is a true positive when the annotated face it
overlaps most in its scene has IoU >= `iou_threshold` (0.5; VOCevaldet's `ovmax >= minoverlap`)
and has not been claimed by a higher-scored detection; otherwise (including when that face is
already claimed) it is a false positive. The precision-recall curve follows detection by
detection; AP is the area under its precision envelope (the maximum precision at any recall at
least as high), summed over every point where recall changes: all-point interpolation, not the
VOC2007 11-point one. Boxes are x0, y0, x1, y1 in continuous pixels (no VOC "+1").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskutils.core.boxes import iou_matrix


@dataclass
class PRCurve:
    """One point per detection, in score order: score, tp (bool), recall, precision; n_faces."""

    scores: np.ndarray
    tp: np.ndarray
    recall: np.ndarray
    precision: np.ndarray
    n_faces: int

    def ap(self) -> float | None:
        """All-point interpolated AP; None when there is no annotated face."""
        return average_precision(self.recall, self.precision) if self.n_faces else None

    def recall_at_precision(self, min_precision: float) -> tuple[float, float | None]:
        """(highest recall over the points with precision >= min_precision, the score threshold
        giving it: keep detections scoring >= it); (0.0, None) when no point qualifies."""
        ok = np.flatnonzero(self.precision >= min_precision)
        if not len(ok) or not self.n_faces:
            return 0.0, None
        k = ok[np.argmax(self.recall[ok])]
        return float(self.recall[k]), float(self.scores[k])


def pr_curve(faces, detections, iou_threshold: float = 0.5) -> PRCurve:
    """The VOC precision-recall curve: faces is one N_i x 4 array per scene (annotated boxes),
    detections one M_i x 5 array per scene (x0, y0, x1, y1, score), in the same scene order."""
    if len(faces) != len(detections):
        raise ValueError(f"{len(faces)} scenes of faces but {len(detections)} of detections")
    rows = []  # (-score, scene, detection index)
    for s, d in enumerate(detections):
        d = np.asarray(d, dtype=float).reshape(-1, 5) if len(d) else np.zeros((0, 5))
        rows.extend((-d[j, 4], s, j) for j in range(len(d)))
    rows.sort()
    ious = [iou_matrix(f, d) for f, d in zip(faces, detections)]
    claimed = [np.zeros(len(f), dtype=bool) for f in faces]
    tp = np.zeros(len(rows), dtype=bool)
    for k, (_, s, j) in enumerate(rows):
        if ious[s].shape[0] == 0:
            continue
        i = int(np.argmax(ious[s][:, j]))  # first face of the highest IoU
        if ious[s][i, j] >= iou_threshold and not claimed[s][i]:
            claimed[s][i] = tp[k] = True
    n_faces = int(sum(len(f) for f in faces))
    ctp, cfp = np.cumsum(tp), np.cumsum(~tp)
    recall = ctp / n_faces if n_faces else np.zeros(len(rows))
    precision = ctp / np.maximum(ctp + cfp, 1)
    return PRCurve(np.array([-r[0] for r in rows], dtype=float), tp, recall, precision, n_faces)


def average_precision(recall, precision) -> float:
    """Area under the precision envelope of a PR curve (VOC2010+ all-point interpolation)."""
    mrec = np.concatenate([[0.0], np.asarray(recall, float), [1.0]])
    mpre = np.concatenate([[0.0], np.asarray(precision, float), [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    step = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[step + 1] - mrec[step]) * mpre[step + 1]))
