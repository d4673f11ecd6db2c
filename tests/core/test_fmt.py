from maskutils.core import fmt


def test_numbers():
    assert fmt.num(1500) == "1,500" and fmt.num(0.5) == "0.500" and fmt.num(True) == "yes"
    assert fmt.num(None) == "n/a" and fmt.num(float("nan")) == "n/a" and fmt.num("x") == "x"


def test_intervals_from_values_and_dicts():
    assert fmt.ci(0.976514, 0.95804, 0.992357) == "0.977 [0.958, 0.992]"
    assert fmt.ci({"value": 0.5, "ci_low": 0.4, "ci_high": 0.6}) == "0.500 [0.400, 0.600]"
    assert fmt.ci({"value": 0.5, "ci": [0.4, 0.6]}, digits=2) == "0.50 [0.40, 0.60]"
    assert fmt.ci({"value": 0.5, "ci_low": None, "ci_high": None}) == "0.500"
    assert fmt.ci({"value": None, "ci_low": 0.1, "ci_high": 0.2}) == "n/a"
