"""Cross-validation over the train+val pool, with out-of-fold predictions for every image (the
k-fold stage runs it; the bias stage runs it again with a mitigation).

Folds come from the manifest (stratified, near-duplicate groups inside one fold). Each fold's
model trains on the other folds, early-stopping on a duplicate-aware 10% of them, and predicts
its own fold. Finished folds are saved with a key of everything that decides them, so an
interrupted run resumes where it stopped. Every fold trains on `threads` torch threads (they
decide its float sums). On a CPU, `workers` folds train at once, each in a process of its own
(`modeling.local_folds`). On a GPU the folds train concurrently in this process: every fold has
its own model, data, optimiser and BatchNorm statistics, its epochs run in turn on its own CUDA
stream, so their kernels overlap; interleaving does not change any fold's arithmetic. With
`executor="ray"` each pending fold is a Ray task instead (`modeling.ray_folds`). Every outcome is
written here the same way, so the results do not depend on where the folds ran.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from maskutils.core import metrics as m
from maskutils.core.progress import note
from maskutils.modeling import build, local_folds, rebalance, recipes
from maskutils.modeling.evaluate import predictions_table
from maskutils.modeling.fit import resolve_device
from maskutils.modeling.predict import predict_proba
from maskutils.prepare.prepared import Prepared
from maskutils.prepare.splits import one_fold


@dataclass
class KFoldRun:
    classes: list[str]
    folds: pd.DataFrame  # one row per fold: metrics, epochs, seconds
    oof: pd.DataFrame  # out-of-fold predictions: the predictions table plus `fold`
    histories: dict[int, pd.DataFrame]
    confusions: dict[int, np.ndarray]
    trained: list[int]  # folds trained by this run (the rest were resumed from disk)
    mode: str  # how they trained: sequential, concurrent (GPU), N processes, ray
    recipe: dict  # the training recipe every fold used (out_dir/recipe.json)


#: the share of each fold's training folds held out for early stopping
VAL_FRACTION = 0.1


def plan(p: Prepared, y: np.ndarray, val_fraction: float, seed: int) -> list[dict]:
    """Per fold: the rows it trains on, validates on (inside the training folds) and tests on.
    Rows `excluded` by a planted bias are tested in their fold and never trained or validated on."""
    df = p.manifest
    pool = np.flatnonzero(df["fold"].to_numpy() >= 0)
    folds = df["fold"].to_numpy()
    trainable = df["split"].to_numpy() != "excluded"
    out = []
    for k in sorted(np.unique(folds[pool])):
        rest = pool[(folds[pool] != k) & trainable[pool]]
        val = one_fold(y[rest], df["dup_group"].to_numpy()[rest], val_fraction, seed + k)
        out.append(
            {"fold": int(k), "train": rest[~val], "val": rest[val], "test": pool[folds[pool] == k]}
        )
    return out


#: the code that decides a fold's result: every module in these folders of maskutils (the k-fold
#: and bias stages list the same folders as their dvc deps; a test checks that they agree)
CODE_FOLDERS = ("core", "prepare", "modeling")


def fold_key(p: Prepared, cfg: dict, fold: dict, mitigation: dict | None, threads: int) -> str:
    """What decides a fold's result: the params it uses, its torch threads, which images go
    where, their pixels and the training code. A saved fold with another key is trained again."""
    ids = p.manifest["image_id"].to_numpy()
    h = hashlib.sha1(
        json.dumps(
            {
                "cfg": {k: v for k, v in cfg.items() if k not in build.unused_keys(cfg["model"])},
                "mitigation": rebalance.for_fold(mitigation, fold["fold"]),  # its own cells only
                "threads": threads,
                **{part: ids[fold[part]].tolist() for part in ("train", "val", "test")},
            },
            sort_keys=True,
        ).encode()
    )
    for part in ("train", "val", "test"):
        h.update(np.ascontiguousarray(p.images[np.sort(fold[part])]).tobytes())
    h.update(code_digest().encode())
    return h.hexdigest()[:16]


def code_digest() -> str:
    """sha1 over the path and bytes of every .py file in CODE_FOLDERS."""
    package = Path(__file__).parents[1]
    h = hashlib.sha1()
    for folder in CODE_FOLDERS:
        for path in sorted((package / folder).rglob("*.py")):
            h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


@dataclass
class Outcome:
    """What a trained fold leaves: its out-of-fold predictions and its training record."""

    table: pd.DataFrame
    history: pd.DataFrame
    best_epoch: int
    seconds: float


def run(
    p: Prepared,
    cfg: dict,
    out_dir: Path,
    concurrent: bool | None = None,
    mitigation: dict | None = None,
    executor: str = "local",
    address: str | None = None,
    threads: int | None = None,
    workers: int | str = 1,
) -> KFoldRun:
    """Trains the folds not already on disk, each on `threads` torch threads (None: as many as
    this process computes with). `mitigation`
    rebalances each fold's training rows (`modeling.rebalance`). `executor`: `local` (on a CPU
    `workers` processes, `auto`: the cores over `threads`; on a GPU concurrently in this process
    unless `concurrent` says otherwise) or `ray` (a task per fold on the Ray cluster at
    `address`, else $RAY_ADDRESS, else a local Ray instance)."""
    cfg = recipes.resolve(cfg, p.info)
    classes, y = p.task(cfg["task"])
    threads = threads or torch.get_num_threads()
    concurrent = resolve_device(cfg["device"]).type == "cuda" if concurrent is None else concurrent
    folds = plan(p, y, VAL_FRACTION, cfg["seed"])
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "recipe.json").write_text(json.dumps(cfg, indent=1, sort_keys=True))
    keys = {f["fold"]: fold_key(p, cfg, f, mitigation, threads) for f in folds}
    pending = [f for f in folds if not _load(out_dir, f["fold"], keys[f["fold"]])]
    if executor == "ray":
        from maskutils.modeling import ray_folds

        mode = "ray"
        done = ray_folds.train(
            train_fold, p, y, pending, cfg, classes, mitigation, address, threads
        )
    elif concurrent:
        mode, done = "concurrent", _interleaved(p, y, pending, cfg, classes, mitigation, threads)
    else:
        n_workers = local_folds.workers_for(workers, threads, len(pending))
        mode = f"{n_workers} processes" if n_workers > 1 else "sequential"
        done = local_folds.train(
            train_fold, p, y, pending, cfg, classes, mitigation, threads, n_workers
        )
    for f, res in done if pending else ():  # each saved as it finishes: an interruption keeps it
        _save(out_dir, f, keys[f["fold"]], res, threads)
    return _collect(out_dir, folds, classes, [f["fold"] for f in pending], mode, cfg)


def _interleaved(p, y, folds, cfg, classes, mitigation, threads):
    """(fold, outcome) as each finishes: every fold's trainer at once, their epochs in turn, each
    fold on a CUDA stream of its own (so their kernels overlap on a GPU)."""
    with local_folds.torch_threads(threads):
        trainers = {f["fold"]: _trainer(p, y, f, cfg, len(classes), mitigation) for f in folds}
        cuda = resolve_device(cfg["device"]).type == "cuda"
        streams = {k: torch.cuda.Stream() for k in trainers} if cuda else {}
        for stream in streams.values():  # the data uploads ran on the default stream
            stream.wait_stream(torch.cuda.current_stream())
        todo = list(folds)
        while todo:
            for f in list(todo):
                t = trainers[f["fold"]]
                with torch.cuda.stream(streams[f["fold"]]) if streams else contextlib.nullcontext():
                    t.epoch()
                    if t.done:
                        todo.remove(f)
                        yield f, outcome(t, p, y, f, classes)


def load(p: Prepared, out_dir: Path) -> KFoldRun:
    """The finished run in out_dir, with the recipe it used; an error if a fold is missing or
    was made otherwise."""
    path = out_dir / "recipe.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `dvc repro kfold` first")
    cfg = json.loads(path.read_text())
    classes, y = p.task(cfg["task"])
    folds = plan(p, y, VAL_FRACTION, cfg["seed"])
    stale = [
        f["fold"]
        for f in folds
        if not _load(out_dir, f["fold"], fold_key(p, cfg, f, None, _threads(out_dir, f["fold"])))
    ]
    if stale:
        raise FileNotFoundError(
            f"{out_dir}: folds {stale} are missing or were trained with other params, "
            "data or code: run `dvc repro kfold` first"
        )
    return _collect(out_dir, folds, classes, [], "resumed", cfg)


def _trainer(p, y, f, cfg, n_classes, mitigation=None):
    cfg = {**cfg, "seed": cfg["seed"] + f["fold"]}
    mitigation = rebalance.for_fold(mitigation, f["fold"])
    return build.trainer_for(p, y, f["train"], f["val"], cfg, n_classes, mitigation)


def train_fold(p, y, f, cfg, classes, mitigation=None) -> Outcome:
    """One fold trained to the end in this process, and its outcome."""
    t = _trainer(p, y, f, cfg, len(classes), mitigation)
    while not t.done:
        t.epoch()
    return outcome(t, p, y, f, classes)


def outcome(trainer, p, y, f, classes) -> Outcome:
    """A finished trainer's predictions on its fold's test rows."""
    res = trainer.result()
    probs = predict_proba(res.model, p.images[f["test"]])
    table = predictions_table(
        p.manifest["image_id"].to_numpy()[f["test"]], y[f["test"]], probs, classes
    )
    table.insert(1, "fold", f["fold"])
    return Outcome(table, res.history, res.best_epoch, res.seconds)


def _paths(out_dir: Path, k: int) -> dict[str, Path]:
    return {s: out_dir / f"fold{k}_{s}" for s in ("meta.json", "predictions.csv", "history.csv")}


def _save(out_dir, f, key, res: Outcome, threads: int) -> None:
    paths = _paths(out_dir, f["fold"])
    res.table.to_csv(paths["predictions.csv"], index=False)
    res.history.to_csv(paths["history.csv"], index=False)
    meta = {
        "key": key,
        "epochs": len(res.history),
        "best_epoch": res.best_epoch,
        "seconds": res.seconds,
        "threads": threads,
        "n_train": len(f["train"]),
        "n_val": len(f["val"]),
        "n_test": len(f["test"]),
    }
    paths["meta.json"].write_text(json.dumps(meta))  # written last: its presence marks it done
    note(
        f"fold {f['fold']}: {meta['epochs']} epochs (best {res.best_epoch}) in "
        f"{res.seconds:.0f} s, {len(f['train'])} training images"
    )


def _threads(out_dir: Path, k: int) -> int:
    """The torch threads a saved fold trained on (0 if it is not on disk or predates the record)."""
    path = _paths(out_dir, k)["meta.json"]
    return json.loads(path.read_text()).get("threads", 0) if path.is_file() else 0


def _load(out_dir: Path, k: int, key: str) -> bool:
    paths = _paths(out_dir, k)
    if not all(path.is_file() for path in paths.values()):
        return False
    return json.loads(paths["meta.json"].read_text()).get("key") == key


def _collect(out_dir, folds, classes, trained, mode, recipe) -> KFoldRun:
    rows, tables, histories, confusions = [], [], {}, {}
    for f in folds:
        k, paths = f["fold"], _paths(out_dir, f["fold"])
        meta = json.loads(paths["meta.json"].read_text())
        table = pd.read_csv(paths["predictions.csv"], dtype={"image_id": str})
        histories[k] = pd.read_csv(paths["history.csv"])
        index = {c: i for i, c in enumerate(classes)}
        cm = m.confusion(table["true"].map(index), table["pred"].map(index), len(classes))
        confusions[k] = cm
        pc = m.per_class(cm)
        rows.append(
            {
                "fold": k,
                "n": int(cm.sum()),
                "accuracy": float(np.trace(cm) / cm.sum()),
                "macro_precision": float(pc["precision"][m.present(cm)].mean()),
                "macro_recall": float(pc["recall"][m.present(cm)].mean()),
                "macro_f1": float(m.macro_f1_from(cm)),
                **{f"f1_{c}": float(pc["f1"][i]) for i, c in enumerate(classes)},
                "epochs": meta["epochs"],
                "best_epoch": meta["best_epoch"],
                "seconds": meta["seconds"],
            }
        )
        tables.append(table)
    return KFoldRun(
        classes,
        pd.DataFrame(rows),
        pd.concat(tables, ignore_index=True),
        histories,
        confusions,
        trained,
        mode,
        recipe,
    )
