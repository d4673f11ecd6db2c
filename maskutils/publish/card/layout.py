"""The card's blocks as data: `part`, which turns a block whose file or key is missing into a
`Gap` the page shows as "not run" / "not available" instead of breaking, `maybe` for a phrase,
and the words of a metric's name; templates/card/macros.html.j2 lays them out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from maskutils.publish.card.source import Missing, Sources, Value


@dataclass(frozen=True)
class Gap:
    """Why a part shows no numbers: `file` (its label) not run, or unreadable (`why`); without a
    file, a key missing (`why`: which)."""

    file: str | None
    why: str | None = None


@dataclass(frozen=True)
class Part:
    """A block of the card: its data, or the gap that stands in for it."""

    data: Any = None
    gap: Gap | None = None


def part(s: Sources, fn: Callable[[Sources], Any], *files: str) -> Part:
    """fn(s), or the gap naming what is missing: the first of `files` not run, else the key."""
    for name in files:
        if not s.ran(name):
            return Part(gap=Gap(s.label(name), s.problems.get(name)))
    try:
        return Part(fn(s))
    except Missing as exc:
        return Part(gap=Gap(None, str(exc)))


def maybe(s: Sources, fn: Callable[[Sources], Any]) -> Any:
    """fn(s), or None when a file or key it reads is missing (for a phrase in a sentence)."""
    try:
        return fn(s)
    except Missing:
        return None


#: A phrase: plain words and tagged values, shown one after the other (macros.html.j2, `show`).
Phrase = list[str | Value]

WORDS = {"accuracy": "accuracy", "macro_f1": "macro-F1"}
PREFIXES = (("recall_", "recall of "), ("f1_", "F1 of "), ("miss_rate_", "miss rate of "))


def label(s: Sources, name: str, classes: tuple, *at, value: bool = False) -> Phrase:
    """The metric whose key ends `at` (with `value`: the metric named by the value at `at`) in
    words; its class (recall_n95, f1_cloth) tagged from the file's class list at `classes`, any
    other metric tagged as it is."""
    metric = s.get(name, *at) if value else at[-1]
    if metric in WORDS:
        return [WORDS[metric]]
    names = s.get(name, *classes)
    for prefix, text in PREFIXES:
        if metric.startswith(prefix) and metric[len(prefix) :] in names:
            return [text, s.v(name, *classes, names.index(metric[len(prefix) :]))]
    return [s.v(name, *at) if value else s.key(name, *at)]


def metric_order(classes: list[str]):
    """Sort key of metric names: accuracy, macro-F1, then per class in the classes' order."""
    known = ["accuracy", "macro_f1"] + [f"{p}{c}" for p, _ in PREFIXES for c in classes]
    return lambda m: known.index(m) if m in known else len(known)
