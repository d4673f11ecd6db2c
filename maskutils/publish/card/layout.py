"""The card's building blocks: tables, notes, and `part`, which shows a block whose file or key is
missing as "not run" / "not available" instead of breaking the page."""

from __future__ import annotations

import html
from typing import Callable

from maskutils.publish.card.source import Missing, Sources


def e(text) -> str:
    return html.escape(str(text), quote=True)


def table(head: list[str], rows: list[list[str]]) -> str:
    """A table of ready HTML cells; `head` is plain text."""
    th = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def facts(rows: list[tuple[str, str]]) -> str:
    """A two-column table: plain-text label, HTML value."""
    return (
        "<table>" + "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"
    )


def note(text: str) -> str:
    return f'<p class="note">{text}</p>'


def not_run(s: Sources, name: str) -> str:
    """'not run' for a missing file, or why it could not be read."""
    why = s.problems.get(name)
    if why:
        return note(f"not available: <code>{e(s.label(name))}</code> is {e(why)}")
    return note(f"not run: no <code>{e(s.label(name))}</code>")


def part(s: Sources, fn: Callable[[Sources], str], *files: str) -> str:
    """fn(s), or a note naming what is missing: the first of `files` not run, else the key."""
    for name in files:
        if not s.ran(name):
            return not_run(s, name)
    try:
        return fn(s)
    except Missing as exc:
        return note(f"not available: {e(exc)} (written by older code?)")


def inline(s: Sources, fn: Callable[[Sources], str], default: str = "not available") -> str:
    """fn(s), or `default` when a file or key it reads is missing (for a phrase in a sentence)."""
    try:
        return fn(s)
    except Missing:
        return default


WORDS = {"accuracy": "accuracy", "macro_f1": "macro-F1"}
PREFIXES = (("recall_", "recall of "), ("f1_", "F1 of "), ("miss_rate_", "miss rate of "))


def label(s: Sources, name: str, classes: tuple, *at, value: bool = False) -> str:
    """The metric whose key ends `at` (with `value`: the metric named by the value at `at`) in
    words; its class (recall_n95, f1_cloth) tagged from the file's class list at `classes`, any
    other metric tagged as it is."""
    metric = s.get(name, *at) if value else at[-1]
    if metric in WORDS:
        return WORDS[metric]
    names = s.get(name, *classes)
    for prefix, text in PREFIXES:
        if metric.startswith(prefix) and metric[len(prefix) :] in names:
            return text + s.v(name, *classes, names.index(metric[len(prefix) :]))
    return s.v(name, *at) if value else s.key(name, *at)


def metric_order(classes: list[str]):
    """Sort key of metric names: accuracy, macro-F1, then per class in the classes' order."""
    known = ["accuracy", "macro_f1"] + [f"{p}{c}" for p, _ in PREFIXES for c in classes]
    return lambda m: known.index(m) if m in known else len(known)
