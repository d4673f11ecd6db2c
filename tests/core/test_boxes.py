import pytest

from maskutils.core.boxes import iou, iou_matrix


def test_iou_arithmetic():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0  # touching edges share no area
    assert iou((0, 0, 2, 1), (0, 0, 1, 1)) == 0.5
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 0, 10), (0, 0, 0, 10)) == 0.0  # empty boxes never match
    m = iou_matrix(
        [(0, 0, 10, 10), (20, 20, 30, 30)], [(0, 0, 10, 10), (0, 0, 5, 10), (100, 100, 110, 110)]
    )
    assert m.shape == (2, 3) and m[0, 1] == 0.5 and m[1].sum() == 0
    assert iou_matrix([], [(0, 0, 1, 1)]).shape == (0, 1)
