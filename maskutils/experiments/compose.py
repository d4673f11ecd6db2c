"""A run's params: every stage's, from params/profiles over the defaults, then `stage.key=value`
overrides, each checked against its row."""

from __future__ import annotations

from pathlib import Path

import yaml

from maskutils.core.params import ParamsError, compose, deep_update


def params_for(profiles: list[str], sets: list[str], params_dir: Path) -> dict:
    """Every stage's params: the profiles (params_dir/profiles/NAME.yaml, in order) over the
    defaults, then each `stage.key=value` override (its value read as YAML)."""
    from maskutils.stages import SCHEMAS

    paths = []
    for name in profiles:
        path = Path(params_dir) / "profiles" / f"{name}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in (Path(params_dir) / "profiles").glob("*.yaml"))
            raise ParamsError(f"{path}: no such profile; known: {', '.join(known)}")
        paths.append(path)
    out = compose(paths, SCHEMAS)
    for item in sets:
        key, sep, value = item.partition("=")
        stage, _, dotted = key.partition(".")
        if not sep or stage not in SCHEMAS or not dotted:
            raise ParamsError(f"{item!r}: expected stage.key=value, stages: {', '.join(SCHEMAS)}")
        overlay: dict = {}
        node = overlay
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
        out[stage] = SCHEMAS[stage].validate(deep_update(out[stage], overlay), origin=item)
    return out


def recipe(params: dict, seed: int, model: str | None = None) -> dict:
    """The k-fold stage's training recipe of these params (`stages.kfold.run.recipe_of`), with the
    run's own seed and, if given, model (`transfer` or `cnn`: no train stage runs to choose)."""
    from maskutils.stages.kfold.run import recipe_of

    if (model or params["train"]["model"]) == "best":
        raise ParamsError("model 'best' is chosen by the train stage: name transfer or cnn")
    given = {**params["train"], "seed": seed, "model": model or params["train"]["model"]}
    return recipe_of(given, params["kfold"], "run params")
