"""Params rows: each parameter's default, allowed values and one-line help, written once.

A stage declares its rows in its own `params.py` (`Schema("train", [Param(...), ...])`). From the
rows come the defaults, validation of `params/<stage>.yaml`, the profiles (`maskutils profile`),
and `docs/params.md`. A params file may leave a key out (the default applies) but may not carry a
key the rows do not know, or a value of the wrong type or outside its allowed set: those are
errors that name the file and the key.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml


class ParamsError(ValueError):
    """A params file or dict that does not match the rows; the message names file and key."""


#: Seeds are 32-bit unsigned: every generator the study seeds (numpy, torch, sklearn) takes them.
SEED_RANGE = (0, 2**32 - 1)


@dataclass(frozen=True)
class Param:
    """One parameter. `key` is dotted (`augment.flip` is `flip` under `augment:`)."""

    key: str
    default: Any
    help: str
    choices: tuple | None = None  # the value must be one of these
    range: tuple | None = None  # (low, high), inclusive, for numbers
    check: Callable[[Any], bool] | None = None  # a rule of its own ...
    must: str = ""  # ... and what it requires, for the error message
    nullable: tuple | None = None  # None, or a value of these types
    mapping: bool = False  # a free-form mapping: names chosen by the user
    entries: Schema | None = None  # a mapping of names chosen by the user to values of this schema

    def allowed(self) -> str:
        """What the value may be, in words (for docs/params.md)."""
        if self.choices:
            return " \\| ".join(f"`{c}`" for c in self.choices)
        if self.must:
            return self.must
        if self.entries is not None:
            return f"a mapping of names to {self.entries.stage} (keys `{self.key}.NAME.*` below)"
        if self.mapping:
            return "a mapping"
        kind = "number" if isinstance(self.default, float) else type(self.default).__name__
        if self.nullable:
            kind = "null or " + ("text" if self.nullable == (str,) else "a number")
        if self.range:
            kind += f", {self.range[0]} to {self.range[1]}"
        return kind


@dataclass(frozen=True)
class Rule:
    """A check across rows, e.g. `quality.aspect_min` <= `quality.aspect_max`: `check` gets the
    values of `keys` (after each row's own check); `must` says what it requires."""

    keys: tuple[str, ...]
    check: Callable[..., bool]
    must: str


def at_most(low: str, high: str) -> Rule:
    """The rule `low` <= `high` (a range given as two rows)."""
    return Rule((low, high), lambda a, b: a <= b, f"'{low}' at most '{high}'")


class Schema:
    """The rows of one stage, and its rules across rows: defaults, validation and the docs."""

    def __init__(self, stage: str, rows: list[Param], rules: list[Rule] = ()):
        self.stage, self.rows, self.rules = stage, list(rows), list(rules)
        self.tree: dict = {}
        for row in self.rows:
            node = self.tree
            *parents, leaf = row.key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            if leaf in node:
                raise ValueError(f"{stage}: param {row.key!r} declared twice")
            node[leaf] = row

    def defaults(self) -> dict[str, Any]:
        """The default params as a plain nested dict."""
        return _strip(self.tree)

    def validate(self, params: dict[str, Any] | None, origin: str = "params") -> dict[str, Any]:
        """Defaults overlaid with `params`, checked key by key; raises ParamsError naming the
        key."""
        out = _merge(self.tree, params or {}, "", origin)
        for rule in self.rules:
            values = [_get(out, key) for key in rule.keys]
            if not rule.check(*values):
                given = ", ".join(f"{k} = {v!r}" for k, v in zip(rule.keys, values))
                raise ParamsError(f"{origin}: {rule.must} is required; got {given}")
        return out

    def load(self, path: str | Path) -> dict[str, Any]:
        """Read and validate the stage's params file."""
        return self.validate(read_yaml(path), origin=str(path))

    def markdown(self) -> str:
        """The stage's rows as a Markdown table (docs/params.md)."""
        lines = ["| key | default | allowed | meaning |", "|---|---|---|---|"]
        rules = [r.must for r in self.rules]
        for r in self.rows:
            default = yaml.safe_dump(r.default, default_flow_style=True).strip().removesuffix("...")
            lines.append(f"| `{r.key}` | `{default.strip()}` | {r.allowed()} | {r.help} |")
            if r.entries is not None:  # its entries' rows, keyed `key.NAME.sub`
                sub = r.entries.markdown().splitlines()[2:]
                lines += [x.replace("| `", f"| `{r.key}.NAME.", 1) for x in sub if x[:3] == "| `"]
                rules += [f"in each `{r.key}.NAME`, {rule.must}" for rule in r.entries.rules]
        if rules:
            lines += ["", "Across keys: " + "; ".join(rules) + "."]
        return "\n".join(lines)


def _strip(node):
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items()}
    return copy.deepcopy(node.default)


def _merge(tree: dict, given: Any, path: str, origin: str) -> dict:
    if not isinstance(given, dict):
        raise ParamsError(f"{origin}: '{path}' must be a mapping, got {given!r}")
    unknown = sorted(set(given) - set(tree), key=str)
    if unknown:
        raise ParamsError(
            f"{origin}: unknown key '{_join(path, unknown[0])}' (known keys here: "
            f"{', '.join(tree)})"
        )
    out = {}
    for name, node in tree.items():
        if name not in given:
            out[name] = _strip(node)
        elif isinstance(node, dict):
            out[name] = _merge(node, given[name], _join(path, name), origin)
        else:
            out[name] = _check(node, given[name], origin)
    return out


def _get(tree: dict, key: str):
    for part in key.split("."):
        tree = tree[part]
    return tree


def _join(path: str, name) -> str:
    return f"{path}.{name}" if path else str(name)


def _check(row: Param, value, origin: str):
    key = row.key
    if row.choices is not None:
        if value not in row.choices:
            raise ParamsError(
                f"{origin}: '{key}' is {value!r}; allowed: {', '.join(map(str, row.choices))}"
            )
        return value
    if row.check is not None:
        if not row.check(value):
            raise ParamsError(f"{origin}: '{key}' must be {row.must}, got {value!r}")
        return value
    if row.entries is not None:
        if not isinstance(value, dict):
            raise ParamsError(f"{origin}: '{key}' must be a mapping of names, got {value!r}")
        bad = [n for n in value if not isinstance(n, str) or not re.fullmatch(r"[\w-]+", n)]
        if bad:
            raise ParamsError(
                f"{origin}: '{key}' has the name {bad[0]!r}; names are letters, digits, '_' or '-'"
            )
        return {n: row.entries.validate(v, origin=f"{origin}: {key}.{n}") for n, v in value.items()}
    if row.mapping:
        if not isinstance(value, dict):
            raise ParamsError(f"{origin}: '{key}' must be a mapping, got {value!r}")
        return dict(value)
    if row.nullable is not None:
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, row.nullable):
            what = "text" if row.nullable == (str,) else "a number"
            raise ParamsError(f"{origin}: '{key}' must be null or {what}, got {value!r}")
    else:
        _check_type(row.default, value, key, origin)
    if row.range is not None and isinstance(value, (int, float)):
        lo, hi = row.range
        if not lo <= value <= hi:
            raise ParamsError(f"{origin}: '{key}' is {value!r}; must be between {lo} and {hi}")
    return value


def _check_type(default, value, key: str, origin: str) -> None:
    if isinstance(default, bool) or isinstance(value, bool):
        ok = isinstance(value, bool) and isinstance(default, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float))
    elif isinstance(default, list):
        ok = isinstance(value, list) and (
            all(isinstance(v, type(default[0])) for v in value) if default else True
        )
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ParamsError(f"{origin}: '{key}' must be {type(default).__name__}, got {value!r}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (the last would win)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice (lines {seen[key]} and {line})"
                )
            seen[key] = line
        return super().construct_mapping(node, deep)


def read_yaml(path: str | Path) -> Any:
    """A YAML file's content; a missing file, text that is not UTF-8, bad YAML or a key given
    twice is a ParamsError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file {path} not found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParamsError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8"
        ) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc


def deep_update(base: dict, overlay: dict) -> dict:
    """A copy of `base` with `overlay` written over it, mapping by mapping."""
    out = copy.deepcopy(base)
    for k, v in overlay.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and v:
            out[k] = deep_update(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


# ---- profiles: overlays of every stage's params ------------------------------------------------


def read_profile(path: str | Path, schemas: dict[str, Schema]) -> dict[str, dict]:
    """A profile file: {stage: {key: value}} overlays; stages and keys are checked."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: a profile maps stage names to params")
    for stage, overlay in data.items():
        if stage not in schemas:
            raise ParamsError(f"{path}: unknown stage '{stage}'; stages are {', '.join(schemas)}")
        schemas[stage].validate(overlay, origin=f"{path} ({stage})")
    return data


def compose(profile_paths: list[Path], schemas: dict[str, Schema]) -> dict[str, dict]:
    """Every stage's params: defaults, then each profile's overlay in the order given."""
    result = {stage: s.defaults() for stage, s in schemas.items()}
    for path in profile_paths:
        for stage, overlay in read_profile(path, schemas).items():
            merged = deep_update(result[stage], overlay)
            result[stage] = schemas[stage].validate(merged, origin=str(path))
    return result


def write_params(
    params_dir: Path, profile_names: list[str], schemas: dict[str, Schema]
) -> list[Path]:
    """Write params/<stage>.yaml for the named profiles (params/profiles/NAME.yaml) applied in
    order over the defaults; no names: the `default` profile."""
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
    header = (
        f"# Written by `maskutils profile {' '.join(profile_names)}`; "
        "docs/params.md lists every key.\n"
    )
    written = []
    for stage, params in compose(paths, schemas).items():
        out = params_dir / f"{stage}.yaml"
        out.write_text(header + yaml.safe_dump(params, sort_keys=False))
        written.append(out)
    return written


# ---- rows several stages share -----------------------------------------------------------------


def dpi(default: int = 90) -> Param:
    return Param("dpi", default, "figure resolution (dots per inch)", range=(30, 300))


def confidence(key: str = "confidence") -> Param:
    return Param(key, 0.95, "level of every interval", range=(0.5, 0.999))


def bootstrap(key: str = "bootstrap", low: int = 100, what: str = "images") -> Param:
    return Param(
        key, 1000, f"bootstrap resamples of the {what} for every interval", range=(low, 100_000)
    )


def seed(key: str = "seed", help: str = "seeds every random draw") -> Param:
    return Param(key, 0, help, range=SEED_RANGE)


def auto_or_int(low: int, high: int) -> Callable[[Any], bool]:
    """A check for `auto` or a whole number from low to high (a side that can be chosen for you)."""
    return lambda v: (
        v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and low <= v <= high)
    )


def positive_ints(v) -> bool:
    return (
        isinstance(v, list)
        and bool(v)
        and all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in v)
    )


def names(v) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(i, str) and i for i in v)
