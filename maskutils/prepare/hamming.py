"""Exact Hamming-radius search over binary hashes by multi-index hashing, without all pairs.

Split every B-bit hash into m chunks and give chunk k a radius r_k with sum(r_k) >= t - m + 1.
Two hashes within t bits then agree to within r_k bits on some chunk k (otherwise they would
differ in at least sum(r_k + 1) > t bits): the generalised pigeonhole principle. So the pairs
within t bits are among the pairs whose chunk k keys differ in at most r_k bits, which a sorted
table of keys finds by probing every key with each flip of at most r_k of its bits; every such
candidate is then checked on the whole hash. Exact, with no false negatives, whatever m is; m is
chosen for the hashes at hand, from how often a sample of their pairs agrees on a chunk (Norouzi
et al., "Fast exact search in Hamming space with multi-index hashing", 2014). For hashes like
random ones the work grows about as n^1.5; hashes of look-alike images share more chunks, and
the pairs truly within the threshold grow as n^2 anyway.

Identical hashes are merged before the search, so a crowd of copies (flat or blank images) costs
one probe each, and candidates are expanded and checked in bounded batches.
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np

KEY_BITS = 22  # at most this many bits per chunk: a table of 2^22 slots is the bucket index
BATCH = 1 << 21  # candidate pairs checked at a time (bounds memory)
SAMPLE_PAIRS = 4096  # pairs of hashes the plan measures chunk agreement on
_PROBE_COST = 0.7  # one probe of the table, in candidate checks (measured here, 24k images)


def hamming_within(hashes: np.ndarray, flips: np.ndarray, distance: int) -> np.ndarray:
    """Pairs (i, j), i < j, with hashes[i] within `distance` bits of hashes[j] or of flips[j],
    sorted, as an int64 K x 2 array.

    hashes, flips: N x bytes uint8 (see `quality.hash_bytes`). The condition is the one of
    comparing every hash with every other hash and its mirror's hash, row i against column j.
    """
    n = len(hashes)
    if n == 0:
        return np.empty((0, 2), dtype=np.int64)
    both = np.concatenate([hashes, flips])
    uniq, inverse = np.unique(both, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    near = near_pairs(uniq, distance)
    self_pairs = np.repeat(np.arange(len(uniq), dtype=np.int64)[:, None], 2, axis=1)
    near = np.concatenate([near, near[:, ::-1], self_pairs])
    # each pair (u, v) of distinct hash values joins rows hashing to u with columns hashing to v
    rows_of, row_start, row_count = _members(inverse[:n], len(uniq))
    cols_of, col_start, col_count = _members(inverse, len(uniq))
    sizes = row_count[near[:, 0]] * col_count[near[:, 1]]
    near, sizes = near[sizes > 0], sizes[sizes > 0]
    seg = np.repeat(np.arange(len(near)), sizes)
    offset = np.arange(len(seg)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    ncol = col_count[near[seg, 1]]
    i = rows_of[row_start[near[seg, 0]] + offset // ncol]
    j = cols_of[col_start[near[seg, 1]] + offset % ncol] % n
    keep = i < j
    pairs = np.stack([i[keep], j[keep]], axis=1).astype(np.int64)
    return np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2)


def all_pairs_within(
    hashes: np.ndarray, flips: np.ndarray, distance: int, block: int = 256
) -> np.ndarray:
    """The reference `hamming_within` is held to: every hash against every hash and every
    mirror's hash, `block` rows at a time. Quadratic: for tests and benchmarks only."""
    pairs = [np.empty((0, 2), dtype=np.int64)]
    for start in range(0, len(hashes), block):
        rows = hashes[start : start + block, None, :]
        d = np.minimum(
            np.bitwise_count(rows ^ hashes[None]).sum(-1, dtype=np.int32),
            np.bitwise_count(rows ^ flips[None]).sum(-1, dtype=np.int32),
        )
        i, j = np.nonzero(d <= distance)
        i = i + start
        pairs.append(np.stack([i[i < j], j[i < j]], axis=1).astype(np.int64))
    return np.concatenate(pairs)


def near_pairs(uniq: np.ndarray, distance: int) -> np.ndarray:
    """Pairs (u, v), u < v, of rows of `uniq` (K x bytes uint8, distinct rows) within
    `distance` bits, sorted, as an int64 array."""
    words = _words(uniq)
    bits = np.unpackbits(uniq, axis=1)
    m, radii = plan(bits, distance)
    found = []
    for c in range(m):
        chunk = bits[:, c::m]  # interleaved bits: neighbouring DCT terms go to different chunks
        keys = chunk.astype(np.int64) @ (np.int64(1) << np.arange(chunk.shape[1], dtype=np.int64))
        order = np.argsort(keys, kind="stable")
        sizes = np.bincount(keys, minlength=1 << chunk.shape[1])
        starts = np.cumsum(sizes) - sizes  # hashes with key x: order[starts[x]:][:sizes[x]]
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        everyone = np.arange(len(order))
        for mask in _masks(chunk.shape[1], radii[c]):
            # every pair once: same key, the later hashes of the bucket (kept in index order);
            # keys `mask` apart, from the smaller key's side
            if mask == 0:
                queries, first = everyone, rank + 1
                count = starts[keys] + sizes[keys] - first
            else:
                queries = np.flatnonzero(keys < keys ^ mask)
                first, count = starts[keys[queries] ^ mask], sizes[keys[queries] ^ mask]
            for at, pos in _expand(first, count):
                q, v = queries[at], order[pos]
                hit = np.bitwise_count(words[q] ^ words[v]).sum(axis=1) <= distance
                q, v = q[hit], v[hit]
                found.append(np.stack([np.minimum(q, v), np.maximum(q, v)], axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.concatenate(found).astype(np.int64)
    return np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2)


def plan(bits: np.ndarray, distance: int) -> tuple[int, list[int]]:
    """(number of chunks m, radius per chunk) that minimise the expected work on these hashes
    (K x nbits, unpacked): probes of the table plus candidate pairs to check. How many pairs
    each chunk makes candidates is measured on a fixed sample of pairs, since hashes of similar
    images agree on many more chunks than random ones would."""
    k, nbits = bits.shape
    pick = (
        np.random.default_rng(0).integers(0, k, (2, SAMPLE_PAIRS)) if k else np.zeros((2, 0), int)
    )
    differ = bits[pick[0]] != bits[pick[1]]
    best = None
    fewest = -(-nbits // KEY_BITS)
    for m in range(fewest, max(fewest, min(distance + 1, nbits)) + 1):
        spare = max(0, distance - m + 1)
        radii = [spare // m + (1 if c < spare % m else 0) for c in range(m)]
        cost = 0.0
        for c, r in enumerate(radii):
            probes = sum(comb(len(range(c, nbits, m)), e) for e in range(r + 1))
            shared = (differ[:, c::m].sum(axis=1) <= r).mean() if k else 0.0
            cost += probes * k * _PROBE_COST + shared * k * k
        if best is None or cost < best[0]:
            best = (cost, m, radii)
    return best[1], best[2]


def _masks(nbits: int, radius: int) -> list[int]:
    """Every nbits-bit mask with at most `radius` bits set (0 first)."""
    return [
        sum(1 << b for b in flipped)
        for e in range(radius + 1)
        for flipped in combinations(range(nbits), e)
    ]


def _expand(start: np.ndarray, count: np.ndarray):
    """(query index, table position) of every candidate: count[q] positions from start[q],
    yielded in batches of at most BATCH pairs."""
    ends = np.cumsum(count)
    total = int(ends[-1]) if len(ends) else 0
    for first in range(0, total, BATCH):
        flat = np.arange(first, min(total, first + BATCH), dtype=np.int64)
        q = np.searchsorted(ends, flat, side="right")
        yield q, start[q] + flat - (ends[q] - count[q])


def _members(values: np.ndarray, k: int):
    """Positions grouped by value: (positions sorted by value, first slot and size per value)."""
    order = np.argsort(values, kind="stable")
    count = np.bincount(values, minlength=k)
    return order, np.cumsum(count) - count, count


def _words(rows: np.ndarray) -> np.ndarray:
    """K x bytes uint8 -> K x words uint64 (zero-padded), for popcount distances."""
    pad = -rows.shape[1] % 8
    padded = np.pad(rows, ((0, 0), (0, pad))) if pad else rows
    return np.ascontiguousarray(padded).view(np.uint64)
