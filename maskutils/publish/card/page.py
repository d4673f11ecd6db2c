"""The model card page: the sections of Mitchell et al. 2019 in their order, in the index page's
style, written as one self-contained offline HTML file (templates/card/page.html.j2).

    maskutils card [--reports reports] [--params params] [--out reports/model_card.html]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from maskutils.publish import render as templates
from maskutils.publish.card import about, analyses, data, ethics
from maskutils.publish.card.layout import maybe
from maskutils.publish.card.source import Sources
from maskutils.publish.html import offline_problems
from maskutils.stages import REPORTED

#: (title, function): each section's data, shown by templates/card/<function's name>.html.j2.
SECTIONS = [
    ("Model details", about.model_details),
    ("Intended use", about.intended_use),
    ("Factors", about.factors),
    ("Metrics", about.metrics),
    ("Evaluation data", data.evaluation_data),
    ("Training data", data.training_data),
    ("Quantitative analyses", analyses.analyses),
    ("Ethical considerations", ethics.ethics),
    ("Caveats and recommendations", ethics.caveats),
]
#: The files the card reads, in the order the sources table lists them.
FILES = [f"{stage.name}.json" for stage in REPORTED]  # every stage with a report, in order
FILES += [f"{n}.yaml" for n in ("prepare", "train", "kfold", "bias")]


def render(s: Sources, index: str = "index.html") -> str:
    """The card as one HTML string (inline CSS, no scripts, nothing remote); `index`: the link to
    the reports index."""
    name = maybe(s, lambda s: s.v("train.json", "models", about.study(s), "name"))
    sections = [(title, f"card/{fn.__name__}.html.j2", fn(s)) for title, fn in SECTIONS]
    return templates.render(
        "card/page.html.j2",
        name="the studied model" if name is None else name,
        index=index,
        sections=sections,
        sources=sources(s),
    )


def sources(s: Sources) -> list[tuple[str, str]]:
    """(file, status) of each file the card reads: read, or why not."""
    rows = []
    for name in FILES:
        missing = "not run" if name.endswith(".json") else "not found"
        rows.append((s.label(name), "read" if s.ran(name) else s.problems.get(name, missing)))
    return rows


def write_card(reports_dir: Path, params_dir: Path, out: Path) -> Path:
    """Write the model card from reports_dir/metrics/*.json and params_dir/*.yaml to `out`."""
    out = Path(out)
    index = os.path.relpath(Path(reports_dir).resolve() / "index.html", out.parent.resolve())
    page = render(Sources(Path(reports_dir), Path(params_dir)), Path(index).as_posix())
    problems = offline_problems(page)
    if problems:
        raise ValueError(f"{out}: not a self-contained offline page: {problems[:3]}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of `maskutils card`."""
    parser.add_argument("--reports", default="reports", help="folder with metrics/*.json")
    parser.add_argument("--params", default="params", help="folder with the stages' params/*.yaml")
    parser.add_argument("--out", default="reports/model_card.html", help="page to write")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = add_arguments(
        argparse.ArgumentParser(prog="maskutils card", description=__doc__.split("\n\n")[0])
    ).parse_args(argv)
    out = write_card(Path(args.reports), Path(args.params), Path(args.out))
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
