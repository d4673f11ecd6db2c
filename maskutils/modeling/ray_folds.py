"""Folds as Ray tasks: the k-fold and bias stages' `executor: ray`.

Each pending fold is one task (`crossval.train_fold`, the function the local executor runs), sent
with the prepared data through Ray's object store, so the workers need no shared disk. A task
uses this process's torch thread count (Ray would set it from the task's CPUs), and it runs the
driver's own copy of `maskutils` (shipped as a `py_modules` runtime environment), so a fold trains
on the same code and arithmetic as it would locally, and its outcome is written here the same way:
the metrics files are byte-identical to the local executor's on the same kind of CPU.

The cluster: `address` (params), else $RAY_ADDRESS, else a Ray instance started on this machine
for the run (docs/cluster.md). A Ray session this process already holds is used as it is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import torch

from maskutils.modeling import crossval
from maskutils.modeling.fit import resolve_device

PACKAGE = Path(__file__).resolve().parents[1]  # the maskutils folder the workers import


def train(p, y, folds: list[dict], cfg: dict, classes: list[str], mitigation, address) -> Iterator:
    """(fold, crossval.Outcome) for every fold, in the order they finish."""
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - ray is a dependency
        raise RuntimeError("executor: ray needs the `ray` package (make install)") from exc
    started = not ray.is_initialized()
    if started:
        ray.init(
            address=address or os.environ.get("RAY_ADDRESS") or None,
            runtime_env={"py_modules": [str(PACKAGE)], "excludes": ["__pycache__"]},
            include_dashboard=False,
            log_to_driver=False,
        )
    try:
        threads = torch.get_num_threads()
        gpu = 1 if resolve_device(cfg["device"]).type == "cuda" else 0  # a fold per GPU
        task = ray.remote(num_cpus=threads, num_gpus=gpu)(_task)
        data = ray.put((p, y))
        jobs = {task.remote(data, f, cfg, classes, mitigation, threads): f for f in folds}
        todo = list(jobs)
        while todo:
            done, todo = ray.wait(todo, num_returns=1)
            yield jobs[done[0]], ray.get(done[0])
    finally:
        if started:
            ray.shutdown()


def _task(data, f, cfg, classes, mitigation, threads) -> crossval.Outcome:
    torch.set_num_threads(threads)
    p, y = data
    return crossval.train_fold(p, y, f, cfg, classes, mitigation)
