"""Class folders: ROOT/<class folder>/**/<image>, plus an optional ROOT/attributes.csv."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pandas as pd

from maskutils.core import manifest as mf
from maskutils.core.files import check_file, walk
from maskutils.core.labels import alias_table, canonical
from maskutils.prepare.sources import Item, Listing, problem

#: Where the error on an unknown class name tells the user to add an alias, unless the caller
#: (e.g. one preparing an external test set from its own params file) names another place.
ALIASES_AT = "source.aliases in params/prepare.yaml"
#: Columns prepare writes itself: an attributes.csv column with one of these names is an error.
RESERVED = set(mf.CORE) | set(mf.REQUIRED)


def image_id(source: str, rel: str, box_index: int | None = None) -> str:
    """A stable id: the same dataset and relative path (and box) always give the same id."""
    key = f"{source}:{rel}" + ("" if box_index is None else f"#{box_index}")
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def list_folder(
    root: str | Path, aliases: dict[str, str] | None = None, aliases_at: str = ALIASES_AT
) -> Listing:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder {root} not found (params: source.root)")
    table = alias_table(aliases)
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    folders = [p for p in entries if p.is_dir()]
    problems = [problem(p, check_file(p)) for p in entries if p.is_symlink() and not p.exists()]
    if not folders:
        raise ValueError(f"{root} has no class folders; expected ROOT/<class>/<images>")
    unknown = [f.name for f in folders if canonical(f.name, table) is None]
    if unknown:
        raise ValueError(
            f"{root}: unknown class folder(s) {', '.join(map(repr, unknown))}. Folders found: "
            f"{', '.join(f.name for f in folders)}. Known names: {', '.join(sorted(table))}. "
            f"Add a mapping under {aliases_at}."
        )
    attrs, attr_problems = _attributes(root)
    problems += attr_problems
    source = root.name
    items, seen = [], set()
    for folder in folders:
        files, bad = walk(folder, within=root)
        problems += [problem(f, reason) for f, reason in bad]
        if not files and not bad:
            problems.append(problem(folder, "empty class folder"))
        for path in files:
            rel = path.relative_to(root).as_posix()
            seen.add(rel)
            row = {
                "image_id": image_id(source, rel),
                "label": canonical(folder.name, table),
                "label_raw": folder.name,
                "source": source,
                **attrs.get(rel, {}),
            }
            items.append(Item(file=str(path), rows=[row]))
    unmatched = sorted(set(attrs) - seen)
    if unmatched:
        problems.append(
            problem(
                root / "attributes.csv",
                f"{len(unmatched)} rows name no image (first: {unmatched[0]})",
            )
        )
    if not items:
        raise ValueError(f"{root}: no files in any class folder")
    return Listing(items, problems)


def read_csv_text(path: Path) -> str:
    """The text of a UTF-8 CSV file; an empty, binary or non-UTF-8 file is a ValueError that
    names the file and the encoding expected."""
    raw = path.read_bytes()
    if not raw.strip():
        raise ValueError(f"{path} is empty; expected UTF-8 CSV text with a header row")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ValueError(f"{path} is UTF-16 text; save it as UTF-8")
    if b"\x00" in raw:
        raise ValueError(f"{path} holds binary data (NUL bytes), not CSV text; expected UTF-8 CSV")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(
            f"{path} is not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}); save it as UTF-8 "
            "(from Latin-1, for example: iconv -f latin1 -t utf-8)"
        ) from None


def _attributes(root: Path) -> tuple[dict[str, dict], list[dict]]:
    path = root / "attributes.csv"
    if not path.is_file():
        return {}, []
    try:
        df = pd.read_csv(io.StringIO(read_csv_text(path)), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, csv.Error) as exc:
        raise ValueError(f"{path}: not a readable CSV table: {exc}") from None
    if "image" not in df.columns:
        raise ValueError(
            f"{path}: needs a column 'image' (path relative to {root}); has {list(df.columns)}"
        )
    clash = RESERVED & set(df.columns)
    if clash:
        raise ValueError(
            f"{path}: column(s) {sorted(clash)} are names prepare writes itself (manifest "
            "columns); rename them, e.g. 'attr_" + sorted(clash)[0] + "'"
        )
    problems = []
    dupes = df["image"][df["image"].duplicated()]
    if len(dupes):
        problems.append(
            problem(
                path,
                f"{len(dupes)} duplicate rows for the same image (first kept): {dupes.iloc[0]}",
            )
        )
    df = df.drop_duplicates("image")
    cols = [c for c in df.columns if c != "image"]
    table = {
        str(r["image"]).replace("\\", "/"): {c: (r[c] or None) for c in cols}
        for r in df.to_dict("records")
    }
    return table, problems
