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
import html
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from maskutils.core import fmt
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

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;
  margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.sub{color:#555;margin-top:0}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{text-align:left;vertical-align:top;padding:.35em .6em;border-bottom:1px solid #eee}
th{background:#f6f6f6;font-weight:600;min-width:9em}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.stage{margin:1.2em 0;padding:.6em 1em;border:1px solid #ddd;border-radius:6px}
.stage h3{margin:.2em 0 .4em;font-size:1.1em}
.badge{display:inline-block;font-size:.8em;padding:.05em .5em;border-radius:1em;margin-left:.5em;
  vertical-align:middle}
.ok{background:#e3f4e3;color:#185c18}.notrun{background:#eee;color:#666}.warn{background:#fff1d6;color:#7a4b00}
.bad{background:#fde2e2;color:#8a1c1c}
.note{color:#7a4b00;font-size:.9em}
pre{background:#f7f7f7;padding:.6em;overflow:auto;font-size:13px}
details{margin:.3em 0} summary{cursor:pointer}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}
"""

_BADGE = {
    "ok": "ok",
    "not run": "notrun",
    "no metrics": "warn",
    "unknown schema": "warn",
    "headlines unreadable": "bad",
    "unreadable": "bad",
}


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _stage_html(s: StageSummary, out_dir: Path) -> str:
    st = s.stage
    parts = [
        f'<div class="stage" id="{_e(st.name)}"><h3>{_e(st.title)} '
        f'<span class="badge {_BADGE.get(s.status, "warn")}">{_e(s.status)}</span></h3>'
    ]
    if s.report is not None:
        href = Path(os.path.relpath(s.report.resolve(), out_dir.resolve())).as_posix()
        offline = (
            "opens offline, images embedded"
            if not s.offline
            else f'<span class="note">offline check: {len(s.offline)} problem(s): '
            f"{_e('; '.join(s.offline[:3]))}</span>"
        )
        parts.append(
            f'<p>Report: <a href="{_e(href)}">{_e(st.report)}</a> · {s.report_kb:,.0f} KB · '
            f"{offline}</p>"
        )
    elif s.status != "not run":
        parts.append(f"<p>Report: {_e(st.report)} not found.</p>")
    if s.note:
        parts.append(f'<p class="note">{_e(s.note)}</p>')
    if s.rows:
        parts.append(
            "<table>"
            + "".join(
                f'<tr><th style="width:32%">{_e(k)}</th><td class="num">{_e(v)}</td></tr>'
                for k, v in s.rows
            )
            + "</table>"
        )
    elif s.status == "not run":
        parts.append(
            f"<p>Not run: no <code>metrics/{_e(st.name)}.json</code> and no report yet.</p>"
        )
    parts.append("</div>")
    return "".join(parts)


def card_html(card: Path, out_dir: Path) -> str:
    """The model card's entry: a link when `card` (reports/model_card.html) exists, else "not
    run"."""
    head = '<div class="stage" id="model_card"><h3>Model card '
    if not card.is_file():
        return (
            f'{head}<span class="badge notrun">not run</span></h3><p>Not run: no '
            f"<code>{_e(card.name)}</code> yet (<code>maskutils card</code> writes it).</p></div>"
        )
    href = Path(os.path.relpath(card.resolve(), out_dir.resolve())).as_posix()
    return (
        f'{head}<span class="badge ok">ok</span></h3><p><a href="{_e(href)}">{_e(card.name)}</a>: '
        "the studied model's details, intended use, data, results per class, per group and on "
        "external sets, ethical considerations and caveats, every number read from the metrics "
        "files.</p></div>"
    )


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


def machines_html(summaries: list[StageSummary], here: dict | None) -> str:
    """What decided each metrics file's bytes (its provenance block), beside this machine's."""
    rows = [(f"{s.stage.name}.json", s.machine) for s in summaries if s.status != "not run"]
    if here is not None:
        rows.append(("this machine (index)", here))
    head = "".join(f"<th>{_e(label)}</th>" for label, _ in MACHINE_COLUMNS)
    body = []
    for name, m in rows:
        if m is None:
            body.append(
                f"<tr><td>{_e(name)}</td><td colspan='{len(MACHINE_COLUMNS)}'>not recorded "
                "(written before metrics files kept their provenance)</td></tr>"
            )
            continue
        cells = "".join(f"<td>{_e(_cell(m, keys))}</td>" for _, keys in MACHINE_COLUMNS)
        body.append(f"<tr><td>{_e(name)}</td>{cells}</tr>")
    return (
        "<h3>What decided the numbers' bytes</h3><p>Same params and seed give byte-identical "
        "metrics on the same kind of machine; on another CPU kind the numbers move within their "
        "intervals (docs/reproducibility.md).</p>"
        f"<table><tr><th>metrics file</th>{head}</tr>{''.join(body)}</table>"
    )


def render(
    summaries: list[StageSummary],
    params: dict,
    texts: dict,
    env: dict,
    out_dir: Path,
    card: Path,
) -> str:
    """The index page as one HTML string (inline CSS, no scripts, nothing remote); `card`: where
    the model card is or would be (reports/model_card.html)."""
    g = env["git"]
    dirty = {True: " (dirty: uncommitted changes)", False: " (clean)", None: ""}[g.get("dirty")]
    src = params.get("prepare", {}).get("source", {}) or {}
    kind, root = src.get("kind", "?"), src.get("root")
    headers = profile_headers(texts)
    ran = sum(s.status != "not run" for s in summaries)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>maskstudy · reports</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>maskstudy: face-mask classification</h1>",
        f'<p class="sub">{ran} of {len(summaries)} stages run · commit '
        f"<code>{_e(g['commit'])}</code>{_e(dirty)}"
        f" · built {_e(env['date'])}</p>",
        "<h2>Results</h2>",
    ]
    out += [_stage_html(s, out_dir) for s in summaries]
    out.append(card_html(card, out_dir))

    out.append("<h2>Dataset and params</h2><table>")
    out.append(
        f"<tr><th>dataset source</th><td>{_e(kind)}"
        + (f" · root <code>{_e(root)}</code>" if root else "")
        + "</td></tr>"
    )
    if kind == "synthetic" and isinstance(params.get("prepare", {}).get("synthetic"), dict):
        syn = params["prepare"]["synthetic"]
        out.append(
            f"<tr><th>synthetic set</th><td>{_e(fmt.num(syn.get('n_images', '?')))} "
            "images</td></tr>"
        )
    out.append(
        "<tr><th>profile</th><td>"
        + (
            "<br>".join(f"<code>{_e(h.lstrip('# '))}</code>" for h in headers)
            or "no profile header (params written by hand?)"
        )
        + "</td></tr>"
    )
    out.append("</table>")
    if texts:
        out += [
            f"<details><summary>params/{_e(name)}</summary><pre>{_e(text)}</pre></details>"
            for name, text in texts.items()
        ]
    else:
        out.append("<p>No params/*.yaml found.</p>")

    out.append("<h2>Provenance</h2><table>")
    out.append(f"<tr><th>git commit</th><td><code>{_e(g['commit'])}</code>{_e(dirty)}</td></tr>")
    out.append(f"<tr><th>built (UTC)</th><td>{_e(env['date'])}</td></tr>")
    out.append(f"<tr><th>device</th><td>{_e(env['device'])}</td></tr>")
    out.append(
        "<tr><th>versions</th><td>"
        + " · ".join(f"{_e(k)} {_e(v)}" for k, v in env["versions"].items())
        + "</td></tr></table>"
    )
    out.append(machines_html(summaries, env.get("machine")))
    if g.get("changed"):
        shown = g["changed"][:50]
        more = f"<li>... and {len(g['changed']) - 50} more</li>" if len(g["changed"]) > 50 else ""
        out.append(
            f"<details><summary>{len(g['changed'])} uncommitted change(s)</summary><ul>"
            + "".join(f"<li><code>{_e(c)}</code></li>" for c in shown)
            + more
            + "</ul></details>"
        )
    out.append("</body></html>\n")
    return "\n".join(out)


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
