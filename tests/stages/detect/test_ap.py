"""VOC average precision and the precision-recall curve on hand-made cases with known answers."""

import numpy as np
import pytest

from maskutils.core.boxes import iou_matrix
from maskutils.stages.detect.ap import average_precision, pr_curve

A, B = (0, 0, 10, 10), (20, 0, 30, 10)


def det(box, score):
    return [*box, score]


def test_perfect_detections_give_ap_one():
    c = pr_curve([np.array([A, B])], [np.array([det(A, 0.9), det(B, 0.8)])])
    assert c.ap() == 1.0 and c.tp.tolist() == [True, True]
    assert c.recall.tolist() == [0.5, 1.0] and c.precision.tolist() == [1.0, 1.0]


def test_false_positive_between_hits_uses_the_precision_envelope():
    # TP 0.9, FP 0.8, TP 0.7: recall .5 .5 1, precision 1 .5 2/3 -> AP = .5 * 1 + .5 * 2/3
    c = pr_curve(
        [np.array([A, B])], [np.array([det(A, 0.9), det((50, 50, 60, 60), 0.8), det(B, 0.7)])]
    )
    assert c.tp.tolist() == [True, False, True]
    assert c.ap() == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert c.recall_at_precision(0.9) == (0.5, 0.9)
    assert c.recall_at_precision(0.6) == (1.0, 0.7)
    assert c.recall_at_precision(1.01) == (0.0, None)


def test_false_positive_first_and_missed_faces():
    assert pr_curve([np.array([A])], [np.array([det(B, 0.9), det(A, 0.8)])]).ap() == 0.5
    assert pr_curve([np.array([A, B])], [np.array([det(A, 0.9)])]).ap() == 0.5
    assert pr_curve([np.array([A])], [np.zeros((0, 5))]).ap() == 0.0


def test_a_duplicate_is_a_false_positive_even_if_another_face_overlaps_less():
    # the second detection overlaps A most (claimed) and B enough: VOC does not fall back to B
    a, b = (0, 0, 10, 10), (2, 0, 12, 10)
    d2 = (0.5, 0, 10.5, 10)  # IoU .90 with a, .74 with b
    ious = iou_matrix([a, b], [d2])[:, 0]
    assert ious[0] > ious[1] >= 0.5
    c = pr_curve([np.array([a, b])], [np.array([det(a, 0.9), det(d2, 0.8)])])
    assert c.tp.tolist() == [True, False]


def test_iou_exactly_at_the_threshold_counts():
    half = (0, 0, 10, 20)  # IoU with A is 100 / 200
    assert pr_curve([np.array([half])], [np.array([det(A, 0.5)])]).tp.tolist() == [True]
    assert pr_curve([np.array([half])], [np.array([det(A, 0.5)])], 0.51).tp.tolist() == [False]


def test_detections_are_ranked_over_all_scenes_and_empty_scenes_count():
    faces = [np.array([A]), np.zeros((0, 4)), np.array([B])]
    dets = [np.array([det(A, 0.3)]), np.array([det(A, 0.9)]), np.array([det(B, 0.6)])]
    c = pr_curve(faces, dets)
    assert c.scores.tolist() == [0.9, 0.6, 0.3] and c.tp.tolist() == [False, True, True]
    assert c.ap() == pytest.approx(2 / 3)  # the envelope lifts precision at recall .5 to 2/3
    assert pr_curve([np.zeros((0, 4))], [np.array([det(A, 1.0)])]).ap() is None
    with pytest.raises(ValueError):
        pr_curve(faces, dets[:2])


def test_average_precision_of_raw_curves():
    assert average_precision([], []) == 0.0
    curve = [0.2, 0.4, 0.4, 0.8], [1.0, 0.5, 0.4, 0.8]
    assert average_precision(*curve) == pytest.approx(0.2 + 0.6 * 0.8)
    assert average_precision([1.0], [0.25]) == 0.25
