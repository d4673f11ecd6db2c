"""`maskutils stage NAME`: one stage end to end. Its params are checked (a typo fails here, naming
the key, before a kernel starts), its notebook runs through papermill with the params file as its
one parameter, and the executed notebook becomes an offline HTML report. The terminal shows a
line when the stage starts and ends, and the progress lines the stage's code notes on the way."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from maskutils.core import progress
from maskutils.core.results import headline, write_metrics
from maskutils.publish.html import to_html
from maskutils.stages import Stage


class _QuietKernel(AsyncKernelManager):
    """A kernel whose own stderr (start-up warnings such as "Kernel is running over TCP without
    encryption") goes to a log file instead of the terminal. Cell output is unaffected: it
    reaches the notebook through the kernel's messages, not its stderr."""

    log_path: str | None = None

    async def start_kernel(self, **kw):
        log = open(self.log_path or os.devnull, "a", encoding="utf-8")  # the kernel holds it open
        kw.setdefault("stderr", log)
        kw.setdefault("stdout", subprocess.DEVNULL)
        return await super().start_kernel(**kw)


def _relay(path: Path, prefix: str, stop: threading.Event) -> None:
    """Prints every line appended to `path` until `stop` is set (and then the rest)."""
    seen = 0
    while True:
        done = stop.wait(0.5)
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        for line in text[seen:].splitlines():
            print(f"{prefix} {line}", flush=True)
        seen = len(text)
        if done:
            return


def run_stage(stage: Stage, root: Path = Path(".")) -> Path:
    """Runs one stage's notebook and renders its report; returns the report's path."""
    import papermill

    params_file = Path("params") / f"{stage.name}.yaml"
    stage.schema.load(root / params_file)
    notebook = Path("notebooks") / f"{stage.notebook}.ipynb"
    executed = Path("data") / "executed" / f"{stage.notebook}.ipynb"
    html = Path("reports") / stage.report
    (root / executed).parent.mkdir(parents=True, exist_ok=True)
    prefix = f"[{stage.name}]"
    print(f"{prefix} started: {notebook} with {params_file}", flush=True)
    t0 = time.perf_counter()
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as tmp:
        notes = Path(tmp) / "progress.txt"
        relay = threading.Thread(target=_relay, args=(notes, prefix, stop), daemon=True)
        relay.start()
        _QuietKernel.log_path = str(root / executed.with_suffix(".kernel.log"))
        old = os.environ.get(progress.ENV)
        os.environ[progress.ENV] = str(notes)  # the kernel inherits it
        try:
            papermill.execute_notebook(
                str(root / notebook),
                str(root / executed),
                parameters={"params_file": str(params_file)},
                kernel_name="python3",
                progress_bar=False,
                cwd=str(root),
                kernel_manager_class=_QuietKernel,
            )
        finally:
            if old is None:
                os.environ.pop(progress.ENV, None)
            else:
                os.environ[progress.ENV] = old
            stop.set()
            relay.join()
    to_html(root / executed, root / html)
    if stage.headline:
        write_headline(stage, root)
    print(f"{prefix} done in {time.perf_counter() - t0:.0f} s -> {html}", flush=True)
    return root / html


def write_headline(stage: Stage, root: Path = Path(".")) -> Path:
    """The stage's headline metrics file (reports/headlines/NAME.json, what dvc.yaml declares as
    its `metrics`), read from the full metrics file its notebook wrote."""
    full = json.loads((root / stage.metrics).read_text())
    return write_metrics(
        root / stage.headline_file, headline(full, stage.headline), provenance=False
    )
