"""reports/index.html: one self-contained page with every stage's headline numbers, a link to each
report and to the model card, the params used, and where and with what the results were made (git
commit, date, versions, device).

    maskutils index [--reports reports] [--params params] [--out reports/index.html]

Headline numbers come from reports/metrics/<stage>.json through `publish.headlines`. A stage
whose metrics file is missing shows "not run". A file its headline function cannot read (a key
missing, a type changed: a file from an older run, or a headline bug) never breaks the index, nor
hides: the stage is marked "headlines unreadable", the page names the error and the key, shows the
file's top-level scalar numbers instead, and `maskutils index` says so on stderr. A stage without
a headline function shows its top-level numbers ("unknown schema").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from maskutils.core import fmt
from maskutils.publish import render as templates
from maskutils.publish.headlines import (
    Headline,
    HeadlineError,
    generic_headlines,
    headline_function,
    stage_headlines,
)
from maskutils.publish.html import check_offline
from maskutils.publish.provenance import environment
from maskutils.stages import REPORTED, Stage


@dataclass
class StageSummary:
    stage: Stage
    # "ok", "not run", "unknown schema", "headlines unreadable", "unreadable", "no metrics"
    status: str
    rows: list[Headline]
    note: str = ""
    report: Path | None = None  # the report file, when it exists
    report_kb: float | None = None
    offline: list[str] | None = None  # check_offline problems of the report
    machine: dict | None = None  # the metrics file's provenance block (core.machine), if any


def summarize(stage: Stage, reports_dir: Path, params: dict) -> StageSummary:
    """One stage's headline rows from reports_dir/metrics/<stage>.json, never raising on bad
    input."""
    metrics_path = reports_dir / "metrics" / f"{stage.name}.json"
    report = reports_dir / stage.report
    has_report = report.is_file()
    s = StageSummary(stage, "ok", [])
    if has_report:
        s.report, s.report_kb = report, report.stat().st_size / 1024
        try:
            s.offline = check_offline(report)
        except (OSError, ValueError) as exc:  # pragma: no cover - unreadable file
            s.offline = [f"could not be checked: {exc}"]
    if not metrics_path.is_file():
        s.status = "no metrics" if has_report else "not run"
        return s
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        s.status, s.note = "unreadable", f"{metrics_path.name}: {exc}"
        return s
    if isinstance(metrics, dict) and isinstance(metrics.get("provenance"), dict):
        s.machine = metrics.pop("provenance")
    if headline_function(stage.name) is None:
        s.status, s.rows = "unknown schema", generic_headlines(metrics)
        s.note = "no headline function for this stage yet; showing top-level numbers"
        return s
    try:
        s.rows = stage_headlines(stage.name, metrics, params)
    except HeadlineError as exc:
        s.status, s.rows = "headlines unreadable", generic_headlines(metrics)
        s.note = (
            f"The headline numbers could not be read from {metrics_path.name} ({exc.reason}): "
            "a file from an older run, or a key the index reads that the stage does not write. "
            "Showing its top-level numbers instead."
        )
    return s


def read_params(params_dir: Path) -> tuple[dict, dict]:
    """({stage: parsed yaml or {}}, {file name: text}) of params_dir/*.yaml."""
    parsed, texts = {}, {}
    for path in sorted(Path(params_dir).glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        texts[path.name] = text
        try:
            data = yaml.safe_load(text)
            parsed[path.stem] = data if isinstance(data, dict) else {}
        except yaml.YAMLError:
            parsed[path.stem] = {}
    return parsed, texts


def profile_headers(texts: dict) -> list[str]:
    """The distinct '# Written by `maskutils profile ...`' lines of the params files."""
    seen = []
    for text in texts.values():
        for line in text.splitlines():
            if line.startswith("# Written by"):
                if line not in seen:
                    seen.append(line)
                break
    return seen


# ---------------------------------------------------------------------------------------- page

#: (label, provenance keys) of the columns of the machines table.
MACHINE_COLUMNS = [
    ("CPU", ("cpu",)),
    ("instruction set", ("torch_cpu_capability", "cpu_flags")),
    ("threads", ("torch_threads", "logical_cores")),
    ("torch · oneDNN", ("torch", "onednn")),
    ("numpy · BLAS", ("numpy", "blas")),
    ("device", ("device",)),
    ("set in the environment", ("env",)),
]
#: The words after the commit, by git's dirty flag (None: not known).
DIRTY = {True: " (dirty: uncommitted changes)", False: " (clean)", None: ""}
#: How many uncommitted changes the page lists.
SHOWN_CHANGES = 50


def _href(path: Path, out_dir: Path) -> str:
    return Path(os.path.relpath(path.resolve(), out_dir.resolve())).as_posix()


def stage_entry(s: StageSummary, out_dir: Path) -> dict:
    """What the page shows of one stage: its status, report link and size, offline problems,
    note and headline rows."""
    linked = s.report is not None
    return {
        "name": s.stage.name,
        "title": s.stage.title,
        "status": s.status,
        "report": s.stage.report,
        "href": _href(s.report, out_dir) if linked else None,
        "kb": f"{s.report_kb:,.0f}" if linked else None,
        "offline": s.offline or [],
        "note": s.note,
        "rows": s.rows,
    }


def card_entry(card: Path, out_dir: Path) -> dict:
    """The model card's entry: its name, and its link when `card` (reports/model_card.html)
    exists (None: not run)."""
    return {"name": card.name, "href": _href(card, out_dir) if card.is_file() else None}


def _cell(machine: dict, keys) -> str:
    values = []
    for k in keys:
        v = machine.get(k, "?")
        if isinstance(v, dict):
            v = " ".join(f"{a}={b}" for a, b in v.items()) or "none"
        elif isinstance(v, list):
            v = " ".join(map(str, v)) or "none"
        values.append(str(v))
    return " · ".join(values)


def machine_rows(summaries: list[StageSummary], here: dict | None) -> list:
    """(metrics file, its MACHINE_COLUMNS cells, or None when not recorded) of each metrics file's
    provenance block, then this machine's: what decided each file's bytes."""
    rows = [(f"{s.stage.name}.json", s.machine) for s in summaries if s.status != "not run"]
    if here is not None:
        rows.append(("this machine (index)", here))
    return [
        (name, None if m is None else [_cell(m, keys) for _, keys in MACHINE_COLUMNS])
        for name, m in rows
    ]


def render(
    summaries: list[StageSummary],
    params: dict,
    texts: dict,
    env: dict,
    out_dir: Path,
    card: Path,
) -> str:
    """The index page as one HTML string (templates/index.html.j2: inline CSS, no scripts,
    nothing remote); `card`: where the model card is or would be (reports/model_card.html)."""
    g = env["git"]
    src = params.get("prepare", {}).get("source", {}) or {}
    syn = params.get("prepare", {}).get("synthetic")
    synthetic = src.get("kind", "?") == "synthetic" and isinstance(syn, dict)
    changed = g.get("changed") or []
    return templates.render(
        "index.html.j2",
        ran=sum(s.status != "not run" for s in summaries),
        commit=g["commit"],
        dirty=DIRTY[g.get("dirty")],
        date=env["date"],
        stages=[stage_entry(s, out_dir) for s in summaries],
        card=card_entry(card, out_dir),
        source={"kind": src.get("kind", "?"), "root": src.get("root")},
        synthetic=fmt.num(syn.get("n_images", "?")) if synthetic else None,
        profiles=[h.lstrip("# ") for h in profile_headers(texts)],
        texts=texts,
        device=env["device"],
        versions=env["versions"],
        columns=[label for label, _ in MACHINE_COLUMNS],
        machines=machine_rows(summaries, env.get("machine")),
        changed=changed[:SHOWN_CHANGES],
        more=max(len(changed) - SHOWN_CHANGES, 0),
        n_changed=len(changed),
    )


def build_index(
    reports_dir: str | Path = "reports",
    params_dir: str | Path = "params",
    out_path: str | Path | None = None,
    env: dict | None = None,
) -> Path:
    """Write the index page (default reports_dir/index.html) from reports_dir/metrics/*.json, the
    reports in
    reports_dir and params_dir/*.yaml; `env` (see environment()) is measured here when not given."""
    reports_dir, params_dir = Path(reports_dir), Path(params_dir)
    out_path = Path(out_path) if out_path is not None else reports_dir / "index.html"
    params, texts = read_params(params_dir)
    summaries = [summarize(st, reports_dir, params) for st in REPORTED]
    for s in summaries:
        if s.status == "headlines unreadable":
            print(f"index: {s.stage.name}: {s.note}", file=sys.stderr)
    known = {st.name for st in REPORTED}
    for extra in sorted(
        (reports_dir / "metrics").glob("*.json")
    ):  # a stage added without an index entry
        if extra.stem not in known:
            summaries.append(
                summarize(Stage(extra.stem, extra.stem, None, extra.stem), reports_dir, params)
            )
    env = env if env is not None else environment(reports_dir)
    page = render(summaries, params, texts, env, out_path.parent, reports_dir / "model_card.html")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(page, encoding="utf-8")
    return out_path


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of `maskutils index` / `python -m maskutils.publish.index`."""
    parser.add_argument(
        "--reports", default="reports", help="folder with the reports and metrics/*.json"
    )
    parser.add_argument("--params", default="params", help="folder with the stages' params/*.yaml")
    parser.add_argument("--out", default=None, help="page to write (default: REPORTS/index.html)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = add_arguments(
        argparse.ArgumentParser(prog="maskutils index", description=__doc__.split("\n\n")[0])
    ).parse_args(argv)
    out = build_index(args.reports, args.params, args.out)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
