"""reports/index.html: one self-contained page with every stage's headline numbers, a link to each
report, the params used, and where and with what the results were made (git commit, date, versions,
device).

    python -m maskutils.publish.index [--reports reports] [--params params] [--out reports/index.html]

Headline numbers come from reports/metrics/<stage>.json through HEADLINES, a table of one small function
per stage. A stage whose metrics file is missing shows "not run"; a file whose schema the function does
not know (a key missing, a type changed) falls back to its top-level scalar numbers, so a new or changed
stage never breaks the index.
"""

from __future__ import annotations

import argparse
import html
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import yaml

from maskutils.publish.html import check_offline


@dataclass(frozen=True)
class Stage:
    name: str  # metrics file reports/metrics/<name>.json
    report: str  # HTML report in reports/
    title: str


STAGES = [
    Stage("eda", "01_eda.html", "The data"),
    Stage("train", "02_train.html", "Training and evaluation"),
    Stage("kfold", "03_kfold.html", "K-fold cross-validation"),
    Stage("bias", "04_bias.html", "Bias"),
    Stage("gradcam", "05_gradcam.html", "Grad-CAM"),
    Stage("detect", "06_detect.html", "Detection"),
]

# Distributions whose versions the index lists ("python" is the interpreter).
PACKAGES = [
    ("torch", ["torch"]),
    ("torchvision", ["torchvision"]),
    ("numpy", ["numpy"]),
    ("pandas", ["pandas"]),
    ("scikit-learn", ["scikit-learn"]),
    ("grad-cam", ["grad-cam"]),
    (
        "opencv",
        [
            "opencv-python-headless",
            "opencv-python",
            "opencv-contrib-python-headless",
            "opencv-contrib-python",
        ],
    ),
    ("maskutils", ["maskutils"]),
]

Headline = tuple[str, str]  # (label, formatted value)


# ---------------------------------------------------------------------------------------- formatting


def fmt(x, digits: int = 3) -> str:
    """A number for a reader: ints with thousands separators, floats to `digits` decimals."""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def fmt_ci(value, low, high, digits: int = 3) -> str:
    """0.977 [0.958, 0.992]"""
    return f"{fmt(float(value), digits)} [{fmt(float(low), digits)}, {fmt(float(high), digits)}]"


def _pct(level) -> str:
    try:
        return f"{float(level) * 100:g}% "
    except (TypeError, ValueError):
        return ""


# ---------------------------------------------------------------------------------------- headlines
# Each function takes the stage's metrics (parsed JSON) and all params ({stage: dict}) and returns
# (label, value) rows. Any KeyError/TypeError/ValueError/IndexError makes the index fall back to
# generic_headlines, so they can index freely.


def eda_headlines(m: dict, params: dict) -> list[Headline]:
    rows = [
        (
            "images",
            f"{fmt(m['n_images'])} from {fmt(m['n_files'])} files · {fmt(m['n_problems'])} problems",
        )
    ]
    classes = m["classes"]
    rows.append(
        (f"classes ({len(classes)})", ", ".join(f"{k} {fmt(v)}" for k, v in classes.items()))
    )
    d = m["duplicates"]
    rows.append(
        (
            "near-duplicate groups",
            f"{fmt(d['groups'])} groups holding {fmt(d['images_in_groups'])} images · "
            f"{fmt(d['groups_across_classes'])} span classes · {fmt(d['groups_across_splits'])} span splits",
        )
    )
    if "splits" in m:
        rows.append(("split", " · ".join(f"{k} {fmt(v)}" for k, v in m["splits"].items())))
    if "shortcut" in m:
        s = m["shortcut"]
        rows.append(
            (
                "shortcut check",
                f"metadata tree {fmt(s['tree_balanced_accuracy'])} vs baseline "
                f"{fmt(s['baseline_balanced_accuracy'])} balanced accuracy"
                + (
                    " · WARNING: metadata predicts the class"
                    if s.get("warning")
                    else " · no shortcut"
                ),
            )
        )
    if m.get("flags"):
        rows.append(("quality flags", ", ".join(f"{k} {fmt(v)}" for k, v in m["flags"].items())))
    return rows


def train_headlines(m: dict, params: dict) -> list[Headline]:
    level = _pct(params.get("train", {}).get("evaluate", {}).get("confidence"))
    rows = []
    models = m["models"]
    for key, r in sorted(models.items(), key=lambda kv: -kv[1]["macro_f1"]["value"]):
        f1, acc = r["macro_f1"], r["accuracy"]
        rows.append(
            (
                f"{r.get('name', key)}: macro-F1 ({level}bootstrap CI)",
                f"{fmt_ci(f1['value'], f1['ci_low'], f1['ci_high'])} · accuracy "
                f"{fmt_ci(acc['value'], acc['ci_low'], acc['ci_high'])} · {fmt(r['n'])} test images",
            )
        )
    rows.insert(0, ("task", f"{m.get('task', '?')} · {len(m['classes'])} classes"))
    return rows


def kfold_headlines(m: dict, params: dict) -> list[Headline]:
    level = _pct(params.get("kfold", {}).get("confidence"))
    s = m["summary"]["macro_f1"]
    rows = [
        ("folds", f"{fmt(m['k'])} folds over {fmt(m['n'])} images"),
        (
            f"macro-F1, mean across folds ({level}t-interval)",
            f"{fmt_ci(s['mean'], s['ci_low'], s['ci_high'])} · sd {fmt(s['sd'])}",
        ),
    ]
    if "accuracy" in m["summary"]:
        a = m["summary"]["accuracy"]
        rows.append(
            (
                f"accuracy, mean across folds ({level}t-interval)",
                fmt_ci(a["mean"], a["ci_low"], a["ci_high"]),
            )
        )
    if "pooled_macro_f1" in m:
        rows.append(("macro-F1 pooled over out-of-fold predictions", fmt(m["pooled_macro_f1"])))
    return rows


def _ci(c: dict) -> str:
    return (
        fmt_ci(c["value"], c["ci_low"], c["ci_high"])
        if c.get("ci_low") is not None
        else fmt(c.get("value"))
    )


def bias_headlines(m: dict, params: dict) -> list[Headline]:
    rows = [
        ("images audited (out of fold)", fmt(m["n"])),
        (
            "mitigation",
            f"{m['mitigation']['method']} by {' x '.join(m['mitigation']['by']) or '-'} x class",
        ),
    ]
    supported = [
        (name, metric, g)
        for name, a in m["attributes"].items()
        for metric, g in a["gaps"].items()
        if g["supported"]
    ]
    rows.append(
        (
            "gaps supported by the data",
            f"{len(supported)} of {sum(len(a['gaps']) for a in m['attributes'].values())}",
        )
    )
    pl = m.get("planted")
    if pl and pl.get("audited"):
        rows.append(
            (
                f"planted: recall of {pl['class']} for {pl['group']}",
                _ci(pl["group_recall"]["before"]) + f" · found by the audit: {fmt(pl['found'])}",
            )
        )
        if "gap_change" in pl:
            rows.append(
                (
                    "planted gap before -> after mitigation",
                    f"{_ci(pl['gap_before'])} -> {_ci(pl['gap_after'])}",
                )
            )
    if "change_after" in m["overall"]:
        rows.append(
            ("change in macro-F1 from mitigation", _ci(m["overall"]["change_after"]["macro_f1"]))
        )
    return rows


def gradcam_headlines(m: dict, params: dict) -> list[Headline]:
    rows = [("maps", f"{m['method']} at {m['target_layer']}, {fmt(m['n_images'])} images")]
    loc = m["localisation"]
    if loc.get("available"):
        o = loc["overall"]
        rows.append(
            (
                "CAM energy inside the ROI (no-information map: "
                f"{fmt(o['roi_area_share']['value'])})",
                _ci(o["roi_energy"]),
            )
        )
        rows.append(
            (
                f"pointing game hits (random map: {fmt(o['pointing_hit_random']['value'])})",
                _ci(o["pointing_hit"]),
            )
        )
    f = m["faithfulness"]["overall"]
    rows.append(
        (
            f"probability drop, top of map removed (random map: {fmt(f['drop_random']['value'])})",
            _ci(f["drop"]),
        )
    )
    return rows


def detect_headlines(m: dict, params: dict) -> list[Headline]:
    r = lambda x: fmt_ci(x["value"], *x["ci"]) if x.get("ci") else fmt(x.get("value"))  # noqa: E731
    rows = [
        ("scenes / annotated faces", f"{fmt(m['n_scenes'])} / {fmt(m['n_faces'])}"),
        (
            f"detection recall at IoU {m.get('settings', {}).get('iou_threshold', 0.5)}",
            r(m["recall"]),
        ),
        ("detection precision", r(m["precision"])),
    ]
    if "classification" in m:
        rows.append(
            (
                "binary accuracy on detected faces / oracle crops",
                f"{r(m['classification']['matched'])} / {r(m['classification']['oracle_all'])}",
            )
        )
    return rows


HEADLINES: dict[str, Callable[[dict, dict], list[Headline]]] = {
    "eda": eda_headlines,
    "train": train_headlines,
    "kfold": kfold_headlines,
    "bias": bias_headlines,
    "gradcam": gradcam_headlines,
    "detect": detect_headlines,
}


def generic_headlines(m) -> list[Headline]:
    """The top-level scalar numbers of a metrics file (the fallback for unknown or changed schemas)."""
    if not isinstance(m, dict):
        return [("value", fmt(m))] if isinstance(m, (int, float)) else []
    return [(str(k), fmt(v)) for k, v in sorted(m.items()) if isinstance(v, (int, float))]


@dataclass
class StageSummary:
    stage: Stage
    status: str  # "ok", "not run", "unknown schema", "unreadable", "no metrics"
    rows: list[Headline]
    note: str = ""
    report: Path | None = None  # the report file, when it exists
    report_kb: float | None = None
    offline: list[str] | None = None  # check_offline problems of the report


def summarize(stage: Stage, reports_dir: Path, params: dict) -> StageSummary:
    """One stage's headline rows from reports_dir/metrics/<stage>.json, never raising on bad input."""
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
    fn = HEADLINES.get(stage.name)
    if fn is not None:
        try:
            s.rows = fn(metrics, params)
            return s
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            s.note = (
                f"schema not recognised ({type(exc).__name__}: {exc}); showing top-level numbers"
            )
    else:
        s.note = "no headline function for this stage yet; showing top-level numbers"
    s.status, s.rows = "unknown schema", generic_headlines(metrics)
    return s


# ---------------------------------------------------------------------------------------- provenance


def git_commit(repo: Path) -> dict:
    """{'commit': short hash or 'unknown', 'dirty': bool|None, 'changed': [paths]} of the repo holding `repo`."""

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=20
        )

    try:
        head = git("rev-parse", "--short", "HEAD")
        if head.returncode != 0:
            return {"commit": "unknown", "dirty": None, "changed": []}
        status = git("status", "--porcelain")
        changed = [line[3:] for line in status.stdout.splitlines() if line.strip()]
        return {"commit": head.stdout.strip(), "dirty": bool(changed), "changed": changed}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None, "changed": []}


def versions() -> dict[str, str]:
    """Versions of python and of the libraries the study depends on ('not installed' where absent)."""
    out = {"python": platform.python_version()}
    for label, dists in PACKAGES:
        out[label] = "not installed"
        for dist in dists:
            try:
                out[label] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return out


def device() -> str:
    """The CUDA device's name when torch sees one, else the CPU model (/proc/cpuinfo, else platform)."""
    try:
        import torch

        if torch.cuda.is_available():
            n = torch.cuda.device_count()
            return (
                f"{torch.cuda.get_device_name(0)}"
                + (f" (x{n})" if n > 1 else "")
                + f" · CUDA {torch.version.cuda}"
            )
    except Exception:  # noqa: BLE001 - no torch, broken driver: fall back to the CPU
        pass
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpu = cpu or platform.processor() or platform.machine() or "unknown CPU"
    return f"CPU: {cpu} ({os.cpu_count()} logical cores)"


def build_date() -> str:
    """Now in UTC, ISO 8601 to the second (SOURCE_DATE_EPOCH, when set, fixes it)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    return now.isoformat(timespec="seconds").replace("+00:00", "Z")


def environment(repo: str | Path = ".") -> dict:
    """git commit (of the repository holding `repo`), date, versions and device, as build_index shows them."""
    return {
        "git": git_commit(Path(repo)),
        "date": build_date(),
        "versions": versions(),
        "device": device(),
    }


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
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.sub{color:#555;margin-top:0}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{text-align:left;vertical-align:top;padding:.35em .6em;border-bottom:1px solid #eee}
th{background:#f6f6f6;font-weight:600;min-width:9em}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.stage{margin:1.2em 0;padding:.6em 1em;border:1px solid #ddd;border-radius:6px}
.stage h3{margin:.2em 0 .4em;font-size:1.1em}
.badge{display:inline-block;font-size:.8em;padding:.05em .5em;border-radius:1em;margin-left:.5em;vertical-align:middle}
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
            f'<p>Report: <a href="{_e(href)}">{_e(st.report)}</a> · {s.report_kb:,.0f} KB · {offline}</p>'
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


def render(
    summaries: list[StageSummary], params: dict, texts: dict, env: dict, out_dir: Path
) -> str:
    """The index page as one HTML string (inline CSS, no scripts, nothing remote)."""
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
        f'<p class="sub">{ran} of {len(summaries)} stages run · commit <code>{_e(g["commit"])}</code>{_e(dirty)}'
        f" · built {_e(env['date'])}</p>",
        "<h2>Results</h2>",
    ]
    out += [_stage_html(s, out_dir) for s in summaries]

    out.append("<h2>Dataset and params</h2><table>")
    out.append(
        f"<tr><th>dataset source</th><td>{_e(kind)}"
        + (f" · root <code>{_e(root)}</code>" if root else "")
        + "</td></tr>"
    )
    if kind == "synthetic" and isinstance(params.get("prepare", {}).get("synthetic"), dict):
        syn = params["prepare"]["synthetic"]
        out.append(
            f"<tr><th>synthetic set</th><td>{_e(fmt(syn.get('n_images', '?')))} images</td></tr>"
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
    """Write the index page (default reports_dir/index.html) from reports_dir/metrics/*.json, the reports in
    reports_dir and params_dir/*.yaml; `env` (see environment()) is measured here when not given."""
    reports_dir, params_dir = Path(reports_dir), Path(params_dir)
    out_path = Path(out_path) if out_path is not None else reports_dir / "index.html"
    params, texts = read_params(params_dir)
    summaries = [summarize(st, reports_dir, params) for st in STAGES]
    known = {st.name for st in STAGES}
    for extra in sorted(
        (reports_dir / "metrics").glob("*.json")
    ):  # a stage added without an index entry
        if extra.stem not in known:
            summaries.append(
                summarize(Stage(extra.stem, f"{extra.stem}.html", extra.stem), reports_dir, params)
            )
    env = env if env is not None else environment(reports_dir)
    page = render(summaries, params, texts, env, out_path.parent)
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
