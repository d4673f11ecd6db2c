"""Canonical classes, the folder-name alias table, and the two tasks of the study."""

from __future__ import annotations

import re

#: The five mask types of the study, plus the generic and VOC-only classes some datasets bring.
MASK_TYPES = ("no_mask", "cloth", "surgical", "n95", "n95_valve")
CLASSES = MASK_TYPES + ("mask", "incorrect")
TASKS = ("mask_type", "binary")

_ALIASES = {
    "no_mask": [
        "no_mask",
        "nomask",
        "no mask",
        "nfm",
        "without_mask",
        "withoutmask",
        "without mask",
        "unmasked",
        "face",
        "no_face_mask",
        "face_no_mask",
        "not_wearing_mask",
    ],
    "cloth": [
        "cloth",
        "cloth_mask",
        "clothmask",
        "cloth mask",
        "cloth_face_mask",
        "fabric",
        "fabric_mask",
    ],
    "surgical": [
        "surgical",
        "surgicalmask",
        "surgical_mask",
        "surgical mask",
        "mask_surgical",
        "srg",
        "medical",
        "medical_mask",
    ],
    "n95": [
        "n95",
        "n95mask",
        "n95_mask",
        "n95 mask",
        "ffp2",
        "ffp2_mask",
        "ffp3",
        "ffp3_mask",
        "kn95",
        "kn95_mask",
    ],
    "n95_valve": [
        "n95_valve",
        "n95-valve",
        "n95 valve",
        "n95v",
        "with_valve",
        "n95valve",
        "n95 with valve",
        "ffp2_valve",
        "ffp3_valve",
        "kn95_valve",
    ],
    "mask": [
        "mask",
        "with_mask",
        "withmask",
        "with mask",
        "masked",
        "face_mask",
        "face_with_mask",
        "wearing_mask",
    ],
    "incorrect": [
        "incorrect",
        "mask_weared_incorrect",
        "mask_worn_incorrectly",
        "mask_worn_incorrect",
        "incorrect_mask",
        "face_with_mask_incorrect",
    ],
}


def normalise(name: str) -> str:
    """Lower-case, and treat '-', ' ' and '_' alike, so 'Cloth mask' and 'cloth-mask' match."""
    return re.sub(r"[\s_\-]+", "_", name.strip().lower())


def alias_table(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Normalised alias -> canonical class; `extra` (from params) adds or overrides entries."""
    table = {normalise(a): cls for cls, names in _ALIASES.items() for a in names}
    for alias, cls in (extra or {}).items():
        if cls not in CLASSES:
            raise ValueError(
                f"alias {alias!r} maps to unknown class {cls!r}; classes are {', '.join(CLASSES)}"
            )
        table[normalise(alias)] = cls
    return table


def canonical(name: str, table: dict[str, str]) -> str | None:
    """The canonical class of a folder or VOC name, or None when the table does not know it."""
    return table.get(normalise(name))


def task_label(label: str, task: str) -> str:
    """The label of one image under a task: `binary` folds every mask type into `mask`."""
    if task == "mask_type":
        return label
    if task == "binary":
        return "no_mask" if label == "no_mask" else "mask"
    raise ValueError(f"unknown task {task!r}; tasks are {', '.join(TASKS)}")


def known_label(label: str, task: str, classes: list[str]) -> str | None:
    """The class among `classes` a model of `task` would call an image of `label`, or None: a
    model that knows only the generic `mask` scores every mask type as `mask`."""
    out = task_label(label, task)
    if out not in classes and "mask" in classes and out in MASK_TYPES[1:]:
        out = "mask"
    return out if out in classes else None


def task_classes(labels, task: str) -> list[str]:
    """The classes of a task present in `labels`, in canonical order."""
    present = {task_label(lab, task) for lab in labels}
    return [c for c in CLASSES if c in present]
