"""Progress lines for the terminal: `maskutils stage` shows them while a notebook runs; in
JupyterLab and in the rendered reports they stay out of sight.

A notebook's kernel cannot write to the terminal of the command that started it, so `note`
appends to the file named by MASKUTILS_PROGRESS (set by `maskutils stage`), which relays each
line as it comes. Without the variable, `note` does nothing.
"""

from __future__ import annotations

import os

ENV = "MASKUTILS_PROGRESS"


def note(message: str) -> None:
    """One progress line, e.g. 'cnn epoch 3/20: validation macro-F1 0.812'."""
    path = os.environ.get(ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(message.rstrip("\n") + "\n")
