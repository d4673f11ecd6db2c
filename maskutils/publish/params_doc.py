"""docs/params.md, generated from every stage's params rows (`maskutils params-doc` writes it; a
test fails when the committed file is stale)."""

from __future__ import annotations

from pathlib import Path

from maskutils.stages import STAGES

HEADER = """# Parameters

Generated from the params rows in `maskutils` (`maskutils/prepare/params.py`,
`maskutils/modeling/params.py`, `maskutils/stages/*/params.py`) by `maskutils params-doc`; do
not edit by hand. Each stage reads `params/<stage>.yaml`; `maskutils profile NAME...` writes those
files from the defaults below and the profiles in `params/profiles/`. A key left out takes its
default; an unknown key, a wrong type or a value outside the allowed set is an error that names
the file and the key.
"""


def markdown() -> str:
    parts = [HEADER]
    for stage in STAGES:
        parts.append(f"## `params/{stage.name}.yaml` ({stage.title.lower()})\n")
        parts.append(stage.schema.markdown() + "\n")
    return "\n".join(parts)


def write(path: str | Path = "docs/params.md") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(), encoding="utf-8")
    return path
