import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from maskutils.prepare import hamming
from maskutils.prepare.hamming import KEY_BITS, all_pairs_within, hamming_within, plan
from maskutils.prepare.quality import hash_bytes, phash_hex
from tests.conftest import face_photo


@pytest.fixture(params=["planned", "narrow chunks", "wide chunks"])
def chunking(request, monkeypatch):
    """The plan for these hashes; or, with probes priced out, one bit-exact chunk per allowed
    differing bit (radius 0); or, with probes almost free, fewer and wider chunks probed within
    radius 2-4."""
    cost = {"planned": hamming._PROBE_COST, "narrow chunks": 1e6, "wide chunks": 1e-4}
    monkeypatch.setattr(hamming, "_PROBE_COST", cost[request.param])
    return request.param


def _planted_faces() -> list[Image.Image]:
    """Faces, then copies, mirrors, crops, recompressed and brightened versions of some."""
    faces = [Image.fromarray(face_photo(seed, 64)) for seed in range(40)]
    out = list(faces)
    for k, img in enumerate(faces[:12]):
        w, h = img.size
        buf = io.BytesIO()
        img.resize((90, 90), Image.Resampling.BICUBIC).save(buf, "JPEG", quality=55)
        out += [
            img.copy(),
            ImageOps.mirror(img),
            img.crop((int(0.05 * w), int(0.05 * h), w, h)),
            img.crop((0, 0, int(0.85 * w), int(0.9 * h))),
            Image.open(buf).convert("RGB"),
            Image.fromarray(np.clip(np.asarray(img, int) + 12 * (k % 3), 0, 255).astype(np.uint8)),
        ]
    return out


@pytest.mark.parametrize("bits, distances", [(256, (8, 24, 32, 40, 48)), (64, (4, 8, 12))])
def test_same_pairs_as_all_pairs_on_planted_copies_flips_and_crops(bits, distances, chunking):
    imgs = _planted_faces()
    hashes = hash_bytes([phash_hex(im, bits) for im in imgs])
    flips = hash_bytes([phash_hex(ImageOps.mirror(im), bits) for im in imgs])
    for distance in distances:
        expected = all_pairs_within(hashes, flips, distance)
        np.testing.assert_array_equal(hamming_within(hashes, flips, distance), expected)
    # not vacuous: at the study's threshold the copies and the mirrors are found
    found = {tuple(p) for p in hamming_within(hashes, flips, distances[-1] if bits == 64 else 32)}
    for k in range(12):
        assert (k, 40 + 6 * k) in found and (k, 40 + 6 * k + 1) in found


def _flip_bits(row: np.ndarray, n_bits: int, rng) -> np.ndarray:
    bits = np.unpackbits(row)
    bits[rng.choice(bits.size, n_bits, replace=False)] ^= 1
    return np.packbits(bits)


def test_same_pairs_as_all_pairs_at_the_threshold_edges(chunking):
    rng = np.random.default_rng(0)
    t, n = 32, 600
    hashes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    flips = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    planted = {}
    for k, gap in enumerate([t - 1, t, t + 1] * 6):
        a, b = 2 * k, 2 * k + 1
        if k % 2:  # near b's mirror rather than b itself
            flips[b] = _flip_bits(hashes[a], gap, rng)
        else:
            hashes[b] = _flip_bits(hashes[a], gap, rng)
        planted[(a, b)] = gap
    hashes[500:530] = 0  # a crowd of identical hashes (blank images) and near-blank ones
    flips[500:530] = 0
    hashes[530:540] = [_flip_bits(np.zeros(32, np.uint8), 3, rng) for _ in range(10)]
    radius = max(plan(np.unpackbits(hashes, axis=1), t)[1])
    assert radius == {"narrow chunks": 0, "wide chunks": 2}.get(chunking, radius)
    got = hamming_within(hashes, flips, t)
    np.testing.assert_array_equal(got, all_pairs_within(hashes, flips, t))
    found = {tuple(p) for p in got}
    for pair, gap in planted.items():
        assert (pair in found) == (gap <= t), (pair, gap)
    assert len(found) >= 12 + 40 * 39 // 2


def test_small_batches_give_the_same_pairs(monkeypatch):
    rng = np.random.default_rng(1)
    hashes = rng.integers(0, 256, (300, 8), dtype=np.uint8)
    hashes[100:140] = hashes[0]
    flips = hashes[rng.permutation(300)]
    expected = hamming_within(hashes, flips, 16)
    monkeypatch.setattr(hamming, "BATCH", 7)
    np.testing.assert_array_equal(hamming_within(hashes, flips, 16), expected)
    np.testing.assert_array_equal(expected, all_pairs_within(hashes, flips, 16))


@pytest.mark.parametrize("nbits, distance", [(256, 32), (256, 0), (256, 128), (64, 12), (64, 0)])
@pytest.mark.parametrize("k", [0, 10, 3_000])
def test_plan_keeps_the_pigeonhole_bound(nbits, distance, k):
    bits = np.random.default_rng(k).integers(0, 2, (k, nbits), dtype=np.uint8)
    m, radii = plan(bits, distance)
    assert len(radii) == m and min(radii) >= 0
    assert sum(radii) >= distance - m + 1  # some chunk is within its radius for any near pair
    assert -(-nbits // m) <= KEY_BITS


def test_plan_takes_wider_chunks_for_look_alike_hashes():
    rng = np.random.default_rng(0)
    spread = rng.integers(0, 2, (20_000, 256), dtype=np.uint8)
    alike = spread.copy()
    alike[:, ::2] = 0  # half the bits the same in every hash: narrow chunks would all collide
    assert plan(alike, 32)[0] < plan(spread, 32)[0]


def test_no_hashes_and_one_hash():
    empty = np.empty((0, 32), np.uint8)
    assert hamming_within(empty, empty, 32).shape == (0, 2)
    one = np.zeros((1, 32), np.uint8)
    assert hamming_within(one, one, 32).shape == (0, 2)
