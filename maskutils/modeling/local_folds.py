"""Folds in processes of their own on this machine: the k-fold and bias stages' `executor: local`
on a CPU.

A fold's float sums depend on how many torch threads compute them, so every fold trains with the
`threads` its params name, in this process or in a worker: the results are the same for any
`workers`, on any number of cores. Small models use few threads well, so on a machine with many
cores several folds at once finish sooner than one fold after another on every core; on 2 cores,
two MobileNetV2 folds on one thread each take as long as one after another on two
(docs/results.md). The workers are spawned (never forked: a forked OpenMP pool can hang) and get
the prepared data once each.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

import torch

_DATA: tuple = ()  # a worker's (prepared data, labels), set once by _start


def workers_for(workers: int | str, threads: int, pending: int) -> int:
    """How many folds train at once: `workers` (`auto`: the cores this process may use over
    `threads`), never more than the folds pending."""
    if workers == "auto":
        workers = max(1, len(os.sched_getaffinity(0)) // threads)
    return max(1, min(int(workers), pending))


@contextlib.contextmanager
def torch_threads(n: int):
    """torch computes with `n` threads inside the block (restored after it)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train(fit, p, y, folds: list[dict], cfg, classes, mitigation, threads, workers) -> Iterator:
    """(fold, fit(p, y, fold, cfg, classes, mitigation)) for every fold, in the order they finish
    (`fit`: `crossval.train_fold`), `workers` at a time, each on `threads` threads."""
    if workers <= 1:
        with torch_threads(threads):
            for f in folds:
                yield f, fit(p, y, f, cfg, classes, mitigation)
        return
    context = get_context("spawn")
    with ProcessPoolExecutor(
        workers, context, initializer=_start, initargs=(p, y, threads)
    ) as pool:
        jobs = {pool.submit(_task, fit, f, cfg, classes, mitigation): f for f in folds}
        for job in as_completed(jobs):
            yield jobs[job], job.result()


def _start(p, y, threads: int) -> None:
    global _DATA
    torch.set_num_threads(threads)
    _DATA = (p, y)


def _task(fit, f, cfg, classes, mitigation):
    p, y = _DATA
    return fit(p, y, f, cfg, classes, mitigation)
