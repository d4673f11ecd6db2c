"""Perceptual hashes, near-duplicate groups, quality flags and the shortcut check."""

from __future__ import annotations

import cv2
import imagehash
import numpy as np
import pandas as pd
from PIL import Image, ImageOps
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier

from maskutils.prepare.hamming import hamming_within

ORB_SIZE = 128  # keypoints are found on a 128 px grey copy of each face
_ORB_PARAMS = dict(nfeatures=200, edgeThreshold=8, patchSize=15, fastThreshold=10)


def phash_hex(img: Image.Image, bits: int) -> str:
    """imagehash's pHash of `bits` bits (a square, multiple of 8) as str(hash) writes it (its own
    str() joins the bits in Python: half the time of the hash)."""
    return np.packbits(imagehash.phash(img, int(bits**0.5)).hash).tobytes().hex()


def fingerprint(rgb: np.ndarray, keypoints: bool = True) -> dict:
    """Everything near-duplicate search needs from one image, both ways round (mirror copies match).

    256-bit pHashes (stored in the manifest) and, for the keypoint tier (`keypoints`), 64-bit
    pHashes (a looser net for candidate pairs) and ORB keypoints (to verify candidates: a crop or
    shift moves a pHash but keeps keypoints).
    """
    img = Image.fromarray(rgb)
    mirror = ImageOps.mirror(img)
    out = {"phash": phash_hex(img, 256), "phash_flip": phash_hex(mirror, 256)}
    if not keypoints:
        return out
    grey = np.asarray(img.convert("L").resize((ORB_SIZE, ORB_SIZE), Image.Resampling.BILINEAR))
    return {
        **out,
        "phash64": phash_hex(img, 64),
        "phash64_flip": phash_hex(mirror, 64),
        "orb": _orb(grey),
        "orb_flip": _orb(grey[:, ::-1].copy()),
        "grey": grey,
    }


def _orb(grey: np.ndarray):
    keypoints, desc = cv2.ORB_create(**_ORB_PARAMS).detectAndCompute(grey, None)
    if desc is None:
        return np.empty((0, 2), np.float32), np.empty((0, 32), np.uint8)
    return np.float32([k.pt for k in keypoints]), desc


def hash_bytes(hex_hashes) -> np.ndarray:
    """N hex hashes -> N x (bits / 8) uint8 array."""
    return np.array([np.frombuffer(bytes.fromhex(h), dtype=np.uint8) for h in hex_hashes])


def aligned_match(a: dict, b: dict, flip: bool = False) -> tuple[int, float]:
    """(ORB inliers, grey correlation after alignment) between image a and image b (or b's mirror).

    Keypoint matches that agree on one shift-rotation-scale say b may be a crop of a; the
    correlation of a with b warped onto it says whether the content really is the same
    (look-alike faces share keypoints, not pixels).
    """
    ka, da = a["orb"]
    kb, db = b["orb_flip" if flip else "orb"]
    if len(da) < 6 or len(db) < 6:
        return 0, 0.0
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(da, db)
    if len(matches) < 6:
        return 0, 0.0
    src = ka[[m.queryIdx for m in matches]]
    dst = kb[[m.trainIdx for m in matches]]
    m, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0)
    if m is None:
        return 0, 0.0
    grey_b = b["grey"][:, ::-1] if flip else b["grey"]
    size = (ORB_SIZE, ORB_SIZE)
    warped = cv2.warpAffine(
        np.ascontiguousarray(grey_b), m, size, flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR
    )
    valid = (
        cv2.warpAffine(
            np.ones_like(grey_b), m, size, flags=cv2.WARP_INVERSE_MAP | cv2.INTER_NEAREST
        )
        > 0
    )
    if valid.mean() < 0.5:
        return int(inliers.sum()), 0.0
    x, y = a["grey"][valid].astype(np.float64), warped[valid].astype(np.float64)
    x, y = x - x.mean(), y - y.mean()
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return int(inliers.sum()), float((x * y).sum() / denom) if denom else 0.0


def near_duplicate_pairs(prints: list[dict], q: dict) -> tuple[np.ndarray, dict]:
    """Pairs (i, j) of near-duplicates, and how many each tier found.

    Tier 1: 256-bit pHashes within `hash_distance` bits (resized, recompressed, recoloured,
    mirrored copies). Tier 2, for crops and shifts, which move a pHash: pairs within
    `candidate_distance` bits on the 64-bit pHash are kept when ORB finds `min_inliers`
    keypoint matches agreeing on one transform and the aligned images correlate at
    `min_correlation` or more (either way round). `candidate_distance: 0` turns tier 2 off.
    """
    direct = hamming_within(
        hash_bytes([p["phash"] for p in prints]),
        hash_bytes([p["phash_flip"] for p in prints]),
        q["hash_distance"],
    )
    known = {(int(i), int(j)) for i, j in direct}
    candidates, verified = set(), set()
    if q["candidate_distance"] > 0:
        loose = hamming_within(
            hash_bytes([p["phash64"] for p in prints]),
            hash_bytes([p["phash64_flip"] for p in prints]),
            q["candidate_distance"],
        )
        candidates = {(int(i), int(j)) for i, j in loose} - known
        for i, j in sorted(candidates):
            for flip in (False, True):
                inliers, corr = aligned_match(prints[i], prints[j], flip)
                if inliers >= q["min_inliers"] and corr >= q["min_correlation"]:
                    verified.add((i, j))
                    break
    pairs = np.array(sorted(known | verified), dtype=np.int64).reshape(-1, 2)
    return pairs, {
        "hash_pairs": len(known),
        "candidate_pairs": len(candidates),
        "verified_pairs": len(verified),
    }


def duplicate_groups(pairs: np.ndarray, n: int) -> np.ndarray:
    """Group number per image: images joined by a chain of near-duplicate pairs share one.

    Groups are numbered in order of their first member, so the numbering is stable for an order.
    """
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def flags(width: int, height: int, mean: float, q: dict) -> str:
    """Semicolon-separated quality flags ('' when none), with the study's default thresholds."""
    out = []
    if min(width, height) < q["min_side"]:
        out.append("tiny")
    aspect = width / height
    if not q["aspect_min"] <= aspect <= q["aspect_max"]:
        out.append("aspect")
    if mean < q["dark_mean"]:
        out.append("dark")
    if mean > q["bright_mean"]:
        out.append("bright")
    return ";".join(out)


def duplicate_summary(manifest: pd.DataFrame) -> dict:
    """Counts of near-duplicate groups: in all, spanning classes, spanning splits."""
    multi = manifest[manifest["dup_size"] > 1]
    by = multi.groupby("dup_group")
    return {
        "groups": int(by.ngroups),
        "images_in_groups": int(len(multi)),
        "groups_across_classes": int((by["label"].nunique() > 1).sum()),
        "groups_across_sources": int((by["source"].nunique() > 1).sum()),
        # val and excluded (planted bias) rows belong to the training pool: only pool vs test counts
        "groups_across_splits": int(
            (
                by["split"].apply(
                    lambda s: s.replace({"val": "train", "excluded": "train"}).nunique()
                )
                > 1
            ).sum()
        ),
    }


def shortcut_check(manifest: pd.DataFrame, seed: int = 0) -> dict:
    """How well file format, width and height alone predict the label, against the majority class.

    A depth-3 tree, 5-fold cross-validated balanced accuracy; the baseline predicts one class
    for everything, so its balanced accuracy is 1 / number of classes.
    """
    y = manifest["label"].astype(str).to_numpy()
    x = pd.get_dummies(manifest["format"].astype(str), prefix="fmt").astype(float)
    x["width"], x["height"] = manifest["width"].to_numpy(float), manifest["height"].to_numpy(float)
    classes, counts = np.unique(y, return_counts=True)
    baseline = 1.0 / len(classes)
    folds = int(min(5, counts.min())) if len(classes) > 1 else 0
    if folds < 2:
        return {"baseline": baseline, "tree": baseline, "folds": 0, "features": list(x.columns)}
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    scores = cross_val_score(
        DecisionTreeClassifier(max_depth=3, random_state=seed),
        x,
        y,
        cv=cv,
        scoring="balanced_accuracy",
    )
    return {
        "baseline": float(baseline),
        "tree": float(scores.mean()),
        "folds": folds,
        "features": list(x.columns),
    }
