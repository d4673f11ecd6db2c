"""The `prepare` stage: source -> manifest -> quality -> splits -> image cache."""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from functools import partial
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from maskutils.core import manifest as mf
from maskutils.core.boxes import crop_box
from maskutils.core.files import atomic, writable_folder
from maskutils.core.images import BadImage, crop, decode, resize, save_cache
from maskutils.prepare import resolution
from maskutils.prepare.quality import duplicate_groups, fingerprint, flags, near_duplicate_pairs
from maskutils.prepare.sources import Item, Listing, problem
from maskutils.prepare.sources.folder import ALIASES_AT, list_folder
from maskutils.prepare.sources.synthetic import generate
from maskutils.prepare.sources.voc import list_voc
from maskutils.prepare.splits import assign


@contextmanager
def workers(n: int, progress: bool):
    """`imap(fn, items, desc)`: results in order, from n spawned processes for over 200 items."""
    pool = None

    def imap(fn, items, desc):
        nonlocal pool
        bar = dict(total=len(items), desc=desc, unit="file", disable=not progress or None)
        if n > 1 and len(items) > 200:
            pool = pool or get_context("spawn").Pool(n)
            return tqdm(pool.imap(fn, items, chunksize=64), **bar)
        return tqdm(map(fn, items), **bar)

    try:
        yield imap
    finally:
        if pool is not None:
            pool.terminate()


def list_source(params: dict, out_dir: Path, imap=None, aliases_at: str = ALIASES_AT) -> Listing:
    """The items of the configured source (synthetic images are drawn into out_dir first, by
    `imap` of `workers` when given). `aliases_at` is where an unknown class name's error tells
    the user to add an alias."""
    src = params["source"]
    if src["kind"] == "synthetic":
        syn = params["synthetic"]
        rows = generate(
            out_dir / "synthetic",
            syn["n_images"],
            syn["render_size"],
            syn["classes"],
            params["seed"],
            syn["spurious_cue"]["label"],
            syn["spurious_cue"]["fraction"],
            mapper=(lambda fn, specs: imap(fn, specs, "draw")) if imap else map,
            camera=syn["camera"],
            pale_cloth=syn["pale_cloth"],
        )
        items = []
        for row in rows:
            image_id = Path(row["file"]).stem
            items.append(
                Item(
                    file=row.pop("file"),
                    rows=[{**row, "image_id": image_id, "source": "synthetic"}],
                )
            )
        return Listing(items, [])
    if not src["root"]:
        raise ValueError(f"params: source.root is required for source.kind {src['kind']!r}")
    if src["kind"] == "folder":
        return list_folder(src["root"], src["aliases"], aliases_at=aliases_at)
    return list_voc(src["root"], src["aliases"], params["voc"]["incorrect"], aliases_at=aliases_at)


def process_item(item, size: int, q: dict, voc: dict):
    """Decode one file once; returns (rows, images, fingerprints, problems) for every face in it.
    Keypoints are found only when the keypoint tier is on (`candidate_distance` > 0)."""
    try:
        rgb, fmt = decode(item.file, q["max_pixels"])
    except BadImage as exc:
        return [], [], [], [problem(item.file, str(exc))]
    rows, images, prints, problems = [], [], [], []
    for row in item.rows:
        row = dict(row)
        raw = row.pop("raw_box", None)
        face = rgb
        if raw is not None:
            box, reason = crop_box(
                raw, voc["margin"], rgb.shape[1], rgb.shape[0], voc["min_box_side"]
            )
            if box is None:
                problems.append(problem(f"{item.file}#{row['image_id']}", reason))
                continue
            face = crop(rgb, box)
            row.update(box_x0=box[0], box_y0=box[1], box_x1=box[2], box_y1=box[3])
        h, w = face.shape[:2]
        mean = float(face.mean())
        fp = fingerprint(face, keypoints=q["candidate_distance"] > 0)
        row.update(
            file=item.file,
            width=w,
            height=h,
            format=fmt,
            mean_rgb=round(mean, 2),
            phash=fp["phash"],
            phash_flip=fp["phash_flip"],
            quality_flags=flags(w, h, mean, q),
        )
        rows.append(row)
        images.append(resize(face, size).transpose(2, 0, 1))
        prints.append(fp)
    return rows, images, prints, problems


def run(
    params: dict,
    out_dir: Path,
    progress: bool = True,
    splits: bool = True,
    aliases_at: str = ALIASES_AT,
) -> dict:
    """Writes manifest.csv, problems.csv, images.npy (+ .json) and info.json into out_dir.

    splits=False (an external test set): every image is `test`, no folds. `aliases_at` names
    where the caller's params take aliases (for the error on an unknown class name).
    """
    t0 = time.perf_counter()
    writable_folder(out_dir)  # before any work: a bad --out is an error now, not in an hour
    out_dir.mkdir(parents=True, exist_ok=True)
    q = params["quality"]
    if params["source"]["kind"] == "synthetic":
        # Drawn from distinct seeds, synthetic images have no crops or copies; their flat, shared
        # layout fools the keypoint tier into joining look-alikes, so only the hash tier runs.
        q = {**q, "candidate_distance": 0}
    rows, images, prints, problems = [], [], [], []
    with workers(params["workers"], progress) as imap:
        listing = list_source(params, out_dir, imap, aliases_at)
        size, size_auto = resolution.resolve(params, listing)
        work = partial(process_item, size=size, q=q, voc=params["voc"])
        t_listed = time.perf_counter() - t0
        problems += listing.problems
        for r, im, fp, p in imap(work, listing.items, "decode"):
            rows += r
            images += im
            prints += fp
            problems += p
    if not rows:
        raise ValueError(
            f"no readable images in the source ({len(problems)} problems; first: {problems[:1]})"
        )
    t_decode = time.perf_counter() - t0 - t_listed
    if progress:
        log_problems(problems, out_dir / "problems.csv")
    df = pd.DataFrame(rows)
    if splits:  # a test set may hold one class; a training set may not
        one_class(df, aliases_at)
    pairs, dup_stats = near_duplicate_pairs(prints, q)
    df["dup_group"] = duplicate_groups(pairs, len(df))
    df["dup_size"] = df.groupby("dup_group")["image_id"].transform("size")
    sp = params["split"]
    if splits:
        df = assign(
            df,
            sp["test_fraction"],
            sp["val_fraction"],
            sp["folds"],
            params["seed"],
            sp["plant_bias"],
        )
    else:
        df["split"], df["fold"] = "test", -1
    df = df[[c for c in mf.CORE if c in df.columns] + mf.attribute_columns(df)]
    mf.write(df, out_dir / "manifest.csv")
    with atomic(out_dir / "problems.csv") as tmp:
        pd.DataFrame(problems, columns=["file", "reason"]).to_csv(tmp, index=False)
    save_cache(out_dir / "images.npy", _stack(images), df["image_id"].tolist(), size)
    info = {
        "params": params,
        "n_images": len(df),
        "n_files": len(listing.items),
        "n_problems": len(problems),
        "dropped_by_params": listing.dropped,
        "image_size": size,
        "image_size_auto": size_auto,  # how `auto` chose it; null when params named a number
        "near_duplicates": dup_stats,
        "seconds": {
            "list": round(t_listed, 2),  # for synthetic sources: drawing the images
            "decode": round(t_decode, 2),
            "total": round(time.perf_counter() - t0, 2),
        },
    }
    with atomic(out_dir / "info.json") as tmp:
        tmp.write_text(json.dumps(info, indent=2))
    return info


def one_class(df: pd.DataFrame, aliases_at: str) -> None:
    """A classifier needs two classes: a dataset with one is an error that says what it found."""
    counts = df["label"].value_counts()
    if len(counts) < 2:
        raise ValueError(
            f"the dataset has one class only ({counts.index[0]}: {counts.iloc[0]} images); a "
            "classifier needs two or more. Add another class folder (or VOC object name), or "
            f"check {aliases_at}"
        )


def log_problems(problems: list[dict], where: Path, shown: int = 20) -> None:
    """The run's log: each rejected file and why (the first `shown`; all go to problems.csv)."""
    for p in problems[:shown]:
        print(f"prepare: skipped {p['file']}: {p['reason']}", file=sys.stderr)
    if len(problems) > shown:
        print(f"prepare: ... and {len(problems) - shown} more, all in {where}", file=sys.stderr)


def _stack(images: list[np.ndarray]) -> np.ndarray:
    """np.stack(images), emptying the list as it goes so the images are not held twice."""
    out = np.empty((len(images), *images[0].shape), dtype=np.uint8)
    for k in range(len(images)):
        out[k], images[k] = images[k], None
    return out
