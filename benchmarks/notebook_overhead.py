"""What a notebook stage costs beyond its own work: the kernel start, the stage's imports, and
rendering the executed notebook to HTML, against the same imports in this process. Run from the
project root; prints each part and its share of the default study's stage time.

    python benchmarks/notebook_overhead.py            # 3 repeats
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

IMPORTS = """from IPython.display import Markdown, display
from maskutils.core.figures import confusion
from maskutils.publish.notebook import setup
from maskutils.stages.train import run as train
"""


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--stages", type=int, default=8, help="notebook stages in the study")
    args = ap.parse_args()
    import papermill

    from maskutils.publish.html import to_html

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
        nbformat.write(nb, tmp / "empty.ipynb")
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(IMPORTS)])
        nbformat.write(nb, tmp / "imports.ipynb")
        rows = {"kernel start + empty cell": [], "kernel + stage imports": [], "HTML render": []}
        rows["stage imports, plain python"] = []

        def execute(name: str) -> None:
            papermill.execute_notebook(
                str(tmp / f"{name}.ipynb"),
                str(tmp / f"{name}.out.ipynb"),
                kernel_name="python3",
                progress_bar=False,
                cwd=str(Path.cwd()),
            )

        for _ in range(args.repeats):
            rows["kernel start + empty cell"].append(timed(lambda: execute("empty")))
            rows["kernel + stage imports"].append(timed(lambda: execute("imports")))
            rows["HTML render"].append(
                timed(lambda: to_html(tmp / "imports.out.ipynb", tmp / "imports.html"))
            )
            rows["stage imports, plain python"].append(
                timed(lambda: subprocess.run([sys.executable, "-c", IMPORTS], check=True))
            )
    per_stage = min(rows["kernel + stage imports"]) + min(rows["HTML render"])
    plain = min(rows["stage imports, plain python"])
    for key, values in rows.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"{key:32s} best {min(values):5.2f} s  (runs: {runs})")
    print(
        f"per notebook stage: {per_stage:.1f} s (kernel, imports, HTML) vs {plain:.1f} s for the "
        f"same imports in a plain process: {per_stage / plain:.1f}x; x {args.stages} stages = "
        f"{per_stage * args.stages:.0f} s of the study"
    )


if __name__ == "__main__":
    main()
