"""`prepare` at scale: synthetic sets of growing size, each prepared in a fresh child process.

Per size: wall time of drawing the synthetic PNG files (the stand-in for a dataset on disk) and
of preparing them (decode, hash, near-duplicate search, splits, writing), the peak memory of
the child and its workers together (resident set, sampled from /proc), the near-duplicate pairs
found, and the near-duplicate search timed again on the same hashes next to the all-pairs
search it replaced (up to --all-pairs-max images; the ratio is measured, not extrapolated). Then
the growth exponents: log-log slopes of each time against n.

    PYTHONPATH=. python benchmarks/prepare_scale.py                      # 1.5k, 6k, 24k, 96k
    PYTHONPATH=. python benchmarks/prepare_scale.py --sizes 1500 6000 --workers 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def child(n: int, workers: int, all_pairs_max: int, out: Path) -> dict:
    """Prepares n synthetic images into out; times the search and the splits again on its
    hashes and groups (the rest of `total` is decoding's tail, groups and writing)."""
    from maskutils.core import manifest as mf
    from maskutils.prepare.hamming import all_pairs_within, hamming_within
    from maskutils.prepare.params import SCHEMA
    from maskutils.prepare.quality import hash_bytes
    from maskutils.prepare.run import run
    from maskutils.prepare.splits import assign

    params = SCHEMA.validate({"workers": workers, "synthetic": {"n_images": n}})
    info = run(params, out, progress=False)
    df = mf.read(out / "manifest.csv")
    hashes, flips = hash_bytes(df["phash"]), hash_bytes(df["phash_flip"])
    t = params["quality"]["hash_distance"]
    t0 = time.perf_counter()
    pairs = hamming_within(hashes, flips, t)
    search = time.perf_counter() - t0
    sp = params["split"]
    t0 = time.perf_counter()
    again = assign(
        df.drop(columns=["split", "fold"]),
        sp["test_fraction"],
        sp["val_fraction"],
        sp["folds"],
        params["seed"],
        sp["plant_bias"],
    )
    split_s = time.perf_counter() - t0
    assert (again["split"].to_numpy() == df["split"].to_numpy()).all()
    result = {
        "n": len(df),
        "generate_s": info["seconds"]["list"],
        "decode_s": info["seconds"]["decode"],
        "total_s": info["seconds"]["total"],
        "search_s": search,
        "splits_s": split_s,
        "pairs": len(pairs),
        "groups_multi": int((df["dup_size"] > 1).sum()),
    }
    if n <= all_pairs_max:
        t0 = time.perf_counter()
        reference = all_pairs_within(hashes, flips, t)
        result["all_pairs_s"] = time.perf_counter() - t0
        assert np.array_equal(reference, pairs), "the index and the all-pairs search disagree"
    return result


def tree_rss(pid: int) -> int:
    """Resident bytes of pid and all its descendants (Linux /proc)."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, grew = {pid}, True
    while grew:
        more = {p for p, pp in parent.items() if pp in tree} - tree
        tree |= more
        grew = bool(more)
    total = 0
    for p in tree:
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * os.sysconf(
                "SC_PAGESIZE"
            )
        except (OSError, ValueError, IndexError):
            continue
    return total


def measure(n: int, args) -> dict:
    """Runs one size in a child process; adds its peak memory and the load around it."""
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, __file__, "--child", str(n), "--workers", str(args.workers)]
        cmd += ["--all-pairs-max", str(args.all_pairs_max), "--child-dir", tmp]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
        peak, done = [0], threading.Event()

        def sample():
            while not done.wait(0.25):
                peak[0] = max(peak[0], tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        if proc.wait() != 0:
            raise SystemExit(f"the child for n={n} failed (exit {proc.returncode})")
        done.set()
        sampler.join()
        wall = time.perf_counter() - t0
        result = json.loads(out.read_text())
    return {
        **result,
        "wall_s": wall,
        "peak_gib": peak[0] / 2**30,
        "load": (load_before, os.getloadavg()[0]),
    }


def slope(ns, ts) -> float:
    """Least-squares slope of log t against log n."""
    ok = [(n, t) for n, t in zip(ns, ts) if t and t > 0]
    if len(ok) < 2:
        return float("nan")
    x, y = np.log([n for n, _ in ok]), np.log([t for _, t in ok])
    return float(np.polyfit(x, y, 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1500, 6000, 24000, 96000])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--all-pairs-max", type=int, default=24000)
    ap.add_argument("--tmp", help="folder for the drawn images (default: the system's temp)")
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child-dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        d = Path(args.child_dir)
        result = child(args.child, args.workers, args.all_pairs_max, d / "prepared")
        (d / "result.json").write_text(json.dumps(result))
        return
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"workers={args.workers}, python {platform.python_version()}"
    )
    head = (
        f"{'n':>7} {'generate':>9} {'prepare':>8} {'search':>7} {'all-pairs':>9} {'ratio':>6} "
        f"{'splits':>7} {'peak GiB':>8} {'pairs':>6} {'load':>9}"
    )
    print(head)
    rows = []
    for n in args.sizes:
        r = measure(n, args)
        r["prepare_s"] = r["total_s"] - r["generate_s"]
        rows.append(r)
        ap_s = r.get("all_pairs_s")
        print(
            f"{r['n']:>7} {r['generate_s']:>8.1f}s {r['prepare_s']:>7.1f}s {r['search_s']:>6.2f}s "
            + (f"{ap_s:>8.2f}s {ap_s / r['search_s']:>5.1f}x " if ap_s else f"{'-':>9} {'-':>6} ")
            + f"{r['splits_s']:>6.1f}s {r['peak_gib']:>8.2f} {r['pairs']:>6} "
            f"{r['load'][0]:>4.1f}/{r['load'][1]:<4.1f}",
            flush=True,
        )
    ns = [r["n"] for r in rows]
    exps = {
        key: slope(ns, [r.get(key) for r in rows])
        for key in ("generate_s", "prepare_s", "search_s", "all_pairs_s", "splits_s")
    }
    print(
        "growth exponents (log-log slope of time vs n): "
        + ", ".join(f"{k[:-2]} {v:.2f}" for k, v in exps.items())
    )
    print("load: 1-minute load average before/after each size (other processes share the CPUs)")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "exponents": exps}, indent=2))


if __name__ == "__main__":
    main()
