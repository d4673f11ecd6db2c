"""Walking a dataset's folders and writing outputs, safely.

`walk` lists the regular files under a root and reports, instead of skipping in silence, what it
cannot use: folders it cannot list, broken links, links that lead outside the root, FIFOs and
other non-regular files, names that are not valid UTF-8. `atomic` writes a file under a temporary
name and renames it into place, so a failed run never leaves half a file behind.
"""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path

IGNORED_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}


def shown(path) -> str:
    """The path as text that can always be printed and written to UTF-8 (bad bytes as \\xNN)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def utf8_name(path) -> bool:
    """True when the path is valid UTF-8 (a name in another encoding decodes to surrogates)."""
    try:
        str(path).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def inside(path: Path, root: Path) -> bool:
    """True when `path`, links followed, lies under `root` (links followed too)."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def check_file(path: Path, root: Path | None = None) -> str | None:
    """None for a readable regular file (under `root`, when given); else why it cannot be used."""
    if not utf8_name(path):
        return "file name is not valid UTF-8; rename the file"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return f"broken link (points to {shown(os.readlink(path))})"
        return "not found"
    except OSError as exc:
        return f"cannot read ({exc.strerror})"
    if stat.S_ISDIR(st.st_mode):
        return "a folder, not a file"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (a FIFO, socket or device); give a file"
    if root is not None and not inside(path, root):
        target = shown(os.path.realpath(path))
        return f"outside the dataset: a link to {target}, not under {shown(root)}"
    return None


def walk(
    root: Path, recursive: bool = True, within: Path | None = None
) -> tuple[list[Path], list[tuple[str, str]]]:
    """(regular files under root, sorted; (path, reason) for everything that cannot be used,
    links leading outside `within` (default: root) included).

    Hidden names and system clutter (.DS_Store, Thumbs.db) are left out without a word."""
    files, problems, within = [], [], within or root

    def unlistable(exc: OSError) -> None:
        problems.append((shown(exc.filename), f"cannot list folder ({exc.strerror})"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unlistable):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if recursive else []
        for name in sorted(filenames):
            if name.startswith(".") or name.lower() in IGNORED_NAMES:
                continue
            path = Path(dirpath) / name
            reason = check_file(path, within)
            if reason:
                problems.append((shown(path), reason))
            else:
                files.append(path)
        if not recursive:
            break
    return sorted(files), problems


@contextmanager
def atomic(path: str | Path):
    """Yields a temporary path beside `path`; renames it onto `path` when the block succeeds."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def writable_file(path: str | Path, what: str = "--out") -> Path:
    """`path` as the name of a file to write, checked before any work: its folder exists and is
    writable, and it is not itself a folder. Raises ValueError saying what to do."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; give a file name, e.g. {path / 'out.csv'}")
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"{what} {path}: folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{what} {path}: folder {folder} is not writable")
    return path


def writable_folder(path: str | Path, what: str = "--out") -> Path:
    """`path` as an output folder, checked before any work: it is a folder or can be made one."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what} {path} is a file, not a folder; give a folder")
    parent = next((p for p in path.parents if p.exists()), Path("."))
    if not path.exists() and not parent.is_dir():
        raise ValueError(f"{what} {path}: {parent} is a file, not a folder")
    if not os.access(path if path.exists() else parent, os.W_OK):
        raise ValueError(f"{what} {path} is not writable")
    return path
