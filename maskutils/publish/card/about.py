"""The card's first sections (Mitchell et al.): model details, intended use, factors and metrics.
Every value is read here through `Sources`; the prose is in templates/card/*.html.j2."""

from __future__ import annotations

from maskutils.core import stats
from maskutils.publish.card.layout import maybe, part
from maskutils.publish.card.source import Missing, Sources, Value

T, P, B = "train.json", "train.yaml", "bias.json"


def study(s: Sources) -> str:
    """The kind of the studied model (train.json `study_model`); it must have results."""
    kind = s.get(T, "study_model")
    s.get(T, "models", kind)
    return kind


def audited(s: Sources, name: str, *base) -> bool:
    """Whether the audit block at `base` of `name` (bias.json, an external set's `bias`) holds an
    audit: a stage writes `audited: false`, with the `reason`, only when nothing was audited."""
    return not s.has(name, *base, "audited") or bool(s.get(name, *base, "audited"))


def unaudited(s: Sources, name: str, *base) -> Value:
    """Why the audit block at `base` holds no audit, tagged."""
    return s.v(name, *base, "reason", fmt="raw")


def items(s: Sources, name: str, *at) -> list[Value]:
    """Every item of a list (classes, attributes), tagged."""
    return [s.v(name, *at, i) for i in range(len(s.get(name, *at)))]


def pairs(s: Sources, name: str, *at) -> list[tuple[Value, Value]]:
    """(key, value) of every entry of a table (e.g. plant_bias.where), both tagged."""
    return [(s.key(name, *at, k), s.v(name, *at, k)) for k in s.keys(name, *at)]


def raw(s: Sources, name: str, *at) -> Value:
    """A params value as written: a float as Python spells it (0.0003), anything else by
    `fmt.num` (1,000)."""
    return s.v(name, *at, fmt="raw" if isinstance(s.get(name, *at), float) else "num")


# ---- model details ------------------------------------------------------------------------


def model_details(s: Sources) -> dict:
    return {
        "studied": part(s, _studied, T),
        "recipe": part(s, _recipe, P, T),
        "comparison": part(s, _comparison, T),
    }


def _studied(s: Sources) -> dict:
    try:
        kind = study(s)
    except Missing as exc:
        return {"unknown": str(exc), "named": maybe(s, lambda s: s.v(P, "model"))}
    m = ("models", kind)
    facts = {
        "unknown": None,
        "name": s.v(T, *m, "name"),
        "kind": s.key(T, *m),
        "parameters": s.v(T, *m, "parameters"),
        "best_epoch": s.v(T, *m, "best_epoch"),
        "task": s.v(T, "task"),
        "classes": items(s, T, "classes"),
        "made_with": None,
    }
    if s.has(T, "provenance"):
        p = ("provenance",)
        facts["made_with"] = {k: s.v(T, *p, k) for k in ("torch", "cpu", "device")}
    return facts


def _recipe(s: Sources) -> dict:
    recipe = {"input": maybe(s, _input), "settings": maybe(s, _settings)}
    recipe |= {
        k: raw(s, P, k)
        for k in (
            "epochs",
            "batch_size",
            "lr",
            "schedule",
            "weight_decay",
            "patience",
            "class_weights",
            "seed",
        )
    }
    recipe["transfer"] = None
    if s.get(P, "model") == "transfer":
        t = ("transfer",)
        recipe["transfer"] = {
            "backbone": raw(s, P, *t, "backbone"),
            "weights": raw(s, P, *t, "weights"),
            "fed": maybe(s, lambda s: s.v(T, "models", "transfer", "input_px")),
            "head_epochs": raw(s, P, *t, "head_epochs"),
            "lr": raw(s, P, *t, "lr"),
        }
    return recipe


#: the augmentation settings a recipe sets (modeling.recipes)
AUGMENT = ("rotation", "crop", "noise")


def _settings(s: Sources) -> dict:
    """The recipe `recipe` chose (train.json: its name, why, and the settings used)."""
    r, settings = ("recipe",), ("recipe", "settings")
    return {
        "name": s.v(T, *r, "name", fmt="raw"),
        "chosen_by": s.v(T, *r, "chosen_by", fmt="raw") if s.has(T, *r, "chosen_by") else None,
        "label_smoothing": s.v(T, *settings, "label_smoothing", fmt="raw"),
        "augment": {k: s.v(T, *settings, "augment", k, fmt="raw") for k in AUGMENT},
        "epochs": s.v(T, *settings, "transfer", "epochs", fmt="raw"),
        "unfreeze": s.v(T, *settings, "transfer", "unfreeze", fmt="pct"),
        "every_layer": s.get(T, *settings, "transfer", "unfreeze") == 1,
    }


def _input(s: Sources) -> dict:
    """The cache side, how it was chosen, and the studied model's input side, upsampling said."""
    res = ("resolution",)
    found = {"cached": s.v(T, *res, "cached_px"), "auto": None, "fed": None, "upsampled": False}
    if s.has(T, *res, "auto"):
        found["auto"] = s.v(T, *res, "auto", "rule")
    m = ("models", study(s))
    if s.has(T, *m, "input_px"):
        found["fed"] = s.v(T, *m, "input_px")
        found["upsampled"] = bool(s.get(T, *m, "upsampled"))
    return found


def _comparison(s: Sources) -> dict:
    def score(k):
        v = s.get(T, "models", k, "macro_f1", "value")
        return -1.0 if v is None else v

    studied = s.get(T, "study_model") if s.has(T, "study_model") else None
    rows = [
        {
            "name": s.v(T, "models", k, "name"),
            "studied": k == studied,
            "kind": s.key(T, "models", k),
            "parameters": s.v(T, "models", k, "parameters"),
            "macro_f1": s.v(T, "models", k, "macro_f1", fmt="ci"),
            "accuracy": s.v(T, "models", k, "accuracy", fmt="ci"),
            "n": s.v(T, "models", k, "n"),
        }
        for k in sorted(s.keys(T, "models"), key=lambda k: -score(k))
    ]
    found = {
        "rows": rows,
        "confidence": maybe(s, lambda s: s.v(P, "evaluate", "confidence", fmt="pct")),
    }
    found["paired"] = found["probe"] = found["random"] = None
    if s.has(T, "paired"):
        p = ("paired",)
        a, b = s.get(T, *p, "a"), s.get(T, *p, "b")
        found["paired"] = {
            "n": s.v(T, *p, "n"),
            "a": s.v(T, "models", a, "name"),
            "b": s.v(T, "models", b, "name"),
            "macro_f1": s.v(T, *p, "macro_f1_difference", fmt="ci"),
            "accuracy": s.v(T, *p, "accuracy_difference", fmt="ci"),
            "only_a": s.v(T, *p, "only_a_right"),
            "only_b": s.v(T, *p, "only_b_right"),
            "mcnemar_p": s.v(T, *p, "mcnemar_p"),
        }
    if s.has(T, "finetune_vs_probe"):
        d = ("finetune_vs_probe", "macro_f1_difference")
        words = {1: "beats", 0: "does not beat", -1: "is worse than", None: "has no verdict on"}
        verdict = words[stats.sign(s.get(T, *d))]
        found["probe"] = {"difference": s.v(T, *d, fmt="ci"), "verdict": verdict}
    if s.has(T, "vs_random_init"):
        d = ("vs_random_init", "macro_f1_difference")
        words = {1: "beat", 0: "do not beat", -1: "are worse than", None: "have no verdict on"}
        verdict = words[stats.sign(s.get(T, *d))]
        found["random"] = {"difference": s.v(T, *d, fmt="ci"), "verdict": verdict}
    return found


# ---- intended use -------------------------------------------------------------------------


def intended_use(s: Sources) -> dict:
    return {
        "classes": maybe(s, lambda s: items(s, T, "classes")),
        "size": maybe(s, lambda s: s.v(T, "resolution", "cached_px")),
        "recall": maybe(s, lambda s: s.v("detect.json", "recall", fmt="ci")),
    }


# ---- factors ------------------------------------------------------------------------------


def factors(s: Sources) -> dict:
    return {"audited": part(s, _audited, B), "planted": part(s, _planted, "prepare.yaml")}


def _audited(s: Sources) -> dict:
    if not audited(s, B):
        return {"unaudited": unaudited(s, B)}
    groups = [s.key(B, "attributes", a) for a in s.keys(B, "attributes")]
    m = ("mitigation",)
    found = {"unaudited": None, "groups": groups, "by": items(s, B, *m, "by")}
    method = s.get(B, *m, "method")
    found["prior"] = found["worst"] = found["rebalance"] = None
    if method == "group_prior":
        found["prior"] = {"strength": raw(s, B, *m, "strength")}
    elif method in ("worst_reweight", "worst_oversample"):
        found["worst"] = {
            "method": s.v(B, *m, "method"),
            "count": raw(s, B, *m, "count"),
            "boost": raw(s, B, *m, "boost"),
            "copies": method == "worst_oversample",
        }
    else:
        found["rebalance"] = {
            "method": s.v(B, *m, "method"),
            "cap": raw(s, B, *m, "oversample_cap"),
        }
    found["min_group"] = s.v(B, "min_group")
    return found


def _planted(s: Sources) -> dict:
    found = {"plant": None, "declared": None}
    pb = ("split", "plant_bias")
    if s.get("prepare.yaml", *pb, "where"):
        found["plant"] = {
            "where": pairs(s, "prepare.yaml", *pb, "where"),
            "keep": s.v("prepare.yaml", *pb, "keep", fmt="pct"),
        }
    h, by = ("planted",), "bias.yaml"
    if s.has(by, *h, "attribute"):
        found["declared"] = {"class": raw(s, by, *h, "class") if s.has(by, *h, "class") else None}
        found["declared"] |= {k: raw(s, by, *h, k) for k in ("metric", "direction", "attribute")}
        found["declared"]["group"] = raw(s, by, *h, "group")
    return found


# ---- metrics ------------------------------------------------------------------------------


def metrics(s: Sources) -> dict:
    found = {"binary": None}
    if s.has(P, "task") and s.get(P, "task") == "binary":
        found["binary"] = maybe(
            s,
            lambda s: {"task": raw(s, P, "task"), "positive": raw(s, P, "evaluate", "positive")},
        )
    found["test"] = maybe(
        s,
        lambda s: {
            "bootstrap": raw(s, P, "evaluate", "bootstrap"),
            "confidence": s.v(P, "evaluate", "confidence", fmt="pct"),
        },
    )
    found["kfold"] = maybe(
        s,
        lambda s: {
            "k": s.v("kfold.json", "k"),
            "confidence": s.v("kfold.yaml", "confidence", fmt="pct"),
        },
    )
    found["groups"] = maybe(s, _group_metrics)
    return found


def _group_metrics(s: Sources) -> dict:
    if not audited(s, B):
        return {"unaudited": unaudited(s, B)}
    found = {
        "unaudited": None,
        "bootstrap": s.v(B, "bootstrap"),
        "confidence": s.v(B, "confidence", fmt="pct"),
        "permutations": s.v(B, "permutations"),
        "family": None,
        "power": None,
    }
    if s.has(B, "family"):
        f = ("family",)
        found["family"] = {
            "method": s.v(B, *f, "method"),
            "size": s.v(B, *f, "size"),
            "level": s.v(B, *f, "level", digits=4),
        }
    if s.has(B, "mde", "power"):
        found["power"] = s.v(B, "mde", "power", fmt="pct")
    return found
