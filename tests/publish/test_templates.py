"""The model card and the reports index are laid out by templates (maskutils/publish/templates/):
the Python that builds them computes values and passes them in, and writes no markup. Every string
literal of those modules, docstrings aside, is checked for a tag (`<p`, `</td`, `<!DOCTYPE`, an
f-string's `<{tag}`) or an HTML entity (`&gt;`, `&#x27;`)."""

import ast
import re

import pytest

from maskutils.publish import render
from tests.conftest import ROOT

PUBLISH = ROOT / "maskutils" / "publish"
MODULES = [*sorted((PUBLISH / "card").glob("*.py")), PUBLISH / "index.py", PUBLISH / "render.py"]
MARKUP = re.compile(r"</?[A-Za-z!]|&(#[0-9]+|#x[0-9A-Fa-f]+|[A-Za-z]+);")
OPENS = re.compile(r"</?$")  # an f-string's text before `{tag}`


def _docstrings(tree: ast.AST) -> set[int]:
    """id() of the docstring constant of the module and of each class and function."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def markup(source: str) -> list[str]:
    """'line N: <what matched> in <the literal>' for each string literal holding markup, in the
    order of the lines."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    in_fstring = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
        if isinstance(part, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            m = MARKUP.search(node.value) or (
                OPENS.search(node.value) if id(node) in in_fstring else None
            )
            if m:
                found.append((node.lineno, f"line {node.lineno}: {m.group(0)!r} in {node.value!r}"))
    return [text for _, text in sorted(found)]


def test_the_check_finds_markup_and_passes_words_and_docstrings():
    source = '''
"""A module docstring may show <span class="v">0.9</span> &gt; 0."""
def f(x, tag):
    """So may a function's: <td>."""
    a = f"<p>{x}</p>"
    b = "&gt; " + x
    c = f"<{tag} class='v'>"
    d = "p < 0.05, a -> b, 5 > 3, R&D"
    e = "<!DOCTYPE html>"
    return a, b, c, d, e
'''
    found = markup(source)
    assert sorted({f.split(":")[0] for f in found}) == ["line 5", "line 6", "line 7", "line 9"]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PUBLISH)))
def test_no_markup_in_the_python_of_the_card_and_the_index(path):
    assert markup(path.read_text(encoding="utf-8")) == []


def test_the_modules_checked_are_the_card_and_the_index():
    names = {p.name for p in MODULES}
    assert {"page.py", "about.py", "analyses.py", "source.py", "index.py"} <= names


@pytest.mark.parametrize(
    ("source", "joined"),
    [
        ("<p>\n  two\n  words\n</p>", "<p>two words</p>"),
        ("<td>\n  {{ a }} and\n  {{ b }} too\n</td>", "<td>A and B too</td>"),
        ("<table>\n  {{ a }}\n  {{ b }}\n</table>", "<table>AB</table>"),  # one {{ }} a line
        ("text\n  <b>bold</b>\n  {% if a %}\n    yes\n  {% endif %}", "text<b>bold</b>yes"),
        ("{{ a ~\n   b }}", "AB"),  # a break inside a tag is Jinja's
    ],
)
def test_template_lines_join_as_render_says(source, joined):
    assert render.ENV.from_string(render.join_lines(source)).render(a="A", b="B") == joined


def test_values_are_escaped_as_html_escape_does_and_markup_passes():
    page = render.ENV.from_string("{{ x }}|{{ y }}|{{ x|unquoted }}")
    assert page.render(x='<it\'s "&">', y=render.unquoted("<b>")) == (
        '&lt;it&#x27;s &quot;&amp;&quot;&gt;|&lt;b&gt;|&lt;it\'s "&amp;"&gt;'
    )
