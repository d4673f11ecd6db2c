"""A grid of experiments: datasets (params profiles) x models x seeds, each run prepared and
cross-validated as the k-fold stage does it, in a folder of its own, on any executor
(`experiments.runner`). Writes OUT/DATASET/MODEL/seedS/kfold.json (the k-fold stage's metrics
file) and OUT/grid.csv, one row per run. A run's result does not depend on where it ran."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from maskutils.core.results import write_metrics
from maskutils.experiments.compose import params_for, recipe
from maskutils.experiments.runner import run_all


def jobs(
    datasets: list[str],
    models: list[str],
    seeds: list[int],
    sets: list[str],
    params_dir: Path,
    threads: int,
) -> list[dict]:
    """One job per dataset x model x seed. A dataset is profile names joined by `+`
    (`mask4+bias`); every params error is raised here, before anything runs."""
    out = []
    for dataset in datasets:
        params = params_for(dataset.split("+"), sets, params_dir)
        for model in models:
            for seed in seeds:
                cfg = recipe(params, seed, model)
                prep = {**params["prepare"], "seed": seed}
                out.append(
                    {
                        "dataset": dataset,
                        "model": model,
                        "seed": seed,
                        "prepare": prep,
                        "recipe": cfg,
                        "confidence": params["kfold"]["confidence"],
                        "threads": threads,
                    }
                )
    return out


def one_run(job: dict) -> dict:
    """prepare -> k-fold for one job, in a temporary folder; the k-fold metrics and wall time."""
    import torch

    from maskutils.modeling import crossval
    from maskutils.prepare.prepared import load_prepared
    from maskutils.prepare.run import run as prepare
    from maskutils.stages.kfold.run import summary

    torch.set_num_threads(job["threads"])
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        prepare(job["prepare"], Path(tmp) / "prepared", progress=False)
        p = load_prepared(Path(tmp) / "prepared")
        res = crossval.run(p, job["recipe"], Path(tmp) / "kfold", threads=job["threads"])
        s = summary(res, {"confidence": job["confidence"]})  # the k-fold params it reads
    keep = ("dataset", "model", "seed")
    return {**{k: job[k] for k in keep}, "kfold": s, "seconds": time.perf_counter() - t0}


def run(jobs: list[dict], out: Path, executor: str, workers: int, address: str | None) -> Path:
    """Every job's run; writes each run's kfold.json and OUT/grid.csv (returned)."""
    results = run_all(one_run, jobs, executor, workers, address)
    rows = []
    for r in results:
        folder = Path(out) / r["dataset"] / r["model"] / f"seed{r['seed']}"
        write_metrics(folder / "kfold.json", r["kfold"])
        f1 = r["kfold"]["summary"]["macro_f1"]
        rows.append(
            {
                "dataset": r["dataset"],
                "model": r["model"],
                "seed": r["seed"],
                "k": r["kfold"]["k"],
                "n": r["kfold"]["n"],
                "macro_f1_mean": f1["mean"],
                "macro_f1_ci_low": f1["ci_low"],
                "macro_f1_ci_high": f1["ci_high"],
                "pooled_macro_f1": r["kfold"]["pooled_macro_f1"],
            }
        )
    table = Path(out) / "grid.csv"
    pd.DataFrame(rows).to_csv(table, index=False, float_format="%.6f")
    (Path(out) / "timings.json").write_text(
        json.dumps({f"{r['dataset']}/{r['model']}/seed{r['seed']}": r["seconds"] for r in results})
    )
    return table
