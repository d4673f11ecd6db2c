import nbformat

from maskutils.core.results import write_metrics
from maskutils.publish.html import remote_resources, to_html


def test_remote_resources_are_detected():
    page = '<script src="https://cdn.example/x.js"></script><img src="data:image/png;base64,AA"><a href="https://x.org">x</a>'
    assert remote_resources(page) == ["line 1: <script src> https://cdn.example/x.js"]
    assert remote_resources('<link rel="stylesheet" href="//cdn.x/y.css">')


def test_html_is_offline_with_images_embedded_and_inputs_hidden(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# A title"),
            nbformat.v4.new_code_cell(
                "secret_input_code()",
                outputs=[
                    nbformat.v4.new_output(
                        "display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}
                    )
                ],
            ),
        ]
    )
    nbformat.write(nb, tmp_path / "nb.ipynb")
    page = to_html(tmp_path / "nb.ipynb", tmp_path / "out.html").read_text()
    assert remote_resources(page) == []
    assert "data:image/png;base64,iVBORw0KGgo=" in page and "<title>A title</title>" in page
    assert "secret_input_code" not in page
    assert "require.js" not in page and "mathjax" not in page.lower()


def test_metrics_are_byte_stable(tmp_path):
    a = write_metrics(tmp_path / "a.json", {"b": 0.1 + 0.2, "a": [1.23456789]}).read_bytes()
    b = write_metrics(
        tmp_path / "b.json", {"a": [1.23456789], "b": 0.30000000000000004}
    ).read_bytes()
    assert a == b and b'"a"' in a.split(b'"b"')[0]
