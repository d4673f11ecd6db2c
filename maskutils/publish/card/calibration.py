"""The card's calibration section: how far the studied model's confidence can be trusted, read
from reports/metrics/calibration.json."""

from __future__ import annotations

from maskutils.core.stats import sign
from maskutils.publish.card.source import Sources

C = "calibration.json"

#: What temperature scaling did, by the sign of the change in ECE (None: unknown).
VERDICTS = {
    -1: "lowered the calibration error on the test split",
    1: "raised the calibration error on the test split",
    0: "did not change the calibration error on the test split beyond its interval",
    None: "has no known effect on the calibration error",
}


def calibration(s: Sources) -> dict:
    t = ("test",)
    found = {
        "temperature": s.v(C, "temperature"),
        "ece": [s.v(C, *t, k, "ece", fmt="ci") for k in ("before", "after", "change_after")],
        "brier": [s.v(C, *t, k, "brier", fmt="ci") for k in ("before", "after")],
        "out_of_fold": None,
        "groups": [],
    }
    if s.get(C, "out_of_fold"):
        found["out_of_fold"] = s.v(C, "out_of_fold", "before", "ece", fmt="ci")
    for a in s.keys(C, "groups"):
        judged = [g for g in s.keys(C, "groups", a) if s.get(C, "groups", a, g, "judged")]
        if judged:
            at = [("groups", a, g) for g in judged]
            ece = [(s.key(C, *g), s.v(C, *g, "before", "ece", fmt="ci")) for g in at]
            found["groups"].append((a, ece))
    found["verdict"] = VERDICTS[sign(s.get(C, *t, "change_after", "ece"))]
    return found
