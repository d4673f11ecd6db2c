"""Pascal VOC: ROOT/images/* and ROOT/annotations/*.xml, one row per <object> box."""

from __future__ import annotations

import codecs
import math
import re
from pathlib import Path, PurePath

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from maskutils.core.files import walk
from maskutils.core.images import IMAGE_SUFFIXES
from maskutils.core.labels import alias_table, canonical
from maskutils.prepare.sources import Item, Listing, problem
from maskutils.prepare.sources.folder import ALIASES_AT, image_id

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")
_INCORRECT = "mask_weared_incorrect (voc.incorrect: drop)"


class BadAnnotation(Exception):
    """An annotation file that cannot be read; str(exc) is the reason."""


def list_voc(
    root: str | Path,
    aliases: dict[str, str] | None = None,
    incorrect: str = "keep",
    aliases_at: str = ALIASES_AT,
) -> Listing:
    root = Path(root)
    images_dir, ann_dir = root / "images", root / "annotations"
    for d in (images_dir, ann_dir):
        if not d.is_dir():
            raise FileNotFoundError(
                f"{d} not found: a VOC dataset has ROOT/images and ROOT/annotations"
            )
    table = alias_table(aliases)
    images, bad_images = walk(images_dir, recursive=False, within=root)
    annotations, bad_annotations = walk(ann_dir, recursive=False, within=root)
    problems = [problem(f, reason) for f, reason in bad_images + bad_annotations]
    problems += [
        problem(d, "a folder, not an annotation file")
        for d in sorted(ann_dir.iterdir())
        if d.is_dir() and d.suffix.lower() == ".xml"
    ]
    images = [p for p in images if p.suffix.lower() in IMAGE_SUFFIXES]
    usable, by_stem = set(images), {}
    for p in images:
        by_stem.setdefault(p.stem, p)
    items, dropped, unknown, claimed = [], {}, set(), {}
    source = root.name
    for xml in (p for p in annotations if p.suffix.lower() == ".xml"):
        try:
            ann = read_xml(xml)
        except BadAnnotation as exc:
            problems.append(problem(xml, str(exc)))
            continue
        filename = (ann.findtext("filename") or "").strip()
        if filename and (PurePath(filename).is_absolute() or ".." in PurePath(filename).parts):
            problems.append(
                problem(
                    xml,
                    f"outside the dataset: <filename> {filename!r} points outside "
                    f"{images_dir}; give the image's name inside that folder",
                )
            )
            continue
        path = images_dir / filename if filename else None
        if path not in usable:
            path = by_stem.get(Path(filename).stem if filename else xml.stem) or by_stem.get(
                xml.stem
            )
        if path is None:
            problems.append(
                problem(xml, f"image not found (filename {filename!r}, stem {xml.stem!r})")
            )
            continue
        if path in claimed:
            problems.append(
                problem(
                    xml,
                    f"duplicate annotation: names the same image as {claimed[path]} "
                    f"({path.name}); keep one annotation file per image",
                )
            )
            continue
        claimed[path] = xml.name
        rel = path.relative_to(root).as_posix()
        rows = []
        for k, obj in enumerate(ann.iter("object")):
            name = (obj.findtext("name") or "").strip()
            label = canonical(name, table)
            if label is None:
                unknown.add(name)
                continue
            if label == "incorrect" and incorrect == "drop":
                dropped[_INCORRECT] = dropped.get(_INCORRECT, 0) + 1
                continue
            box, reason = _box(obj)
            if box is None:
                problems.append(problem(f"{xml}#{k}", reason))
                continue
            rows.append(
                {
                    "image_id": image_id(source, rel, k),
                    "label": label,
                    "label_raw": name,
                    "source": source,
                    "raw_box": box,
                }
            )
        if rows:
            items.append(Item(file=str(path), rows=rows))
    if unknown:
        raise ValueError(
            f"{ann_dir}: unknown object name(s) {sorted(unknown)}; known: "
            f"{', '.join(sorted(table))}. "
            f"Add a mapping under {aliases_at}."
        )
    if not items:
        raise ValueError(f"{root}: no usable annotated boxes")
    return Listing(items, problems, dropped)


def read_xml(path: Path):
    """The root element of an annotation file, decoded in the encoding it declares (any Python
    knows: UTF-8, UTF-16, GB2312, Latin-1...); raises BadAnnotation saying what is wrong.
    DTDs and entities (XXE, billion laughs) are refused by defusedxml."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadAnnotation(f"cannot read annotation ({exc.strerror})") from None
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    else:
        declared = _ENCODING.match(raw)
        encoding = declared.group(1).decode("ascii", "replace") if declared else "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise BadAnnotation(
            f"unreadable annotation: declares encoding {encoding!r}, which Python does not "
            "know; save it as UTF-8"
        ) from None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise BadAnnotation(
            f"unreadable annotation: not valid {encoding} (byte 0x{raw[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None
    try:  # decoded already: the declaration's encoding no longer applies
        return ElementTree.fromstring(_DECLARATION.sub("", text, count=1))
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise BadAnnotation(f"unreadable annotation: {exc}") from None


def _box(obj) -> tuple[tuple[float, float, float, float] | None, str | None]:
    """(xmin, ymin, xmax, ymax), or (None, why not)."""
    bb = obj.find("bndbox")
    if bb is None:
        return None, "box without four numeric coordinates (no <bndbox>)"
    try:
        box = tuple(float((bb.findtext(k) or "").strip()) for k in ("xmin", "ymin", "xmax", "ymax"))
    except ValueError:
        return None, "box without four numeric coordinates"
    if not all(map(math.isfinite, box)):
        return None, f"box without four finite coordinates: {box}"
    return box, None
