"""Dataset sources. Each turns a dataset into items: one image file, the boxes to cut from it
(None for the whole image), and per box the label and attributes. Decoding happens later, once."""

from __future__ import annotations

from dataclasses import dataclass, field

from maskutils.core.files import shown


@dataclass
class Item:
    """One file to decode, with one entry in `rows` per face it holds (one, or one per VOC box)."""

    file: str
    rows: list[dict] = field(
        default_factory=list
    )  # each: label, label_raw, image_id, box?, attributes


@dataclass
class Listing:
    """What a source found: items to decode, and problems found before decoding."""

    items: list[Item]
    problems: list[dict]  # each: file, reason
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count (by params, not errors)


def problem(file, reason: str) -> dict:
    """One rejected file (or box: FILE#k) and why; the path printable whatever its bytes."""
    return {"file": shown(file), "reason": reason}
