"""The card's calibration section: how far the studied model's confidence can be trusted, read
from reports/metrics/calibration.json."""

from __future__ import annotations

from maskutils.core.stats import sign
from maskutils.publish.card.layout import facts, note
from maskutils.publish.card.source import Sources

C = "calibration.json"


def calibration(s: Sources) -> str:
    t = ("test",)
    rows = [
        ("temperature, fitted on the validation split", s.v(C, "temperature")),
        (
            "test ECE, raw -> scaled (change)",
            f"{s.v(C, *t, 'before', 'ece', fmt='ci')} -> {s.v(C, *t, 'after', 'ece', fmt='ci')} "
            f"({s.v(C, *t, 'change_after', 'ece', fmt='ci')})",
        ),
        (
            "test Brier score, raw -> scaled",
            f"{s.v(C, *t, 'before', 'brier', fmt='ci')} -> "
            f"{s.v(C, *t, 'after', 'brier', fmt='ci')}",
        ),
    ]
    if s.get(C, "out_of_fold"):
        rows.append(("out-of-fold ECE, raw", s.v(C, "out_of_fold", "before", "ece", fmt="ci")))
    for a in s.keys(C, "groups"):
        judged = [g for g in s.keys(C, "groups", a) if s.get(C, "groups", a, g, "judged")]
        if judged:
            rows.append(
                (
                    f"test ECE by {a}, raw",
                    ", ".join(
                        f"{s.key(C, *at)} {s.v(C, *at, 'before', 'ece', fmt='ci')}"
                        for at in (("groups", a, g) for g in judged)
                    ),
                )
            )
    word = {
        -1: "lowered the calibration error on the test split",
        1: "raised the calibration error on the test split",
        0: "did not change the calibration error on the test split beyond its interval",
        None: "has no known effect on the calibration error",
    }[sign(s.get(C, *t, "change_after", "ece"))]
    return facts(rows) + note(
        f"Verdict, read from these figures: temperature scaling {word}. A confidence is the "
        "largest class probability; read it as a probability only as far as the ECE allows."
    )
