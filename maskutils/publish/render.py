"""The one Jinja environment of the pages maskutils writes itself (the model card, the reports
index): templates in publish/templates/, data from Python.

Python passes plain data (strings, numbers, lists, dicts, small dataclasses); the templates hold
every tag. Values are escaped the way `html.escape` does (`&quot;`, `&#x27;`), so the pages read
exactly as they did when Python wrote them; autoescape stays on, and only what a template itself
produced (a macro's output, an object whose `__html__` renders a macro) passes unescaped. Words
the code writes into element text (a verdict, a baseline's name) go through `|unquoted`: `&`, `<`
and `>` escaped, quotes left as written, as the pages have always shown them.

Templates named *.html.j2 are written one element or phrase a line, indented for reading: before
they are compiled a line break and the indentation after it vanish next to markup (after `>`,
`%}` or `#}`, before `<`, `{%` or `{#`, around a line that is one `{{ }}` alone, such as a
macro's row) and become one space between words; inside a `{{ }}` or `{% %}` tag it stays
(whitespace there is Jinja's). An explicit newline is `{{ "\\n" }}`. The joins are hidden in
comments, so an error names the template's own line.
"""

from __future__ import annotations

import html
import re
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from jinja2.ext import Extension
from markupsafe import Markup

_OPEN, _CLOSE = re.compile(r"\{\{|\{%|\{#"), re.compile(r"\}\}|%\}|#\}")


def _escaped(value) -> Markup:
    """What a `{{ }}` shows: markup a template made as it is, anything else escaped."""
    if hasattr(value, "__html__"):
        return Markup(value.__html__())
    return Markup(html.escape(str(value), quote=True))


def unquoted(value) -> Markup:
    """Text for an element's content: `&`, `<`, `>` escaped, quotes as they are."""
    return Markup(html.escape(str(value), quote=False))


def _inside_tag(text: str) -> bool:
    """Whether `text` ends inside an unclosed {{ }}, {% %} or {# #}."""
    opened = [m.end() for m in _OPEN.finditer(text)]
    closed = [m.end() for m in _CLOSE.finditer(text)]
    return bool(opened) and (not closed or opened[-1] > closed[-1])


def _alone(text: str) -> bool:
    """Whether a template line is one `{{ }}` alone (a macro's table or row): markup, not words."""
    return text.startswith("{{") and text.endswith("}}") and text.count("{{") == 1


def join_lines(source: str) -> str:
    """A template's lines joined as the module docstring says, line numbers kept."""
    lines = source.split("\n")
    out = last = lines[0].rstrip()  # last: the last line with text, stripped
    for line in lines[1:]:
        text = line.strip()
        if _inside_tag(out):
            out += "\n" + line.rstrip()
            last = text or last
            continue
        words_end = last and not (last.endswith((">", "%}", "#}")) or _alone(last))
        words_start = text and not (text.startswith(("<", "{%", "{#")) or _alone(text))
        out += (" " if words_end and words_start else "") + "{#\n#}" + text
        last = text or last
    return out


class JoinLines(Extension):
    """Applies `join_lines` to the *.html.j2 templates."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return join_lines(source) if (name or "").endswith(".html.j2") else source


ENV = Environment(
    loader=PackageLoader("maskutils.publish", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    auto_reload=False,  # package files: read once
    keep_trailing_newline=True,
    finalize=_escaped,
    extensions=[JoinLines],
)
ENV.filters["unquoted"] = unquoted


def render(template: str, **context) -> str:
    """The template `template` (a path under publish/templates/) rendered with `context`."""
    return ENV.get_template(template).render(**context)


@cache
def macro(template: str, name: str):
    """The macro `name` of `template`, callable from Python; it returns Markup."""
    return getattr(ENV.get_template(template).module, name)
