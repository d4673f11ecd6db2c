"""Runs a function over jobs: `local` (in this process, or in `workers` spawned processes) or
`ray` (one Ray task per job on a cluster: `modeling.ray_folds.session`). Each job names its torch
thread count (`threads`) and sets it wherever it runs, so a job gives the same result on any
executor. Results come back in job order; `done(job, result)` is called here, on this machine, as
each one finishes (to keep it, so an interrupted study keeps what finished)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

EXECUTORS = ("local", "ray")


def run_all(
    fn: Callable[[dict], dict],
    jobs: list[dict],
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    done: Callable[[dict, dict], None] | None = None,
) -> list[dict]:
    """fn(job) for every job (fn sets torch's threads from job["threads"])."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor {executor!r}: expected one of {', '.join(EXECUTORS)}")
    out: dict[int, dict] = {}

    def finished(i: int, result: dict) -> None:
        out[i] = result
        if done is not None:
            done(jobs[i], result)

    if executor == "ray":
        from maskutils.modeling.ray_folds import in_turn, session

        with session(address) as ray:
            task = ray.remote(fn)  # sent to the cluster once, run with each job's CPUs
            refs = {task.options(num_cpus=j["threads"]).remote(j): i for i, j in enumerate(jobs)}
            for i, result in in_turn(ray, refs):
                finished(i, result)
    elif workers > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
            for future in as_completed(futures):
                finished(futures[future], future.result())
    else:
        for i, job in enumerate(jobs):
            finished(i, fn(job))
    return [out[i] for i in range(len(jobs))]
