"""Stage parameters: defaults, validation and profiles.

Every parameter has its default here, in one place. A params file may leave a key out (the
default applies) but may not carry a key the schema does not know, or a value of the wrong type
or outside its allowed set: those are errors that name the file and the key.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml


class ParamsError(ValueError):
    """A params file or dict that does not match the schema; the message names file and key."""


#: stage -> nested defaults. A leaf tuple (default, allowed) restricts the value to `allowed`.
SCHEMA: dict[str, dict[str, Any]] = {
    "prepare": {
        "seed": 0,
        "image_size": 64,
        "workers": 2,
        "source": {
            "kind": ("synthetic", ("synthetic", "folder", "voc")),
            "root": None,
            "aliases": {},
        },
        "synthetic": {
            "n_images": 1500,
            "render_size": 64,
            "classes": ["no_mask", "cloth", "surgical", "n95", "n95_valve"],
            "spurious_cue": {"label": None, "fraction": 0.8},
        },
        "voc": {
            "margin": 0.15,
            "min_box_side": 10,
            "incorrect": ("keep", ("keep", "drop")),
        },
        "quality": {
            "hash_distance": 32,
            "candidate_distance": 12,
            "min_inliers": 30,
            "min_correlation": 0.85,
            "min_side": 32,
            "aspect_min": 0.25,
            "aspect_max": 4.0,
            "dark_mean": 5.0,
            "bright_mean": 250.0,
            "max_pixels": 60_000_000,
        },
        "split": {
            "test_fraction": 0.2,
            "val_fraction": 0.1,
            "folds": 5,
            "plant_bias": {"where": {}, "keep": 1.0},
        },
    },
    "train": {
        "seed": 0,
        "task": ("mask_type", ("mask_type", "binary")),
        "device": ("auto", ("auto", "cpu", "cuda", "mps")),
        "epochs": 20,
        "batch_size": 64,
        "lr": 0.003,
        "weight_decay": 0.0001,
        "class_weights": "auto",
        "label_smoothing": 0.0,
        "patience": 6,
        "schedule": ("onecycle", ("none", "cosine", "onecycle")),
        "augment": {"flip": True, "rotation": 30.0, "brightness": 0.2, "crop": 0.8, "noise": 0.03},
        "cnn": {
            "preset": ("small", ("small", "tiny3", "study5_leaky", "study5_relu")),
            "channels": None,
            "pool_after": None,
            "activation": None,
            "fc": None,
            "dropout": None,
        },
        "transfer": {
            "backbone": (
                "none",
                (
                    "none",
                    "mobilenet_v2",
                    "mobilenet_v3_small",
                    "resnet50",
                    "densenet121",
                    "inception_v3",
                    "xception",
                ),
            ),
            "weights": None,
            "freeze": False,
            "head_epochs": 0,
            "finetune_lr_factor": 0.1,
            "epochs": 10,
        },
        "baseline": {"enabled": True, "components": 60, "image_size": 32},
        "evaluate": {"bootstrap": 1000, "confidence": 0.95, "positive": "no_mask"},
        "external": {"kind": ("none", ("none", "folder", "voc")), "root": None},
        "report": {"gallery": 12, "dpi": 90},
    },
    "kfold": {
        "concurrent": ("auto", ("auto", "on", "off")),
        "overrides": {"epochs": 12},
        "confidence": 0.95,
        "dpi": 90,
    },
    "bias": {
        "attributes": "auto",
        "intersections": "auto",
        "min_group": 30,
        "bootstrap": 1000,
        "permutations": 1000,
        "confidence": 0.95,
        "mitigation": {
            "method": ("both", ("none", "reweight", "oversample", "both")),
            "by": "auto",
            "oversample_cap": 4.0,
        },
        "dpi": 90,
    },
    "gradcam": {
        "method": ("gradcam", ("gradcam", "gradcam++", "scorecam", "eigencam")),
        "target_layer": None,
        "target": ("pred", ("pred", "true")),
        "splits": ["test"],
        "images_per_class": 4,
        "batch_size": 32,
        "removal": 0.2,
        "bootstrap": 1000,
        "confidence": 0.95,
        "seed": 0,
        "shortcut": {"enabled": True, "label": None, "n": 100, "splits": ["test", "val", "train"]},
        "dpi": 90,
    },
    "detect": {
        "source": {"kind": ("synthetic", ("synthetic", "voc")), "root": None},
        "scenes": {
            "n": 30,
            "faces_per_scene": 6,
            "width": 640,
            "height": 480,
            "face_min": 32,
            "face_max": 128,
            "seed": 0,
        },
        "detector": {
            "kind": "frontal",
            "scale_factor": 1.1,
            "min_neighbors": 5,
            "min_size": 24,
            "upscale": 1.0,
            "nms_iou": 0.3,
        },
        "margin": 0.15,
        "iou_threshold": 0.5,
        "buckets": [24, 48, 96],
        "incorrect": ("exclude", ("exclude", "mask")),
        "bootstrap": 1000,
        "confidence": 0.95,
        "gallery": 4,
        "dpi": 80,
    },
    "eda": {
        "samples_per_class": 8,
        "duplicate_pairs_shown": 8,
        "problems_shown": 30,
        "shortcut_margin": 0.1,
        "dpi": 90,
    },
}

#: keys whose value may be None or of the given type(s), where the default alone cannot tell.
OPTIONAL_TYPES = {
    "prepare.source.root": (str,),
    "prepare.synthetic.spurious_cue.label": (str,),
    "train.transfer.weights": (str,),
    "train.external.root": (str,),
    "train.cnn.dropout": (float, int),
    "gradcam.target_layer": (str,),
    "detect.source.root": (str,),
    "gradcam.shortcut.label": (str,),
}
_INTS = lambda v: (
    isinstance(v, list)
    and v
    and all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in v)
)  # noqa: E731
_NAMES = lambda v: isinstance(v, list) and v and all(isinstance(i, str) and i for i in v)  # noqa: E731
#: keys whose value has a rule of its own: (check, what it must be).
CHECKS = {
    "train.class_weights": (
        lambda v: (
            v in ("auto", "none")
            or (
                isinstance(v, list)
                and v
                and all(
                    isinstance(i, (int, float)) and not isinstance(i, bool) and i >= 0 for i in v
                )
            )
        ),
        "'auto', 'none' or a list of non-negative numbers, one per class",
    ),
    "train.cnn.channels": (lambda v: v is None or _INTS(v), "null or a list of positive integers"),
    "train.cnn.pool_after": (
        lambda v: v is None or (isinstance(v, list) and all(isinstance(i, int) for i in v)),
        "null or a list of block indices",
    ),
    "train.cnn.fc": (
        lambda v: (
            v is None or (isinstance(v, list) and all(isinstance(i, int) and i > 0 for i in v))
        ),
        "null or a list of hidden sizes",
    ),
    "train.cnn.activation": (
        lambda v: v in (None, "relu", "leaky_relu"),
        "null, relu or leaky_relu",
    ),
    "bias.attributes": (
        lambda v: v == "auto" or _NAMES(v),
        "'auto' or a list of manifest column names",
    ),
    "bias.intersections": (
        lambda v: (
            v == "auto" or (isinstance(v, list) and all(_NAMES(i) and len(i) >= 2 for i in v))
        ),
        "'auto' or a list of column-name lists, e.g. [[gender, age]]",
    ),
    "bias.mitigation.by": (
        lambda v: v == "auto" or _NAMES(v),
        "'auto' or a list of manifest column names",
    ),
    "detect.detector.kind": (
        lambda v: (
            isinstance(v, str)
            and v
            and set(v.split("+"))
            <= {"frontal", "frontal_alt", "frontal_alt2", "frontal_alt_tree", "profile"}
        ),
        "frontal, frontal_alt, frontal_alt2, frontal_alt_tree or profile, or several joined with '+'",
    ),
    "detect.buckets": (
        lambda v: _INTS(v) and v == sorted(set(v)),
        "a list of increasing box sides in pixels",
    ),
    "gradcam.splits": (
        lambda v: _NAMES(v) and set(v) <= {"train", "val", "test", "excluded"},
        "a list of splits (train, val, test, excluded)",
    ),
    "gradcam.shortcut.splits": (
        lambda v: _NAMES(v) and set(v) <= {"train", "val", "test", "excluded"},
        "a list of splits (train, val, test, excluded)",
    ),
}
#: keys whose values are free-form mappings (names chosen by the user, not by the schema).
FREE_MAPS = {"prepare.source.aliases", "prepare.split.plant_bias.where", "kfold.overrides"}

RANGES = {
    "prepare.image_size": (8, 1024),
    "prepare.workers": (1, 64),
    "prepare.synthetic.n_images": (10, 10_000_000),
    "prepare.synthetic.render_size": (16, 1024),
    "prepare.synthetic.spurious_cue.fraction": (0.0, 0.95),
    "prepare.voc.margin": (0.0, 2.0),
    "prepare.voc.min_box_side": (1, 10_000),
    "prepare.quality.hash_distance": (0, 128),
    "prepare.quality.candidate_distance": (0, 32),
    "prepare.quality.min_inliers": (6, 200),
    "prepare.quality.min_correlation": (0.0, 1.0),
    "prepare.quality.min_side": (1, 100_000),
    "prepare.quality.max_pixels": (1_000_000, 2_000_000_000),
    "prepare.split.test_fraction": (0.05, 0.5),
    "prepare.split.val_fraction": (0.0, 0.5),
    "prepare.split.folds": (2, 20),
    "prepare.split.plant_bias.keep": (0.0, 1.0),
    "train.epochs": (1, 1000),
    "train.batch_size": (1, 4096),
    "train.lr": (1e-6, 1.0),
    "train.weight_decay": (0.0, 1.0),
    "train.label_smoothing": (0.0, 0.5),
    "train.patience": (1, 1000),
    "train.augment.rotation": (0.0, 180.0),
    "train.augment.brightness": (0.0, 0.9),
    "train.augment.crop": (0.3, 1.0),
    "train.augment.noise": (0.0, 1.0),
    "train.cnn.dropout": (0.0, 0.9),
    "train.transfer.head_epochs": (0, 1000),
    "train.transfer.finetune_lr_factor": (1e-4, 1.0),
    "train.transfer.epochs": (1, 1000),
    "train.baseline.components": (2, 2000),
    "train.baseline.image_size": (8, 128),
    "train.evaluate.bootstrap": (100, 100_000),
    "train.evaluate.confidence": (0.5, 0.999),
    "train.report.gallery": (1, 100),
    "train.report.dpi": (30, 300),
    "kfold.confidence": (0.5, 0.999),
    "kfold.dpi": (30, 300),
    "bias.min_group": (1, 100_000),
    "bias.bootstrap": (100, 100_000),
    "bias.permutations": (100, 100_000),
    "bias.confidence": (0.5, 0.999),
    "bias.mitigation.oversample_cap": (1.0, 100.0),
    "bias.dpi": (30, 300),
    "gradcam.images_per_class": (1, 50),
    "gradcam.batch_size": (1, 1024),
    "gradcam.removal": (0.01, 0.9),
    "gradcam.bootstrap": (100, 100_000),
    "gradcam.confidence": (0.5, 0.999),
    "gradcam.shortcut.n": (1, 10_000),
    "gradcam.dpi": (30, 300),
    "detect.scenes.n": (1, 100_000),
    "detect.scenes.faces_per_scene": (1, 50),
    "detect.scenes.width": (64, 8192),
    "detect.scenes.height": (64, 8192),
    "detect.scenes.face_min": (8, 4096),
    "detect.scenes.face_max": (8, 4096),
    "detect.detector.scale_factor": (1.01, 2.0),
    "detect.detector.min_neighbors": (0, 100),
    "detect.detector.min_size": (1, 4096),
    "detect.detector.upscale": (0.25, 8.0),
    "detect.detector.nms_iou": (0.01, 1.0),
    "detect.margin": (0.0, 2.0),
    "detect.iou_threshold": (0.05, 1.0),
    "detect.bootstrap": (0, 100_000),
    "detect.confidence": (0.5, 0.999),
    "detect.gallery": (0, 100),
    "detect.dpi": (30, 300),
    "eda.samples_per_class": (1, 64),
    "eda.duplicate_pairs_shown": (0, 200),
    "eda.problems_shown": (0, 10_000),
    "eda.shortcut_margin": (0.0, 1.0),
    "eda.dpi": (30, 300),
}


def defaults(stage: str) -> dict[str, Any]:
    """The default params of a stage as a plain nested dict."""
    if stage not in SCHEMA:
        raise ParamsError(f"unknown stage {stage!r}; stages are {', '.join(SCHEMA)}")
    return _strip(SCHEMA[stage])


def _strip(node):
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items()}
    if isinstance(node, tuple):
        return copy.deepcopy(node[0])
    return copy.deepcopy(node)


def validate(stage: str, params: dict[str, Any] | None, origin: str = "params") -> dict[str, Any]:
    """Defaults overlaid with `params`, checked key by key; raises ParamsError naming the key."""
    if stage not in SCHEMA:
        raise ParamsError(f"unknown stage {stage!r}; stages are {', '.join(SCHEMA)}")
    return _merge(SCHEMA[stage], params or {}, stage, origin)


def _merge(schema: dict, given: Any, path: str, origin: str) -> dict:
    if not isinstance(given, dict):
        raise ParamsError(f"{origin}: '{_key(path)}' must be a mapping, got {given!r}")
    unknown = sorted(set(given) - set(schema))
    if unknown:
        raise ParamsError(
            f"{origin}: unknown key '{_key(path + '.' + str(unknown[0]))}'"
            f" (known keys here: {', '.join(schema)})"
        )
    out = {}
    for name, rule in schema.items():
        full = f"{path}.{name}"
        if name not in given:
            out[name] = _strip(rule)
        elif isinstance(rule, dict) and full not in FREE_MAPS:
            out[name] = _merge(rule, given[name], full, origin)
        else:
            out[name] = _check_leaf(rule, given[name], full, origin)
    return out


def _check_leaf(rule, value, full: str, origin: str):
    key = _key(full)
    if isinstance(rule, tuple):
        default, allowed = rule
        if value not in allowed:
            raise ParamsError(
                f"{origin}: '{key}' is {value!r}; allowed: {', '.join(map(str, allowed))}"
            )
        return value
    if full in CHECKS:
        check, what = CHECKS[full]
        if not check(value):
            raise ParamsError(f"{origin}: '{key}' must be {what}, got {value!r}")
        return value
    if full in FREE_MAPS:
        if not isinstance(value, dict):
            raise ParamsError(f"{origin}: '{key}' must be a mapping, got {value!r}")
        return dict(value)
    if full in OPTIONAL_TYPES:
        if value is None:
            return value
        types = OPTIONAL_TYPES[full]
        if isinstance(value, bool) or not isinstance(value, types):
            what = "text" if types == (str,) else "a number"
            raise ParamsError(f"{origin}: '{key}' must be null or {what}, got {value!r}")
    else:
        _check_type(rule, value, key, origin)
    if full in RANGES and isinstance(value, (int, float)):
        lo, hi = RANGES[full]
        if not lo <= value <= hi:
            raise ParamsError(f"{origin}: '{key}' is {value!r}; must be between {lo} and {hi}")
    return value


def _check_type(default, value, key: str, origin: str) -> None:
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(value, bool) and isinstance(default, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float))
    elif isinstance(default, list):
        ok = (
            isinstance(value, list) and all(isinstance(v, type(default[0])) for v in value)
            if default
            else isinstance(value, list)
        )
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ParamsError(f"{origin}: '{key}' must be {type(default).__name__}, got {value!r}")


def _key(full: str) -> str:
    """'prepare.split.folds' -> 'split.folds' (the key as written in params/prepare.yaml)."""
    return full.split(".", 1)[1] if "." in full else full


def load(stage: str, path: str | Path) -> dict[str, Any]:
    """Read and validate one stage's params file."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file {path} not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc
    return validate(stage, raw, origin=str(path))


# ---- profiles ---------------------------------------------------------------------------------


def read_profile(path: str | Path) -> dict[str, dict]:
    """A profile file: {stage: {key: value}} overlays; stages and keys are checked."""
    path = Path(path)
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: a profile maps stage names to params")
    for stage, overlay in data.items():
        if stage not in SCHEMA:
            raise ParamsError(f"{path}: unknown stage '{stage}'; stages are {', '.join(SCHEMA)}")
        validate(stage, overlay, origin=f"{path} ({stage})")
    return data


def compose(profile_paths: list[Path]) -> dict[str, dict]:
    """Every stage's params: defaults, then each profile's overlay in the order given."""
    result = {stage: defaults(stage) for stage in SCHEMA}
    for path in profile_paths:
        for stage, overlay in read_profile(path).items():
            result[stage] = validate(stage, _deep_update(result[stage], overlay), origin=str(path))
    return result


def _deep_update(base: dict, overlay: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in overlay.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and v:
            out[k] = _deep_update(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def write_params(params_dir: Path, profile_names: list[str]) -> list[Path]:
    """Write params/<stage>.yaml for the named profiles (params/profiles/NAME.yaml) applied in order
    over the schema's defaults; no names: the `default` profile."""
    profile_names = list(profile_names) or ["default"]
    paths = []
    for name in profile_names:
        path = params_dir / "profiles" / f"{name}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in (params_dir / "profiles").glob("*.yaml"))
            raise ParamsError(
                f"no profile {name!r} (looked for {path}); profiles: {', '.join(known)}"
            )
        paths.append(path)
    written = []
    header = (
        f"# Written by `maskutils profile {' '.join(profile_names)}`; README lists every key.\n"
    )
    for stage, params in compose(paths).items():
        out = params_dir / f"{stage}.yaml"
        out.write_text(header + yaml.safe_dump(params, sort_keys=False))
        written.append(out)
    return written


def kfold_train_params(train: dict, kfold: dict) -> dict[str, Any]:
    """The train params k-fold uses: the train stage's, with `kfold.overrides` applied (checked)."""
    return validate(
        "train", _deep_update(train, kfold["overrides"]), origin="params/kfold.yaml (overrides)"
    )


def from_namespace(
    stage: str, namespace: dict, origin: str = "notebook parameters"
) -> dict[str, Any]:
    """A stage's params from a notebook's variables (papermill -f injects one per top-level key)."""
    return validate(stage, {k: namespace[k] for k in SCHEMA[stage] if k in namespace}, origin)
