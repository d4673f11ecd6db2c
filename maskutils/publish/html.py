"""Rendering executed notebooks to self-contained, offline HTML, and writing metrics JSON."""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
from nbconvert import HTMLExporter

TEMPLATES = Path(__file__).parent / "templates"


def to_html(executed: str | Path, html: str | Path) -> Path:
    """Executed notebook -> HTML with inputs hidden, figures embedded and no remote resources."""
    nb = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(
        template_name="offline",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(
        nb, resources={"metadata": {"name": _title(nb, executed)}}
    )
    problems = offline_problems(body)
    if problems:
        raise ValueError(f"{html}: not a self-contained offline page: {problems[:3]}")
    html = Path(html)
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(body, encoding="utf-8")
    return html


# What counts as offline. A page may reference relative paths, data: URIs, file: URLs and
# about:/blob:
# (none leaves the machine); any other scheme (http, https, ftp, ws, ...) or a protocol-relative
# "//host/..." is remote. Only attributes that make the browser *load* something are checked:
# a plain link (<a href="https://...">) or a form action loads nothing until the reader clicks, so
# it is allowed; so is <link rel="canonical|alternate|author|license|...">.
LOCAL_SCHEMES = frozenset({"", "data", "file", "about", "blob", "javascript"})
_LOADS = {  # tag -> attributes whose URL the browser fetches on its own
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "base": ("href",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
    "feimage": ("href", "xlink:href"),
}
_NAVIGATION_RELS = frozenset(
    {
        "alternate",
        "author",
        "bookmark",
        "canonical",
        "external",
        "help",
        "license",
        "next",
        "nofollow",
        "noopener",
        "noreferrer",
        "prev",
        "search",
        "tag",
    }
)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.I)
_CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""", re.I)
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\";]+)", re.I)


def is_remote(url: str) -> bool:
    """True when loading `url` would leave the machine (any scheme but data:/file:/about:/blob:, or
    //host)."""
    url = url.strip()
    if url.startswith(("//", "\\\\")):
        return True
    scheme = urlsplit(url).scheme.lower() if ":" in url else ""
    if len(scheme) == 1:  # a Windows drive letter (C:/...), a local path
        return False
    return scheme not in LOCAL_SCHEMES


class _Resources(HTMLParser):
    """Collects (line, what, url) for every URL a page would load, and every <img> that is not a
    data: URI."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[int, str, str]] = []
        self.images: list[tuple[int, str]] = []
        self._style = False

    def handle_starttag(self, tag, attrs):
        self._tag(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._tag(tag, attrs)

    def _tag(self, tag, attrs):
        line = self.getpos()[0]
        a = {k.lower(): (v or "") for k, v in attrs}
        for attr in _LOADS.get(tag, ()):
            if attr in a:
                for url in _srcset(a[attr]) if attr == "srcset" else [a[attr]]:
                    self.loads.append((line, f"<{tag} {attr}>", url))
        if tag == "link" and "href" in a:
            rels = set(a.get("rel", "").lower().split())
            if (
                not rels or rels - _NAVIGATION_RELS
            ):  # stylesheet, icon, preload, preconnect, manifest, ...
                self.loads.append((line, f"<link rel={a.get('rel', '')!r} href>", a["href"]))
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            m = _REFRESH_URL.search(a.get("content", ""))
            if m:
                self.loads.append((line, "<meta http-equiv=refresh>", m.group(1)))
        if "style" in a:
            self._css(a["style"], line, f"<{tag} style=>")
        if tag == "img":
            src = a.get("src", "").strip()
            if not src.lower().startswith("data:"):
                self.images.append((line, src or "(no src)"))
            elif "srcset" in a and any(
                not u.lower().startswith("data:") for u in _srcset(a["srcset"])
            ):
                self.images.append((line, a["srcset"]))
        if tag == "style":
            self._style = True

    def handle_endtag(self, tag):
        if tag == "style":
            self._style = False

    def handle_data(self, data):
        if self._style:
            self._css(data, self.getpos()[0], "<style>")

    def _css(self, css, line, where):
        for rx, what in ((_CSS_IMPORT, "@import"), (_CSS_URL, "url()")):
            for m in rx.finditer(css):
                url = next(g for g in m.groups() if g is not None)
                self.loads.append((line + css.count("\n", 0, m.start()), f"{where} {what}", url))


def _srcset(value: str) -> list[str]:
    return [part.strip().split()[0] for part in value.split(",") if part.strip()]


def _parse(body: str) -> _Resources:
    parser = _Resources()
    parser.feed(body)
    parser.close()
    return parser


def _short(url: str, n: int = 120) -> str:
    return url if len(url) <= n else url[:n] + "..."


def remote_resources(body: str) -> list[str]:
    """Every URL in an HTML page that the browser would fetch from another host, as 'line N: <tag
    attr> URL'.

    Checks script/img/iframe/source/video/audio/embed/object/... sources, srcset, <link>
    (stylesheets,
    icons, preloads; not navigational rels), @import and url() in <style> blocks and style
    attributes,
    and meta refresh. Plain <a href> links are allowed: they load nothing.
    """
    return [
        f"line {line}: {what} {_short(url)}"
        for line, what, url in _parse(body).loads
        if is_remote(url)
    ]


def unembedded_images(body: str) -> list[str]:
    """Every <img> whose src (or srcset) is not a data: URI, as 'line N: <img src> URL'."""
    return [f"line {line}: <img src> {_short(src)}" for line, src in _parse(body).images]


def offline_problems(body: str) -> list[str]:
    """remote_resources + unembedded_images of one page, parsed once: empty for a self-contained
    page."""
    p = _parse(body)
    return [
        f"remote: line {line}: {what} {_short(url)}"
        for line, what, url in p.loads
        if is_remote(url)
    ] + [f"image not embedded: line {line}: <img src> {_short(src)}" for line, src in p.images]


_STDERR = re.compile(
    r"""data-mime-type=["']application/vnd\.jupyter\.stderr["'][^>]*>\s*<pre>(.*?)</pre>""",
    re.S | re.I,
)


def stderr_outputs(body: str) -> list[str]:
    """The first line of every stderr output (warnings, logging) a reader sees in a rendered
    notebook."""
    out = []
    for m in _STDERR.finditer(body):
        text = html_lib.unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip()
        out.append(text.splitlines()[0][:200] if text else "(empty)")
    return out


def check_offline(path: str | Path) -> list[str]:
    """offline_problems of an HTML file (empty list: it opens offline with every image embedded)."""
    return offline_problems(Path(path).read_text(encoding="utf-8", errors="replace"))


def _title(nb, path) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return Path(path).stem
