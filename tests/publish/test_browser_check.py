"""The offline-HTML checker (maskutils.publish.html) and the headless-Chromium check
(maskutils.publish.browser_check)."""

import base64
import io

import nbformat
import pytest

from maskutils.publish.html import (
    check_offline,
    is_remote,
    offline_problems,
    remote_resources,
    stderr_outputs,
    to_html,
    unembedded_images,
)

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5Er"
    "kJggg=="
)
CLEAN = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>ok</title>
<style>body {{ background: url(data:image/png;base64,{PNG}) }}
.x {{ background: url("local.png") }}</style>
<link rel="canonical" href="https://example.org/page">
</head><body><img src="data:image/png;base64,{PNG}" alt="embedded">
<a href="https://example.org/more">a plain link loads nothing</a>
<script>document.title = "ok";</script><iframe src="about:blank"></iframe>
<svg xmlns="http://www.w3.org/2000/svg"><image href="data:image/png;base64,{PNG}"/></svg>
</body></html>"""

REMOTE_CASES = {
    "script": '<script src="https://cdn.example/x.js"></script>',
    "script_protocol_relative": '<script src="//cdn.example/x.js"></script>',
    "stylesheet": '<link rel="stylesheet" href="http://cdn.example/x.css">',
    "stylesheet_protocol_relative": "<link rel=stylesheet href=//cdn.example/y.css>",
    "icon": '<link rel="icon" href="https://example.org/favicon.ico">',
    "preconnect": '<link rel="preconnect" href="https://fonts.example">',
    "style_import": '<style>@import "https://fonts.example/css";</style>',
    "style_import_url": "<style>@import url(https://fonts.example/css2);</style>",
    "style_url": "<style>.a { background: url('//img.example/bg.png') }</style>",
    "style_attribute": '<div style="background-image: url(https://img.example/a.png)"></div>',
    "img": '<img src="https://img.example/a.png">',
    "img_srcset": f'<img src="data:image/png;base64,{PNG}" srcset="https://img.example/a2.png 2x">',
    "iframe": '<iframe src="https://www.youtube.example/embed/x"></iframe>',
    "source": '<video><source src="https://v.example/a.mp4"></video>',
    "video_poster": '<video poster="https://v.example/p.jpg"></video>',
    "audio": '<audio src="ftp://files.example/a.mp3"></audio>',
    "embed": '<embed src="https://x.example/a.swf">',
    "object": '<object data="https://x.example/a.pdf"></object>',
    "svg_image": '<svg><image href="https://img.example/a.svg"/></svg>',
    "svg_use_xlink": '<svg><use xlink:href="https://img.example/s.svg#i"/></svg>',
    "meta_refresh": '<meta http-equiv="refresh" content="0; url=https://elsewhere.example/">',
    "base": '<base href="https://elsewhere.example/">',
    "uppercase": '<SCRIPT SRC="HTTPS://CDN.EXAMPLE/X.JS"></SCRIPT>',
    "websocket_scheme": '<script src="wss://x.example/s"></script>',
}


def test_clean_page_passes():
    assert offline_problems(CLEAN) == []
    assert remote_resources(CLEAN) == [] and unembedded_images(CLEAN) == []


@pytest.mark.parametrize("name", sorted(REMOTE_CASES))
def test_each_remote_resource_is_caught(name):
    page = CLEAN.replace("</body>", REMOTE_CASES[name] + "</body>")
    found = remote_resources(page)
    assert len(found) == 1, found
    assert found[0].startswith("line ") and ("//" in found[0] or "ftp:" in found[0])
    assert offline_problems(page)


def test_problems_name_line_tag_and_url():
    page = "<html>\n<head>\n<script src='https://cdn.example/x.js'></script></head></html>"
    assert remote_resources(page) == ["line 3: <script src> https://cdn.example/x.js"]


def test_images_must_be_embedded():
    for img in (
        '<img src="figure.png">',
        '<img src="file:///tmp/figure.png">',
        "<img>",
        '<img src="">',
    ):
        page = CLEAN.replace("</body>", img + "</body>")
        assert len(unembedded_images(page)) == 1, img
        assert remote_resources(page) == [], img  # local, so not remote, but still not embedded
    assert unembedded_images(f'<img src="DATA:image/png;base64,{PNG}">') == []


def test_url_classification():
    assert all(
        is_remote(u)
        for u in (
            "https://a.b/c",
            "http://a",
            "//a.b/c",
            "ftp://a",
            "wss://a",
            " https://a",
            "\\\\\\\\server\\\\share\\\\a.png",
        )
    )
    assert not any(
        is_remote(u)
        for u in (
            "a.png",
            "./a/b.css",
            "/abs/a.png",
            "#frag",
            "?q=1",
            "data:,x",
            "file:///tmp/a.png",
            "about:blank",
            "C:/reports/a.png",
            "",
        )
    )


def test_plain_links_and_navigational_link_rels_are_allowed():
    page = (
        '<a href="https://example.org">x</a><a href="//example.org">y</a>'
        '<link rel="license" href="https://example.org/license"><form '
        'action="https://example.org/f"></form>'
    )
    assert remote_resources(page) == []


def test_stderr_outputs_are_listed():
    page = (
        '<div class="jp-RenderedText" data-mime-type="application/vnd.jupyter.stderr">'
        "<pre>/x/y.py:1: UserWarning: careful &amp; slow\n  call()</pre></div>"
    )
    assert stderr_outputs(page) == ["/x/y.py:1: UserWarning: careful & slow"]
    assert stderr_outputs(CLEAN) == []


def _figure_png() -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
    ax.plot([0, 1, 2], [1, 0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def test_rendered_notebook_with_a_figure_is_offline(tmp_path):
    png = _figure_png()
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Tiny report\n\nSome *text*."),
            nbformat.v4.new_code_cell(
                "plot()",
                execution_count=1,
                outputs=[
                    nbformat.v4.new_output(
                        "display_data",
                        data={"image/png": png, "text/plain": "<Figure size 100x75 with 1 Axes>"},
                    )
                ],
            ),
            nbformat.v4.new_code_cell(
                "table()",
                execution_count=2,
                outputs=[
                    nbformat.v4.new_output(
                        "execute_result",
                        execution_count=2,
                        data={
                            "text/html": "<table><tr><td>0.977</td></tr></table>",
                            "text/plain": "0.977",
                        },
                    )
                ],
            ),
        ]
    )
    nbformat.write(nb, tmp_path / "tiny.ipynb")
    out = to_html(tmp_path / "tiny.ipynb", tmp_path / "tiny.html")
    page = out.read_text()
    assert check_offline(out) == []
    assert f"data:image/png;base64,{png}" in page
    assert "<img" in page and unembedded_images(page) == []


def test_to_html_refuses_a_page_that_would_load_remote_resources(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "x",
                outputs=[
                    nbformat.v4.new_output(
                        "display_data",
                        data={
                            "text/html": '<script src="https://cdn.example/x.js"></script>',
                            "text/plain": "x",
                        },
                    )
                ],
            )
        ]
    )
    nbformat.write(nb, tmp_path / "nb.ipynb")
    with pytest.raises(ValueError, match="cdn.example"):
        to_html(tmp_path / "nb.ipynb", tmp_path / "out.html")
    assert not (tmp_path / "out.html").exists()


# ---------------------------------------------------------------------------------------- browser


def _chromium():
    from maskutils.publish.browser_check import INSTALL_HINT, find_chromium

    binary = find_chromium()
    if not binary:
        pytest.skip(f"headless Chromium check not run: {INSTALL_HINT}")
    pytest.importorskip("websocket", reason="websocket-client is not installed")
    return binary


def test_browser_check_passes_a_good_page_and_reports_a_bad_one(tmp_path):
    _chromium()
    from maskutils.publish.browser_check import check_pages, format_results

    good = tmp_path / "good.html"
    good.write_text(CLEAN)
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body><h1>Bad</h1>"
        '<img src="missing.png"><script>console.error("x")</script>'
        "<script>notDefined()</script></body></html>"
    )
    results = check_pages([good, bad], screenshots=tmp_path / "shots", timeout=15)
    text = format_results(results)
    r_good, r_bad = results
    assert r_good.ok, text
    assert r_good.screenshot == tmp_path / "shots" / "good.png"
    assert r_good.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not r_bad.ok
    assert r_bad.broken_images == ["missing.png"], text
    assert r_bad.console_errors == ["x"], text
    assert any("notDefined" in e for e in r_bad.exceptions), text
    assert (
        "FAIL  bad.html" in text
        and "PASS  good.html" in text
        and "broken image: missing.png" in text
    )


def test_browser_check_records_and_blocks_remote_requests(tmp_path):
    _chromium()
    from maskutils.publish.browser_check import check_pages

    page = tmp_path / "remote.html"
    page.write_text(
        '<html><head><link rel="stylesheet" href="https://cdn.example.invalid/x.css"></head>'
        "<body>remote</body></html>"
    )
    missing = tmp_path / "index.html"  # does not exist: fails, does not crash
    r, m = check_pages([page, missing], screenshots=None, timeout=15)
    assert r.remote_requests == ["https://cdn.example.invalid/x.css"] and not r.ok
    assert any("remote" in s for s in r.static)
    assert not m.ok and "not found" in m.errors[0]


def test_browser_check_cli_without_chromium_says_how_to_install(tmp_path, monkeypatch, capsys):
    from maskutils.publish import browser_check

    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-such-chromium"))
    (tmp_path / "index.html").write_text(CLEAN)
    assert browser_check.main([str(tmp_path)]) == 2
    assert "apt install chromium" in capsys.readouterr().err
