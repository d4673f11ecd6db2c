"""Class folders: ROOT/<class folder>/**/<image>, plus an optional ROOT/attributes.csv."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from maskutils.core.images import IGNORED_NAMES
from maskutils.core.labels import alias_table, canonical
from maskutils.prepare.sources import Item, Listing, problem

RESERVED = {"image_id", "file", "label", "label_raw", "source", "split", "fold"}


def image_id(source: str, rel: str, box_index: int | None = None) -> str:
    """A stable id: the same dataset and relative path (and box) always give the same id."""
    key = f"{source}:{rel}" + ("" if box_index is None else f"#{box_index}")
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def list_folder(root: str | Path, aliases: dict[str, str] | None = None) -> Listing:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder {root} not found (params: source.root)")
    table = alias_table(aliases)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ValueError(f"{root} has no class folders; expected ROOT/<class>/<images>")
    unknown = [f.name for f in folders if canonical(f.name, table) is None]
    if unknown:
        raise ValueError(
            f"{root}: unknown class folder(s) {', '.join(map(repr, unknown))}. Folders found: "
            f"{', '.join(f.name for f in folders)}. Known names: {', '.join(sorted(table))}. "
            "Add a mapping under source.aliases in params/prepare.yaml."
        )
    attrs, problems = _attributes(root)
    source = root.name
    items, seen = [], set()
    for folder in folders:
        files = sorted(
            p
            for p in folder.rglob("*")
            if p.is_file() and p.name.lower() not in IGNORED_NAMES and not p.name.startswith(".")
        )
        if not files:
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


def _attributes(root: Path) -> tuple[dict[str, dict], list[dict]]:
    path = root / "attributes.csv"
    if not path.is_file():
        return {}, []
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "image" not in df.columns:
        raise ValueError(
            f"{path}: needs a column 'image' (path relative to {root}); has {list(df.columns)}"
        )
    clash = RESERVED & set(df.columns)
    if clash:
        raise ValueError(
            f"{path}: column(s) {sorted(clash)} clash with manifest columns; rename them"
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
