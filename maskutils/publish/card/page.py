"""The model card page: the sections of Mitchell et al. 2019 in their order, in the index page's
style, written as one self-contained offline HTML file.

    maskutils card [--reports reports] [--params params] [--out reports/model_card.html]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from maskutils.publish.card import about, analyses, data, ethics
from maskutils.publish.card.layout import e, inline, table
from maskutils.publish.card.source import Sources
from maskutils.publish.html import offline_problems
from maskutils.publish.index import CSS
from maskutils.stages import REPORTED

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

CARD_CSS = """
h4{margin:1em 0 .3em}
.v{font-variant-numeric:tabular-nums}
.v:hover{background:#fff6c8}
"""


def render(s: Sources, index: str = "index.html") -> str:
    """The card as one HTML string (inline CSS, no scripts, nothing remote); `index`: the link to
    the reports index."""
    name = inline(
        s, lambda s: s.v("train.json", "models", about.study(s), "name"), "the studied model"
    )
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>maskstudy · model card</title>",
        f"<style>{CSS}{CARD_CSS}</style></head><body>",
        f"<h1>Model card: {name}</h1>",
        '<p class="sub">Sections after Mitchell et al. 2019, "Model Cards for Model Reporting". '
        "Every number here is read from <code>reports/metrics/*.json</code> or "
        "<code>params/*.yaml</code> when the card is built (hover a value to see its file and "
        'key); a part whose file is missing says "not run". '
        f'<a href="{e(index)}">All reports</a>.</p>',
    ]
    for k, (title, fn) in enumerate(SECTIONS, 1):
        out.append(f'<h2 id="s{k}">{k}. {e(title)}</h2>{fn(s)}')
    out.append("<h2>Sources</h2>" + sources(s))
    out.append("</body></html>\n")
    return "\n".join(out)


def sources(s: Sources) -> str:
    """Each file the card reads, and whether it was there."""
    rows = []
    for name in FILES:
        path = f"<code>{e(s.label(name))}</code>"
        missing = "not run" if name.endswith(".json") else "not found"
        status = "read" if s.ran(name) else s.problems.get(name, missing)
        rows.append([path, e(status)])
    return table(["file", "status"], rows)


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
