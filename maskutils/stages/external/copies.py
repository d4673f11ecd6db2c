"""What an external test set shares with the training data, and with itself.

An external image that is a copy of a training or validation image measures memory, not
generalisation, so it is removed before the set is scored: an **exact copy** has the same file
bytes (and, for a face cut from a scene, the same box) as a pool image; a **near copy** is
within the prepare stage's `quality.hash_distance` bits of one, itself or mirrored, by the
256-bit perceptual hash. Inside the set, near-duplicate groups (found by prepare) keep one
image each, so a photo and its crops or flips are not counted as several test images.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from maskutils.prepare.hamming import hamming_within
from maskutils.prepare.quality import hash_bytes

BOX = ["box_x0", "box_y0", "box_x1", "box_y1"]


def content_keys(manifest: pd.DataFrame) -> list[str | None]:
    """Per row: sha256 of its file's bytes, plus its box when it is a face cut from a scene;
    None when the file cannot be read (it then only takes part in the near-copy search)."""
    digests: dict[str, str | None] = {}
    keys = []
    boxes = manifest.reindex(columns=BOX)
    for file, box in zip(manifest["file"], boxes.itertuples(index=False)):
        if file not in digests:
            try:
                digests[file] = hashlib.sha256(Path(file).read_bytes()).hexdigest()
            except OSError:
                digests[file] = None
        digest = digests[file]
        whole = all(pd.isna(v) for v in box)
        keys.append(
            None if digest is None else digest if whole else f"{digest}#{tuple(map(int, box))}"
        )
    return keys


def exact_copies(ext: pd.DataFrame, pool: pd.DataFrame) -> np.ndarray:
    """Per external row: the position in `pool` of a pool row with the same content key, or -1."""
    first: dict[str, int] = {}
    for k, key in enumerate(content_keys(pool)):
        if key is not None:
            first.setdefault(key, k)
    return np.array([first.get(key, -1) if key else -1 for key in content_keys(ext)], dtype=int)


def near_copies(
    ext: pd.DataFrame, pool: pd.DataFrame, distance: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per external row: the position in `pool` of its nearest pool image within `distance` bits
    (either hash mirrored), or -1, and that distance (-1 when none)."""
    n = len(ext)
    hashes = hash_bytes(list(ext["phash"]) + list(pool["phash"]))
    flips = hash_bytes(list(ext["phash_flip"]) + list(pool["phash_flip"]))
    pairs = hamming_within(hashes, flips, distance)
    cross = pairs[(pairs[:, 0] < n) & (pairs[:, 1] >= n)]
    match, best = np.full(n, -1), np.full(n, -1)
    if not len(cross):
        return match, best
    i, j = cross[:, 0], cross[:, 1]
    bits = np.minimum(
        np.unpackbits(hashes[i] ^ hashes[j], axis=1).sum(1),
        np.unpackbits(hashes[i] ^ flips[j], axis=1).sum(1),
    )
    for a, b, d in sorted(zip(i, j, bits), key=lambda t: (t[0], t[2], t[1])):
        if match[a] < 0:  # the nearest (ties: the first pool row)
            match[a], best[a] = b - n, d
    return match, best


def within_set_duplicates(ext: pd.DataFrame, keep: np.ndarray) -> np.ndarray:
    """Mask of rows among `keep` that another kept row of their near-duplicate group (prepare's
    `dup_group`) comes before: each group keeps its first image."""
    groups = ext["dup_group"].to_numpy()
    seen: set = set()
    dup = np.zeros(len(ext), dtype=bool)
    for k in np.flatnonzero(keep):
        if groups[k] in seen:
            dup[k] = True
        seen.add(groups[k])
    return dup
