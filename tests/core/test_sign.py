"""The one rule verdicts use: an interval above, below or holding 0."""

from maskutils.core.stats import sign


def test_sign_of_an_interval():
    assert sign({"ci_low": 0.01, "ci_high": 0.2}) == 1
    assert sign({"ci_low": -0.2, "ci_high": -0.01}) == -1
    assert sign({"ci_low": -0.1, "ci_high": 0.1}) == 0
    assert sign({"ci_low": None, "ci_high": 0.1}) is None
