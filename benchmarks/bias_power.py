"""Bias power study: how often the audit finds the planted bias, and how often it flags a gap when
nothing is planted, over many seeds (docs/bias_power.md).

Every run is the project's own pipeline in-process (not dvc): prepare (synthetic) -> k-fold ->
the bias stage's audit with mitigation. Three arms (`ARMS`), each seed in each:
- `planted` runs use the profiles' params;
- `null` runs plant nothing (`arm_prepare`: no group drawn with its own look, nothing
  under-sampled). The synthetic faces still make some groups really harder (children's smaller
  masks), so a null run's supported gaps are not all false alarms;
- `shuffled` runs plant nothing and shuffle the recorded attributes within class after prepare
  (`shuffle_groups`): no group differs from another in any picture, so every flag is a false alarm.
The two unplanted arms keep the declared hypothesis. Each mitigation of `--methods` (default: the
bias stage's) is measured in the planted runs; those that retrain nothing (`group_prior`) also in
the shuffled runs, where any "narrowing" is of a gap that is not there (`measured_methods`).
Every run's audit is also repeated on `--shuffles` exact nulls (`fairness.exact_null`, the same
shuffle of its out-of-fold predictions). Seed s sets prepare.seed and the training seed. Writes
data/bench/bias_power.json and prints the rates. Each finished run is kept in
data/bench/bias_power_runs/ under a key of its params and code, so an interrupted study (or one
given more seeds) resumes where it stopped.

    python benchmarks/bias_power.py --seeds 2 --jobs 2 --profile default tiny \\
        --set bias.min_group=5                                   # a smoke run, minutes
    python benchmarks/bias_power.py --seeds 10 --jobs 4          # the default profile, full size
    python benchmarks/bias_power.py --seeds 10 --executor ray    # a run per Ray task ($RAY_ADDRESS)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: the arms of the study, each run for every seed (see the module's docstring)
ARMS = ("planted", "null", "shuffled")


def one_run(job: dict) -> dict:
    """prepare -> k-fold -> bias for one seed and arm, in a temporary folder; what the power
    study needs from the bias metrics, and the wall time."""
    import torch

    from maskutils.experiments.compose import recipe
    from maskutils.fairness.exact_null import false_alarms
    from maskutils.modeling import crossval
    from maskutils.prepare.prepared import load_prepared
    from maskutils.prepare.run import run as prepare
    from maskutils.stages.bias import run as bias
    from maskutils.stages.contract import Inputs

    torch.set_num_threads(job["threads"])
    params, seed = job["params"], job["seed"]
    prep = arm_prepare(job)
    cfg = recipe(params, seed)
    audit = {**params["bias"], "threads": job["threads"], "workers": 1}  # jobs run side by side
    audit["mitigation"] = {**audit["mitigation"], "method": "none"}  # each method on its own
    methods = measured_methods(job)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        prepare(prep, tmp / "prepared", progress=False)
        p = load_prepared(tmp / "prepared")
        if job["arm"] == "shuffled":
            p.manifest = shuffle_groups(p.manifest, audit, seed)
        crossval.run(p, cfg, tmp / "kfold", threads=job["threads"])
        inputs = Inputs({"data/kfold": tmp / "kfold", "data/bias": tmp / "bias"}, {}, p)
        study = bias.run(inputs, audit)
        s = bias.summary(study, audit)
        rows = p.manifest.set_index("image_id").loc[study.table["image_id"]].reset_index()
        shuffles = false_alarms(study.table, rows, study.classes, audit, cfg, job["shuffles"], seed)
        outcomes = {label: mitigation_outcome(bias, p, audit, tmp, label) for label in methods}
    gaps = [
        {
            "grouping": name,
            "metric": metric,
            "supported": g["supported"],
            "p": g["p_value"],
            "p_adjusted": g["p_adjusted"],
        }
        for name, res in s["attributes"].items()
        for metric, g in res["gaps"].items()
    ]
    pl = s["planted"] or {}
    return {
        "seed": seed,
        "arm": job["arm"],
        "n": s["n"],
        "plant_keep": prep["split"]["plant_bias"]["keep"],
        "pale_cloth": prep["synthetic"]["pale_cloth"],
        "mitigated": bool(methods),
        "mitigation": outcomes,
        "family": s["family"],
        "gaps": gaps,
        "planted": {
            k: pl.get(k)
            for k in (
                "attribute",
                "group",
                "metric",
                "judged",
                "n",
                "p_value",
                "found",
                "exploratory_supported",
                "narrowed",
                "narrowed_with_confidence",
            )
        }
        | {
            "difference": (pl.get("before") or {}).get("difference"),
            "difference_after": (pl.get("after") or {}).get("difference"),
            "change": pl.get("change_after"),
            "mde": (pl.get("mde") or {}).get("gap"),
        },
        "exact_null": shuffles,
        "predictions": study.table.to_dict("list"),  # for later analyses without training
        "seconds": round(time.perf_counter() - t0, 1),
    }


#: mitigation methods that retrain the folds (the others correct the trained folds' predictions)
RETRAINED = ("reweight", "oversample", "both", "worst_reweight", "worst_oversample")
#: the bias param a method label's number sets (`group_prior:0.5`, `worst_reweight:3`)
NUMBER = {
    "group_prior": "strength",
    "worst_reweight": "worst_boost",
    "worst_oversample": "worst_boost",
}


def parse_method(label: str) -> dict:
    """`group_prior:0.5` -> {method: group_prior, strength: 0.5}; `worst_reweight:3` ->
    {method: worst_reweight, worst_boost: 3.0}; `both` -> {method: both}."""
    method, _, number = label.partition(":")
    if method not in ("group_prior", *RETRAINED) or (number and method not in NUMBER):
        raise SystemExit(
            f"--methods: {label!r} is not group_prior[:STRENGTH], worst_reweight[:BOOST], "
            f"worst_oversample[:BOOST] or one of {RETRAINED[:3]}"
        )
    return {"method": method, **({NUMBER[method]: float(number)} if number else {})}


def measured_methods(job: dict) -> list[str]:
    """The mitigations a job measures: every `--methods` one in the planted runs of the
    `--mitigated` seeds; in `shuffled` runs those that retrain nothing, and with
    `--retrain-shuffled` the others too (a retrained method's false narrowing costs a k-fold run
    per seed); none in `null` runs."""
    if job["arm"] == "planted" and job["mitigate"]:
        return job["methods"]
    if job["arm"] == "shuffled":
        retrain = job.get("retrain_shuffled", False)
        return [m for m in job["methods"] if retrain or parse_method(m)["method"] not in RETRAINED]
    return []


def mitigation_outcome(bias, p, audit: dict, tmp: Path, label: str) -> dict:
    """The bias stage's verdict on one mitigation of a run (its folds in tmp/kfold): the
    pre-registered gap before and after, whether it narrowed (`analysis.narrowing`), the worse
    group's metric, and the paired change of overall macro-F1."""
    from maskutils.stages.contract import Inputs

    mit = {**audit["mitigation"], **parse_method(label)}
    params = {**audit, "mitigation": mit, "mde": {**audit["mde"], "repeats": 0}}
    inputs = Inputs({"data/kfold": tmp / "kfold", "data/bias": tmp / f"bias_{label}"}, {}, p)
    s = bias.summary(bias.run(inputs, params), params)
    pl = s["planted"] or {}
    if "change_after" not in pl:
        return {"judged": False}
    side = pl["worse_side"]
    return {
        "judged": True,
        **{k: pl[k] for k in ("narrowed", "narrowed_with_confidence", "worse_side_macro_f1")},
        "difference": pl["before"]["difference"],
        "difference_after": pl["after"]["difference"],
        "change": pl["change_after"],
        "worse_side_metric": {k: pl[k][side]["value"] for k in ("before", "after")},
        "macro_f1_change": s["overall"]["change_after"]["macro_f1"],
    }


def arm_prepare(job: dict) -> dict:
    """The prepare params of a job's seed and arm. An unplanted run (null, shuffled) plants
    nothing: no group's cloth masks drawn pale (`synthetic.pale_cloth`: a look only that group has
    is a real, smaller gap even when nothing is under-sampled, docs/bias_power.md) and nothing
    under-sampled."""
    from maskutils.core.params import deep_update

    prep = deep_update(job["params"]["prepare"], {"seed": job["seed"]})
    if job["arm"] != "planted":
        nothing = {"synthetic": {"pale_cloth": {}}, "split": {"plant_bias": {"keep": 1.0}}}
        prep = deep_update(prep, nothing)
    return prep


def shuffle_groups(manifest, audit: dict, seed: int):
    """The manifest with the attributes the audit reads shuffled together within each class (as
    `fairness.exact_null` shuffles a run's predictions): every group keeps its size and class mix,
    and no recorded group is tied to any picture, so no gap of any grouping is true."""
    from maskutils.fairness.audit import resolve
    from maskutils.fairness.exact_null import shuffled_attributes

    attributes, _ = resolve(manifest, audit["attributes"], audit["intersections"])
    rng = np.random.default_rng([seed, 1])  # its own stream: the exact nulls use `seed`
    return shuffled_attributes(manifest, manifest["label"], attributes, rng)


def run_key(job: dict) -> str:
    """What decides a run: its params, the prepare params of its arm, seed, torch threads, the
    training code (`crossval.code_digest`) and the audit's (maskutils/fairness, stages/bias); not
    which mitigations it measured (see `reusable`)."""
    from maskutils.modeling.crossval import code_digest

    blob = json.dumps(
        {k: job[k] for k in ("params", "seed", "arm", "threads", "shuffles")}
        | {"prepare": arm_prepare(job)},
        sort_keys=True,
    )
    h = hashlib.sha1((blob + code_digest()).encode())
    for folder in ("fairness", "stages/bias"):
        for path in sorted((ROOT / "maskutils" / folder).rglob("*.py")):
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def kept_run(runs_dir: Path, job: dict) -> Path:
    return runs_dir / f"{job['arm']}_seed{job['seed']}_{run_key(job)}.json"


def reusable(path: Path, job: dict) -> bool:
    """A kept run serves a job when it measured every mitigation the job measures."""
    if not path.is_file():
        return False
    return set(measured_methods(job)) <= set(json.loads(path.read_text())["mitigation"])


def keep(job: dict, result: dict) -> None:
    path = kept_run(Path(job["runs_dir"]), job)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")


def rate(flags: list[bool]) -> dict:
    from maskutils.core.stats import wilson

    k, n = int(sum(flags)), len(flags)
    return {"k": k, "n": n, "rate": k / n if n else None, "ci95": wilson(k, n)}


def flags(runs: list[dict]) -> dict:
    """What the audit flags in unplanted runs: the pre-registered test, any supported gap, and
    which gaps (a real difference the renderer draws recurs in most null runs, a false alarm
    turns up once)."""
    return {
        "preregistered_fired": rate([bool(r["planted"]["found"]) for r in runs]),
        "runs_with_any_supported_gap": rate([any(g["supported"] for g in r["gaps"]) for r in runs]),
        # either of the two: the runs whose audit flags anything
        "runs_flagging_anything": rate(
            [bool(r["planted"]["found"]) or any(g["supported"] for g in r["gaps"]) for r in runs]
        ),
        "gaps_supported": rate([g["supported"] for r in runs for g in r["gaps"]]),
        "supported_by_gap": dict(
            sorted(
                Counter(
                    f"{g['grouping']}: {g['metric']}"
                    for r in runs
                    for g in r["gaps"]
                    if g["supported"]
                ).items()
            )
        ),
        "gap": [r["planted"]["difference"]["value"] for r in runs if r["planted"]["difference"]],
    }


def summarise(runs: list[dict]) -> dict:
    arm = {a: [r for r in runs if r["arm"] == a] for a in ARMS}
    planted = arm["planted"]
    gap = [r["planted"]["difference"]["value"] for r in planted if r["planted"]["difference"]]
    shuffles = [a for r in runs for a in r["exact_null"]]
    return {
        "detection_rate_preregistered": rate([bool(r["planted"]["found"]) for r in planted]),
        "detection_rate_exploratory": rate(
            [bool(r["planted"]["exploratory_supported"]) for r in planted]
        ),
        "null": flags(arm["null"]),
        # nothing planted and the recorded attributes shuffled (`shuffle_groups`): every flag is
        # a false alarm
        "shuffled": flags(arm["shuffled"]),
        "planted_gap": {
            "values": gap,
            **(
                {
                    "mean": float(np.mean(gap)),
                    "sd": float(np.std(gap, ddof=1)) if len(gap) > 1 else None,
                    "min": min(gap),
                    "median": float(np.median(gap)),
                    "max": max(gap),
                }
                if gap
                else {}
            ),
        },
        "preregistered_mde": [r["planted"]["mde"] for r in planted],
        # per mitigation method, over the runs that measured it (`measured_methods`)
        "mitigation": {
            label: mitigation_rates(
                [r["mitigation"][label] for r in planted if label in r["mitigation"]],
                [r["mitigation"][label] for r in arm["shuffled"] if label in r["mitigation"]],
            )
            for label in sorted({k for r in runs for k in r["mitigation"]})
        },
        # every run's predictions with the attributes shuffled within class (fairness.exact_null)
        "exact_null": {
            "any_supported": rate([bool(a["supported"]) for a in shuffles]),
            "preregistered_fired": rate([a["preregistered_fired"] for a in shuffles]),
            "anything": rate([bool(a["supported"]) or a["preregistered_fired"] for a in shuffles]),
            "supported_by_gap": dict(
                sorted(Counter(g for a in shuffles for g in a["supported"]).items())
            ),
        },
    }


def mitigation_rates(planted: list[dict], shuffled: list[dict]) -> dict:
    """One method's record: how often it narrows the planted gap with confidence (the worse
    group gaining, `analysis.narrowing`), the gap after, the worse group's metric, the paired
    cost in overall macro-F1 (each run's point and interval; a cost is a negative change), and
    how often it "narrows" a gap that is not there (the shuffled arm)."""
    judged = [o for o in planted if o["judged"]]
    cost = [o["macro_f1_change"] for o in judged]
    return {
        "narrowed_with_confidence": rate([o["narrowed_with_confidence"] for o in judged]),
        "gap_before": [o["difference"]["value"] for o in judged],
        "gap_after": [o["difference_after"]["value"] for o in judged],
        "worse_side_metric": [o["worse_side_metric"] for o in judged],
        "macro_f1_change": {
            "runs": cost,
            "mean": float(np.mean([c["value"] for c in cost])) if cost else None,
        },
        "shuffled_narrowed_with_confidence": rate(
            [o["narrowed_with_confidence"] for o in shuffled if o["judged"]]
        ),
    }


def design(params: dict) -> dict:
    """The params that decide the audit's power: prepare's, the bias stage's and the k-fold
    training recipe, less the seed (each run sets its own) and what does not change a result."""
    from maskutils.experiments.compose import recipe
    from maskutils.modeling import recipes
    from maskutils.stages.bias.report import DESIGN_SKIP

    folds = recipes.resolve(recipe(params, 0), {"params": params["prepare"]})  # as crossval.run
    ours = {"prepare": params["prepare"], "bias": params["bias"], "recipe": folds}
    return {
        stage: {k: v for k, v in ours[stage].items() if k not in skip}
        for stage, skip in DESIGN_SKIP.items()
    }


def compact(out: dict, params: dict) -> dict:
    """What the bias report shows (benchmarks/results/bias_power.json, committed): the design,
    the rates and the time, without the runs."""
    return {"design": design(params)} | {k: v for k, v in out.items() if k != "runs"}


def merge_mitigation(path: Path, out: dict, params: dict) -> None:
    """Writes this study's per-method mitigation rates, with its seeds, arms, machine and time,
    into the committed record at `path` (summary.mitigation), whose design must be this one."""
    rec = json.loads(path.read_text())
    if rec["design"] != design(params):
        raise SystemExit(f"{path} records another design than this study's: not merged")
    rec["summary"]["mitigation"] = {
        k: out[k] for k in ("profiles", "seeds", "arms", "machine", "wall_seconds")
    } | {"methods": out["summary"]["mitigation"]}
    path.write_text(json.dumps(rec, indent=1) + "\n")


def machine() -> dict:
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10, help="seeds per arm (ARMS)")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1, help="local: runs in parallel (processes)")
    ap.add_argument("--executor", choices=("local", "ray"), default="local")
    ap.add_argument("--address", help="ray: the cluster (host:port); default $RAY_ADDRESS or local")
    ap.add_argument("--profile", nargs="+", default=["default"], help="params/profiles, in order")
    ap.add_argument(
        "--shuffles",
        type=int,
        default=20,
        help="exact nulls per run: its audit with the attributes shuffled within class",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="STAGE.KEY=VALUE",
        help="a params override, e.g. prepare.synthetic.n_images=3000 (repeatable)",
    )
    ap.add_argument(
        "--methods",
        nargs="+",
        help="mitigations to measure, e.g. group_prior:1 group_prior:0.5 both "
        "(default: params bias.mitigation)",
    )
    ap.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS), help="arms to run")
    ap.add_argument(
        "--retrain-shuffled",
        action="store_true",
        help="also measure the retraining methods in the shuffled runs (a k-fold run each)",
    )
    ap.add_argument(
        "--mitigation-into",
        metavar="RECORD",
        help="also write this study's mitigation rates into RECORD's summary.mitigation (a "
        "committed power study of the same design: fresh seeds confirm a method chosen on others)",
    )
    ap.add_argument(
        "--mitigated",
        type=int,
        metavar="N",
        help="measure the mitigations in the planted runs of the first N seeds only "
        "(a retrained one doubles a run's time; default: all)",
    )
    ap.add_argument("--out", default=str(ROOT / "data" / "bench" / "bias_power.json"))
    ap.add_argument(
        "--results",
        help="also write the summary the bias report shows (benchmarks/results/bias_power.json)",
    )
    args = ap.parse_args()
    from maskutils.experiments.compose import params_for
    from maskutils.experiments.runner import run_all
    from maskutils.stages.bias.report import method_label

    params = params_for(args.profile, args.set, ROOT / "params")
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    mit = params["bias"]["mitigation"]
    methods = args.methods or [method_label(mit)]
    methods = [m for m in methods if m != "none"]
    for label in methods:
        parse_method(label)
    runs_dir = str(Path(args.out).with_name(Path(args.out).stem + "_runs"))
    jobs = [
        {
            "params": params,
            "seed": seed,
            "arm": arm,
            "threads": threads,
            "shuffles": args.shuffles,
            "mitigate": args.mitigated is None or seed < args.first_seed + args.mitigated,
            "methods": methods,
            "retrain_shuffled": args.retrain_shuffled,
            "runs_dir": runs_dir,
        }
        for seed in range(args.first_seed, args.first_seed + args.seeds)
        for arm in args.arms
    ]
    kept = {i: kept_run(Path(runs_dir), job) for i, job in enumerate(jobs)}
    todo = [job for i, job in enumerate(jobs) if not reusable(kept[i], job)]
    print(f"{len(jobs) - len(todo)} of {len(jobs)} runs kept from before; {len(todo)} to run")
    t0 = time.perf_counter()
    run_all(one_run, todo, args.executor, args.jobs, args.address, done=keep)
    wall = time.perf_counter() - t0
    runs = [json.loads(kept[i].read_text()) for i in range(len(jobs))]
    out = {
        "profiles": args.profile,
        "overrides": args.set,
        "seeds": [args.first_seed, args.first_seed + args.seeds - 1],
        "arms": args.arms,
        "methods": methods,
        "jobs": args.jobs,
        "machine": machine(),
        "wall_seconds": round(wall, 1),  # this invocation's (kept runs are read, not re-run)
        "run_seconds_total": round(sum(r["seconds"] for r in runs), 1),
        "summary": summarise(runs),
        "runs": runs,
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    if args.results:
        Path(args.results).parent.mkdir(parents=True, exist_ok=True)
        Path(args.results).write_text(json.dumps(compact(out, params), indent=1) + "\n")
    if args.mitigation_into:
        merge_mitigation(Path(args.mitigation_into), out, params)
    s = out["summary"]

    def show(r: dict) -> str:
        if not r["n"]:
            return "n/a (no runs)"
        return f"{r['k']}/{r['n']} = {r['rate']:.0%} [{r['ci95'][0]:.0%}, {r['ci95'][1]:.0%}]"

    print(f"planted found, pre-registered test: {show(s['detection_rate_preregistered'])}")
    print(f"planted found, exploratory (adjusted): {show(s['detection_rate_exploratory'])}")
    for a in ("null", "shuffled"):
        f = s[a]
        print(f"{a}: pre-registered test fires: {show(f['preregistered_fired'])}")
        print(f"{a}: runs with any supported gap: {show(f['runs_with_any_supported_gap'])}")
        print(f"{a}: gaps supported: {show(f['gaps_supported'])}")
        print(f"{a}: runs flagging anything: {show(f['runs_flagging_anything'])}")
    g = s["planted_gap"]
    if g.get("values"):
        print(
            f"planted gap: mean {g['mean']:.3f}, min {g['min']:.3f}, median {g['median']:.3f}, "
            f"max {g['max']:.3f}; values {[round(v, 3) for v in g['values']]}"
        )
    for label, mit in s["mitigation"].items():
        cost = mit["macro_f1_change"]["mean"]
        print(
            f"{label}: narrows the planted gap with confidence "
            f"{show(mit['narrowed_with_confidence'])}; on the shuffled arm "
            f"{show(mit['shuffled_narrowed_with_confidence'])}; mean overall macro-F1 change "
            + (f"{cost:+.4f}" if cost is not None else "n/a")
        )
    e = s["exact_null"]
    print(f"exact nulls (attributes shuffled): any supported gap {show(e['any_supported'])}")
    print(f"exact nulls: pre-registered test fires {show(e['preregistered_fired'])}")
    print(f"exact nulls: either {show(e['anything'])}")
    print(
        f"wall time {wall:.0f} s for {len(runs)} runs, {args.jobs} jobs; "
        f"{out['machine']['processor']}, {out['machine']['cpus']} CPUs; wrote {path}"
    )


if __name__ == "__main__":
    main()
