"""dvc.yaml, written from the stage declarations (`maskutils.stages.STAGES`): `maskutils dvc-yaml`
writes it, and a test fails when the committed file differs from what the declarations give.
After the stages come the two pages that read every stage's results: the model card and the
index. Plain text rather than a YAML dump, so that each stage keeps its one comment."""

from __future__ import annotations

import json

from maskutils.stages import REPORTED, STAGES, Stage

HEADER = """\
# Written by `maskutils dvc-yaml` from the stage declarations (maskutils/stages/__init__.py): edit
# those, not this file; a test fails when the two differ. Every notebook stage is one command,
# `maskutils stage NAME`: its params checked, notebooks/NN_NAME.ipynb run by papermill with
# params/NAME.yaml, then rendered to reports/NN_NAME.html. Deps are the maskutils folders the
# stage's code lives in (docs/architecture.md), the few files that render its report (not the card
# or the index) and the data it reads. Each stage tracks its own params file whole: a mistyped key
# re-runs the stage, which then fails naming the key. data/ and models/ are DVC-cached (dvc push /
# pull: docs/remote.md); reports and metrics are plain files committed to git (cache: false).
"""
#: what the card and the index read besides the metrics: the stages' declarations and the
#: headlines and verdicts their report modules compute
PAGE_CODE = ("maskutils/core", "maskutils/publish", "maskutils/stages", "params")
NOT_CACHED = "{cache: false}"


def _list(key: str, items: list[str], indent: int = 4) -> list[str]:
    pad = " " * indent
    return [f"{pad}{key}:", *(f"{pad}  - {item}" for item in items)]


def command(st: Stage) -> str:
    if st.notebook:
        return f"maskutils stage {st.name}"
    return f"maskutils {st.name} --params params/{st.name}.yaml --out {st.writes[0]}"


#: what every notebook stage's run is called through (docs/architecture.md, a stage's contract),
#: and the declarations that name its inputs and its headline keys
CONTRACT = ("maskutils/stages/contract.py", "maskutils/stages/__init__.py")


def deps(st: Stage) -> list[str]:
    """Its code, the schemas of the other stages' params it reads, its notebook and its data."""
    also = [f"maskutils/stages/{name}/params.py" for name, _ in st.params_also]
    own = [f"maskutils/stages/{st.name}", *CONTRACT, *also, f"notebooks/{st.notebook}.ipynb"]
    own = own if st.notebook else []
    return ["maskutils/core", *(f"maskutils/{c}" for c in st.code), *own, *st.reads]


def params(st: Stage) -> list[str]:
    out = [f"params/{st.name}.yaml:"]
    for stage, keys in st.params_also:
        out.append(f"params/{stage}.yaml:" + (f" [{', '.join(keys)}]" if keys else ""))
    return out


def outs(st: Stage) -> list[str]:
    """Its data (cached), its report and its full metrics file (plain files in git)."""
    out = [f"{w}: {{persist: true}}" if w in st.keeps else w for w in st.writes]
    files = [f"reports/{st.report}", st.metrics] if st.report else []
    return out + [f"{f}: {NOT_CACHED}" for f in files]


def stage_text(st: Stage) -> list[str]:
    """One stage. Its `metrics` are the few headline numbers (what `dvc metrics show` and `dvc
    exp show` print); the full metrics file is an output."""
    lines = [f"  {st.name}:"]
    lines += [f"    # {st.note}"] if st.note else []
    lines += [f"    cmd: {command(st)}"]
    lines += _list("deps", deps(st)) + _list("params", params(st)) + _list("outs", outs(st))
    if st.headline_file:
        lines += _list("metrics", [f"{st.headline_file}: {NOT_CACHED}"])
    return lines


def pages_text() -> list[str]:
    metrics = [st.metrics for st in REPORTED]
    card = [
        "  card:",
        "    # every number of the card is read from these files (maskutils/publish/card)",
        "    cmd: maskutils card --reports reports --params params --out reports/model_card.html",
        *_list("deps", [*PAGE_CODE, *metrics]),
        *_list("outs", [f"reports/model_card.html: {NOT_CACHED}"]),
    ]
    pages = [f"reports/{st.report}" for st in REPORTED] + ["reports/model_card.html"]
    index = [
        "  index:",
        "    # the page also shows the git commit and date of the run that wrote it",
        "    cmd: maskutils index --reports reports --params params --out reports/index.html",
        *_list("deps", [*PAGE_CODE, *pages, *metrics]),
        *_list("outs", [f"reports/index.html: {NOT_CACHED}"]),
    ]
    return card + [""] + index


def plots_text() -> list[str]:
    lines = ["# `dvc plots show` draws these from the CSV files the stages write.", "plots:"]
    for st in STAGES:
        for title, spec in st.plots:
            lines.append(f"  - {title}: {json.dumps(spec)}")
    return lines


def text() -> str:
    """The whole dvc.yaml."""
    body = ["stages:"]
    for st in STAGES:
        body += stage_text(st) + [""]
    body += pages_text() + [""] + plots_text()
    return HEADER + "\n".join(body) + "\n"
