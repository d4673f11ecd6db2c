"""Rendering executed notebooks to self-contained, offline HTML, and writing metrics JSON."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

TEMPLATES = Path(__file__).parent / "templates"
_REMOTE = re.compile(r"""<(script|link|img|iframe|source)\b[^>]*\b(src|href)\s*=\s*["']?(https?:)?//""", re.I)


def to_html(executed: str | Path, html: str | Path) -> Path:
    """Executed notebook -> HTML with inputs hidden, figures embedded and no remote resources."""
    nb = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(TEMPLATES)],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            embed_images=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": _title(nb, executed)}})
    remote = remote_resources(body)
    if remote:
        raise ValueError(f"{html}: would load remote resources: {remote[:3]}")
    html = Path(html)
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(body, encoding="utf-8")
    return html


def remote_resources(body: str) -> list[str]:
    """The tags in an HTML page that would fetch something from another host."""
    return [m.group(0) for m in _REMOTE.finditer(body)]


def _title(nb, path) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return Path(path).stem


def write_metrics(path: str | Path, metrics: dict) -> Path:
    """Metrics JSON with sorted keys and rounded floats, so equal runs give equal bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_round(metrics), indent=2, sort_keys=True) + "\n")
    return path


def _round(x, digits: int = 6):
    if isinstance(x, float):
        return round(x, digits)
    if isinstance(x, dict):
        return {str(k): _round(v, digits) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_round(v, digits) for v in x]
    return x
