"""The training recipe's data-dependent settings, chosen by `recipe` in params/train.yaml: the
values measured best on each kind of data. A setting left null takes its recipe's value; a number
written in the params overrides it.

`auto` follows the prepared data's source, as `prepare.image_size: auto` does: the synthetic
default keeps the recipe its metrics were made with, and class folders of photos get the recipe
measured on them (docs/results.md, "what fine-tuning adds"): on mask4-attributes' 5 folds it
scored macro-F1 0.942 against the synthetic recipe's 0.906, on binary-4k the same as the best
synthetic variant. VOC sources keep the synthetic recipe: their faces are crops of street scenes,
mostly tiny (voc-300: median 22 px), and there `photos` scored 0.539 against 0.672 over 5 folds
(benchmarks/results/study_voc_photos.json, study_voc.json).
"""

from __future__ import annotations

import copy

RECIPES = {
    # the synthetic default's: strong augmentation, every layer fine-tuned for 4 epochs
    "synthetic": {
        "label_smoothing": 0.0,
        "augment": {"rotation": 30.0, "crop": 0.8, "noise": 0.03},
        "transfer": {"epochs": 4, "unfreeze": 1.0},
    },
    # real photos: milder augmentation (the head is trained on clean features), the last half
    # of the backbone's layers for 8 epochs, label smoothing 0.1
    # (benchmarks/results/finetune_mask4_recipe.json, finetune_mask4_5fold_variants.json)
    "photos": {
        "label_smoothing": 0.1,
        "augment": {"rotation": 10.0, "crop": 0.9, "noise": 0.0},
        "transfer": {"epochs": 8, "unfreeze": 0.5},
    },
}
NAMES = ("auto", *RECIPES)
#: what `auto` picks for each kind of source (`prepare.source.kind`)
BY_SOURCE = {"synthetic": "synthetic", "folder": "photos", "voc": "synthetic"}


def chosen(recipe: str, source_kind: str) -> tuple[str, str | None]:
    """(the recipe's name, why `auto` chose it; None when the params named it)."""
    if recipe != "auto":
        return recipe, None
    return BY_SOURCE[source_kind], f"auto: a {source_kind} source"


def resolve(cfg: dict, info: dict) -> dict:
    """A copy of the training params `cfg` with every null recipe setting filled from the recipe
    chosen for the prepared data (`info`: its info.json) and `recipe` set to that name; already
    resolved params come back equal. Params without `recipe` (a checkpoint's, written before it
    existed) hold every setting as a number and are taken as `auto`."""
    return fill(cfg, chosen(cfg.get("recipe", "auto"), info["params"]["source"]["kind"])[0])


def fill(cfg: dict, name: str) -> dict:
    """A copy of `cfg` with its null recipe settings taken from the recipe `name`."""
    out = copy.deepcopy(cfg)
    _fill(out, RECIPES[name])
    out["recipe"] = name
    return out


def _fill(node: dict, values: dict) -> None:
    for key, value in values.items():
        if isinstance(value, dict):
            _fill(node[key], value)
        elif node[key] is None:
            node[key] = value


def record(given: dict, resolved: dict, info: dict) -> dict:
    """What the train metrics say of the recipe: its name, why `auto` chose it (null when the
    params named it), and each of its settings as used, with those the params wrote themselves."""
    name, why = chosen(given["recipe"], info["params"]["source"]["kind"])
    return {
        "name": name,
        "chosen_by": why,
        "settings": _pick(resolved, RECIPES[name]),
        "from_params": _given(given, RECIPES[name]),
    }


def _pick(node: dict, layout: dict) -> dict:
    """node's values at the keys of `layout` (nested the same way)."""
    return {k: _pick(node[k], v) if isinstance(v, dict) else node[k] for k, v in layout.items()}


def _given(node: dict, layout: dict, prefix: str = "") -> list[str]:
    """The dotted keys of `layout` that `node` sets (not null)."""
    out = []
    for key, value in layout.items():
        if isinstance(value, dict):
            out += _given(node[key], value, f"{prefix}{key}.")
        elif node[key] is not None:
            out.append(f"{prefix}{key}")
    return out
