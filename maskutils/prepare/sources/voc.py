"""Pascal VOC: ROOT/images/* and ROOT/annotations/*.xml, one row per <object> box."""

from __future__ import annotations

from pathlib import Path

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from maskutils.core.images import IMAGE_SUFFIXES
from maskutils.core.labels import alias_table, canonical
from maskutils.prepare.sources import Item, Listing, problem
from maskutils.prepare.sources.folder import image_id


def list_voc(
    root: str | Path, aliases: dict[str, str] | None = None, incorrect: str = "keep"
) -> Listing:
    root = Path(root)
    images_dir, ann_dir = root / "images", root / "annotations"
    for d in (images_dir, ann_dir):
        if not d.is_dir():
            raise FileNotFoundError(
                f"{d} not found: a VOC dataset has ROOT/images and ROOT/annotations"
            )
    table = alias_table(aliases)
    by_stem = {}
    for p in sorted(images_dir.iterdir()):
        if p.suffix.lower() in IMAGE_SUFFIXES:
            by_stem.setdefault(p.stem, p)
    items, problems, dropped, unknown = [], [], {}, set()
    source = root.name
    for xml in sorted(ann_dir.glob("*.xml")):
        try:
            ann = ElementTree.parse(xml).getroot()
        except (ElementTree.ParseError, DefusedXmlException) as exc:
            problems.append(problem(xml, f"unreadable annotation: {exc}"))
            continue
        filename = (ann.findtext("filename") or "").strip()
        path = images_dir / filename if filename else None
        if path is None or not path.is_file():
            path = by_stem.get(Path(filename).stem if filename else xml.stem) or by_stem.get(
                xml.stem
            )
        if path is None:
            problems.append(
                problem(xml, f"image not found (filename {filename!r}, stem {xml.stem!r})")
            )
            continue
        rel = path.relative_to(root).as_posix()
        rows = []
        for k, obj in enumerate(ann.iter("object")):
            name = (obj.findtext("name") or "").strip()
            label = canonical(name, table)
            if label is None:
                unknown.add(name)
                continue
            if label == "incorrect" and incorrect == "drop":
                dropped["mask_weared_incorrect (voc.incorrect: drop)"] = (
                    dropped.get("mask_weared_incorrect (voc.incorrect: drop)", 0) + 1
                )
                continue
            box = _box(obj)
            if box is None:
                problems.append(problem(f"{xml}#{k}", "box without four numeric coordinates"))
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
            "Add a mapping under source.aliases in params/prepare.yaml."
        )
    if not items:
        raise ValueError(f"{root}: no usable annotated boxes")
    return Listing(items, problems, dropped)


def _box(obj) -> tuple[float, float, float, float] | None:
    bb = obj.find("bndbox")
    if bb is None:
        return None
    try:
        return tuple(
            float((bb.findtext(k) or "").strip()) for k in ("xmin", "ymin", "xmax", "ymax")
        )
    except ValueError:
        return None
