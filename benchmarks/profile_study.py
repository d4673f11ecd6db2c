"""A shipped profile's whole study, as a user runs it: `maskutils profile NAME`, then `dvc repro`
one stage at a time in pipeline order (so each stage's wall time is its own), in a copy of the
project (git's tracked files; no data, models or DVC cache). Records each stage's seconds, the
total, and every stage's headline metrics (reports/headlines/*.json); `--metrics NAME ...` adds
those stages' whole metrics files (reports/metrics/NAME.json), e.g. an external set's per-class
recall, which no headline carries.

    python benchmarks/profile_study.py --profile binary4k \
        --out benchmarks/results/study_binary4k_full.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_project(dest: Path) -> None:
    """The tracked files of this checkout (`git ls-files`), less git's and DVC's own state."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if (ROOT / name).is_file() and not name.startswith((".dvc/", "dvc.lock", ".git")):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)


def run(cmd: list[str], cwd: Path) -> float:
    """Seconds `cmd` took in the copy (its own maskutils first on PYTHONPATH); fails loudly."""
    env = {
        **os.environ,
        "PYTHONPATH": str(cwd),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
    return round(time.perf_counter() - t0, 1)


def metrics_of(work: Path, stages: list[str]) -> dict:
    """The whole metrics file of each of `stages` in the project at `work`."""
    return {s: json.loads((work / "reports/metrics" / f"{s}.json").read_text()) for s in stages}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--profile", required=True, nargs="+", help="params/profiles files, without .yaml, in order"
    )
    ap.add_argument("--out", required=True, help="write the record here (JSON)")
    ap.add_argument("--keep", help="keep the project copy here instead of a temporary folder")
    ap.add_argument("--metrics", nargs="*", default=[], help="stages whose metrics file to record")
    args = ap.parse_args()
    from maskutils.core.machine import machine
    from maskutils.stages import STAGES

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp) / "project"
        work.mkdir(parents=True)
        copy_project(work)
        shared = ROOT.parent / "shared"
        if shared.is_dir() and not (work.parent / "shared").exists():
            os.symlink(shared, work.parent / "shared")  # params name ../shared/datasets
        run(["dvc", "init", "--no-scm", "-q"], work)
        run(["dvc", "config", "core.analytics", "false"], work)
        run(["maskutils", "profile", *args.profile], work)
        seconds = {}
        for name in [s.name for s in STAGES] + ["card", "index"]:
            seconds[name] = run(["dvc", "repro", "--single-item", name], work)
            print(f"{name}: {seconds[name]} s", flush=True)
        headlines = {
            p.stem: json.loads(p.read_text())
            for p in sorted((work / "reports/headlines").glob("*.json"))
        }
        metrics = metrics_of(work, args.metrics)
    record = {
        "profile": " ".join(args.profile),
        "date": date.today().isoformat(),
        "machine": machine(),
        "dvc_repro_seconds": round(sum(seconds.values()), 1),
        "stage_seconds": seconds,
        "headlines": headlines,
    }
    if metrics:
        record["metrics"] = metrics
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    print(f"{record['profile']}: {record['dvc_repro_seconds']} s of dvc repro; record {args.out}")


if __name__ == "__main__":
    main()
