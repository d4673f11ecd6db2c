"""Numbers for readers: one formatter for values and "value [low, high]" intervals."""

from __future__ import annotations

import math


def num(x, digits: int = 3) -> str:
    """'n/a' for None or NaN, yes/no for booleans, ints with thousands separators, floats to
    `digits` decimals, anything else as text."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def ci(value, low=None, high=None, digits: int = 3) -> str:
    """'0.977 [0.958, 0.992]'; the value alone when the interval is unknown; 'n/a' without one.
    `value` may be an interval dict ({"value", "ci_low", "ci_high"}, or "ci": [low, high])."""
    if isinstance(value, dict):
        d = value
        low, high = d.get("ci") or (d.get("ci_low"), d.get("ci_high"))
        value = d.get("value")
    text = num(value, digits)
    if text == "n/a" or num(low) == "n/a" or num(high) == "n/a":
        return text
    return f"{text} [{num(float(low), digits)}, {num(float(high), digits)}]"
