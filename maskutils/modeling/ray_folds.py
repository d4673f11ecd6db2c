"""Folds as Ray tasks: the k-fold and bias stages' `executor: ray`.

Each pending fold is one task (`crossval.train_fold`, the function the local executor runs), sent
with the prepared data through Ray's object store, so the workers need no shared disk. A task
computes on the fold's `threads` (Ray would set torch's from the task's CPUs), and it runs the
driver's own copy of `maskutils` (shipped as a `py_modules` runtime environment), so a fold trains
on the same code and arithmetic as it would locally, and its outcome is written here the same way:
the metrics files are byte-identical to the local executor's on the same kind of CPU.

The cluster: `address` (params), else $RAY_ADDRESS, else a Ray instance started on this machine
for the run (docs/cluster.md). A Ray session this process already holds is used as it is.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import torch

from maskutils.modeling.fit import resolve_device

PACKAGE = Path(__file__).resolve().parents[1]  # the maskutils folder the workers import


@contextlib.contextmanager
def session(address: str | None):
    """A Ray session on the cluster at `address`, else $RAY_ADDRESS, else a local instance, with
    this process's maskutils shipped to the workers; one this process already holds is used as it
    is (and left open)."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(
            address=address or os.environ.get("RAY_ADDRESS") or None,
            runtime_env={"py_modules": [str(PACKAGE)], "excludes": ["__pycache__"]},
            include_dashboard=False,
            log_to_driver=False,
        )
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def in_turn(ray, refs: dict) -> Iterator:
    """(what a ref was sent for, its result) for every ref, in the order they finish."""
    todo = list(refs)
    while todo:
        done, todo = ray.wait(todo, num_returns=1)
        yield refs[done[0]], ray.get(done[0])


def train(
    fit, p, y, folds: list[dict], cfg: dict, classes, mitigation, address, threads
) -> Iterator:
    """(fold, fit(p, y, fold, cfg, classes, mitigation)) for every fold, in the order they
    finish (`fit`: `crossval.train_fold`), each task on `threads` CPUs and torch threads."""
    with session(address) as ray:
        gpu = 1 if resolve_device(cfg["device"]).type == "cuda" else 0  # a fold per GPU
        task = ray.remote(num_cpus=threads, num_gpus=gpu)(_task)
        data = ray.put((p, y))
        jobs = {task.remote(fit, data, f, cfg, classes, mitigation, threads): f for f in folds}
        yield from in_turn(ray, jobs)


def _task(fit, data, f, cfg, classes, mitigation, threads):
    torch.set_num_threads(threads)
    p, y = data
    return fit(p, y, f, cfg, classes, mitigation)
