"""Where every value of the model card comes from: a metrics file (reports/metrics/NAME.json) or a
params file (params/NAME.yaml), read here, formatted by `core.fmt`, and handed to the templates as
a `Value` that names its file and path; it shows as (templates/card/macros.html.j2, `value`)

    <span class="v" data-src="train.json:models.transfer.macro_f1" data-fmt="ci">0.953 [...]</span>

so a test can resolve each shown value in its file and compare. Path segments are joined by "."; a
"." or "%" inside a key is written %2E / %25. A missing file or key raises `Missing`, which the
card shows as "not run" or "not available" instead of a number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from maskutils.core import fmt
from maskutils.publish import render


class Missing(KeyError):
    """A file or key the card wanted is absent; str() says which, for the reader."""

    def __str__(self) -> str:
        return str(self.args[0])


#: data-fmt -> how the value is shown; digits is the number of decimals where it applies.
FORMATS = {
    "num": lambda v, digits: fmt.num(v, digits),
    "ci": lambda v, digits: fmt.ci(v, digits=digits),
    "pct": lambda v, digits: fmt.num(float(v) * 100, digits) + "%",  # 0.95 -> 95%
    "mean": lambda v, digits: fmt.ci(v["mean"], v["ci_low"], v["ci_high"], digits),
    "raw": lambda v, digits: str(v),  # a float of a params file as written (0.0003)
}
DIGITS = {"num": 3, "ci": 3, "pct": 0, "mean": 3, "raw": 0}


@dataclass(frozen=True)
class Value:
    """A value as the card shows it (`shown`), with its source: `src` is "file:path", `fmt` how it
    was formatted ("key" for a key), `digits` its decimals where they differ from DIGITS[fmt]."""

    src: str
    fmt: str
    shown: str
    digits: int | None = None

    def __html__(self) -> str:
        return render.macro("card/macros.html.j2", "value")(self)


def encode(path) -> str:
    return ".".join(str(p).replace("%", "%25").replace(".", "%2E") for p in path)


def resolve(doc, path):
    """doc[path[0]][path[1]]...; list items by index. KeyError/IndexError/TypeError when absent."""
    for p in path:
        doc = doc[int(p)] if isinstance(doc, list) else doc[p]
    return doc


class Sources:
    """The metrics and params files of one card, each read once (None: missing or unreadable)."""

    def __init__(self, reports_dir: Path, params_dir: Path):
        self.dirs = {".json": Path(reports_dir) / "metrics", ".yaml": Path(params_dir)}
        self.docs: dict[str, object] = {}
        self.problems: dict[str, str] = {}  # file -> why it could not be read

    def path(self, name: str) -> Path:
        return self.dirs[Path(name).suffix] / name

    @staticmethod
    def label(name: str) -> str:
        """How the page names a file: metrics/NAME.json or params/NAME.yaml (never the folders
        given, which may hold digits no source explains)."""
        return f"{'metrics' if name.endswith('.json') else 'params'}/{name}"

    def doc(self, name: str):
        if name not in self.docs:
            self.docs[name] = None
            path = self.path(name)
            if path.is_file():
                try:
                    text = path.read_text(encoding="utf-8")
                    self.docs[name] = (
                        json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
                    )
                except (OSError, ValueError, yaml.YAMLError) as exc:
                    self.problems[name] = f"unreadable ({type(exc).__name__})"
        return self.docs[name]

    def ran(self, name: str) -> bool:
        return self.doc(name) is not None

    def get(self, name: str, *path):
        doc = self.doc(name)
        if doc is None:
            raise Missing(f"{self.label(name)}: {self.problems.get(name, 'not found')}")
        try:
            return resolve(doc, path)
        except (KeyError, IndexError, TypeError, ValueError):
            raise Missing(f"{name} has no {encode(path)}") from None

    def has(self, name: str, *path) -> bool:
        try:
            return self.get(name, *path) is not None
        except Missing:
            return False

    def keys(self, name: str, *path) -> list[str]:
        value = self.get(name, *path)
        if not isinstance(value, dict):
            raise Missing(f"{name}: {encode(path)} is not a table")
        return list(value)

    def v(self, name: str, *path, fmt: str = "num", digits: int | None = None) -> Value:
        """The value at `path` of file `name`, formatted and tagged with its source."""
        value = self.get(name, *path)
        digits = DIGITS[fmt] if digits is None else digits
        shown = FORMATS[fmt](value, digits)
        return Value(
            f"{name}:{encode(path)}", fmt, shown, digits if digits != DIGITS[fmt] else None
        )

    def key(self, name: str, *path) -> Value:
        """The last key of `path` (a group, a class, a model's kind), tagged: it must exist."""
        self.get(name, *path)
        return Value(f"{name}:{encode(path)}", "key", str(path[-1]))
