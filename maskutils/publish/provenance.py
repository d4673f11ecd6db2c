"""Where and with what results were made: git commit, date, library versions, device."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from maskutils.core.machine import cpuinfo, machine

# Distributions whose versions the index lists ("python" is the interpreter).
PACKAGES = [
    ("torch", ["torch"]),
    ("torchvision", ["torchvision"]),
    ("numpy", ["numpy"]),
    ("pandas", ["pandas"]),
    ("scikit-learn", ["scikit-learn"]),
    ("grad-cam", ["grad-cam"]),
    (
        "opencv",
        [
            "opencv-python-headless",
            "opencv-python",
            "opencv-contrib-python-headless",
            "opencv-contrib-python",
        ],
    ),
    ("maskutils", ["maskutils"]),
]


def git_commit(repo: Path) -> dict:
    """{'commit': short hash or 'unknown', 'dirty': bool|None, 'changed': [paths]} of the repo
    holding `repo`."""

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=20
        )

    try:
        head = git("rev-parse", "--short", "HEAD")
        if head.returncode != 0:
            return {"commit": "unknown", "dirty": None, "changed": []}
        status = git("status", "--porcelain")
        changed = [line[3:] for line in status.stdout.splitlines() if line.strip()]
        return {"commit": head.stdout.strip(), "dirty": bool(changed), "changed": changed}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None, "changed": []}


def versions() -> dict[str, str]:
    """Versions of python and of the libraries the study depends on ('not installed' where
    absent)."""
    out = {"python": platform.python_version()}
    for label, dists in PACKAGES:
        out[label] = "not installed"
        for dist in dists:
            try:
                out[label] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return out


def device() -> str:
    """The CUDA device's name when torch sees one, else the CPU model (/proc/cpuinfo, else
    platform)."""
    try:
        import torch

        if torch.cuda.is_available():
            n = torch.cuda.device_count()
            return (
                f"{torch.cuda.get_device_name(0)}"
                + (f" (x{n})" if n > 1 else "")
                + f" · CUDA {torch.version.cuda}"
            )
    except Exception:  # noqa: BLE001 - no torch, broken driver: fall back to the CPU
        pass
    return f"CPU: {cpuinfo()[0]} ({os.cpu_count()} logical cores)"


def build_date() -> str:
    """Now in UTC, ISO 8601 to the second (SOURCE_DATE_EPOCH, when set, fixes it)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    return now.isoformat(timespec="seconds").replace("+00:00", "Z")


def environment(repo: str | Path = ".") -> dict:
    """git commit (of the repository holding `repo`), date, versions, device and the machine's
    facts that decide a metrics file's bytes (core.machine), as build_index shows them."""
    return {
        "git": git_commit(Path(repo)),
        "date": build_date(),
        "versions": versions(),
        "device": device(),
        "machine": machine(),
    }
