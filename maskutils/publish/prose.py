"""Figures in prose, checked against the records they quote.

A figure in README.md, docs/*.md or a notebook's markdown that states a result is followed by a
marker naming the JSON file and the key it comes from:

    macro-F1 0.976<!-- reports/metrics/train.json: models/transfer/macro_f1/value -->
    narrowed in 10/10<!-- benchmarks/results/bias_power.json: summary/.../k -->
    in 80%<!-- benchmarks/results/x.json: summary/rate -->      (a share printed as a percent)

The key is a path of `/`-separated keys (list items by index; a key may hold spaces, as the
benchmark records' arm names do). The figure must equal the value rounded to the decimals it is
printed with; a figure followed by `%` is the value times 100. The markers are HTML comments, so
they do not show when the Markdown is rendered. `check` lists every figure that differs, and
every marker whose file or key is missing, with file and line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

MARKER = re.compile(
    r"(?P<num>[+-]?\d[\d,]*(?:\.\d+)?)(?P<pct>%?)\s*<!--\s*(?P<file>[\w./-]+\.json)\s*:\s*"
    r"(?P<path>[^\s>](?:[^>]*?[^\s>])?)\s*-->"
)


def sources(root: Path) -> list[tuple[str, list[str]]]:
    """(name, lines) of every text the check reads: README.md, docs/*.md, notebook markdown."""
    out = [("README.md", (root / "README.md").read_text().splitlines())]
    out += [
        (str(p.relative_to(root)), p.read_text().splitlines())
        for p in sorted((root / "docs").glob("*.md"))
    ]
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        for k, cell in enumerate(cells):
            if cell["cell_type"] == "markdown":
                text = "".join(cell["source"])
                out.append((f"{nb.relative_to(root)} (cell {k})", text.splitlines()))
    return out


def lookup(doc, path: str):
    for part in path.split("/"):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def figure_matches(printed: str, pct: bool, value) -> bool:
    """Whether `printed` is `value` at the decimals it is printed with (a percent: value x 100)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    number = float(printed.replace(",", ""))
    value = value * 100 if pct else value
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return f"{abs(number):.{decimals}f}" == f"{abs(round(value, decimals)):.{decimals}f}" and (
        (number < 0) == (round(value, decimals) < 0) or round(value, decimals) == 0
    )


def check(root: Path) -> tuple[int, list[str]]:
    """(markers read, problems): each figure that differs from its record, each marker whose file
    or key is missing, named by text and line."""
    cache, problems, n = {}, [], 0
    for name, lines in sources(root):
        for i, line in enumerate(lines, 1):
            for m in MARKER.finditer(line):
                n += 1
                where = f"{name}:{i}: {m.group(0)}"
                path = root / m["file"]
                if m["file"] not in cache:
                    cache[m["file"]] = json.loads(path.read_text()) if path.is_file() else None
                if cache[m["file"]] is None:
                    problems.append(f"{where}: {m['file']} not found")
                    continue
                try:
                    value = lookup(cache[m["file"]], m["path"])
                except (KeyError, IndexError, ValueError, TypeError):
                    problems.append(f"{where}: {m['file']} has no {m['path']}")
                    continue
                if not figure_matches(m["num"], bool(m["pct"]), value):
                    problems.append(f"{where}: the record says {value}")
    return n, problems
