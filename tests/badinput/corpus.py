"""The bad-input corpus, generated at run time (no binary fixtures): tiny files a new user might
feed the study, each built by one function from a few bytes or a 12-pixel image.

Each test id starts with the outcome it asserts: `handled` (used correctly), `error` (a clear
error naming the file or key), `skipped` (reported in the rejected list with its reason, the rest
of the run going on). docs/bad-input.md lists the cases.
"""

from __future__ import annotations

import os
import pathlib
import struct
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SIDE = 12  # every image is SIDE x SIDE pixels


def case(kind: str, name: str, *values):
    """A parametrize entry whose id says the outcome asserted: handled, error or skipped."""
    assert kind in ("handled", "error", "skipped")
    return pytest.param(*values, id=f"{kind}:{name}")


def face(seed: int) -> np.ndarray:
    """A distinct small RGB image (noise blobs), so no two are near-duplicates."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((SIDE * 3, SIDE * 3), Image.NEAREST))


def png(path: Path, arr_or_img, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = arr_or_img if isinstance(arr_or_img, Image.Image) else Image.fromarray(arr_or_img)
    img.save(path, **kw)
    return path


# ---- images: each writer makes one file and returns it ------------------------------------


def truncated(path: Path) -> Path:
    good = png(path.with_suffix(".tmp.jpg"), face(1), format="JPEG", quality=90)
    data = good.read_bytes()
    good.unlink()
    path.write_bytes(data[: len(data) // 3])
    return path


def dds_unimplemented(path: Path) -> Path:
    """A DDS file PIL opens but cannot decode (an unknown pixel format): NotImplementedError."""
    buf = Path(str(path) + ".tmp")
    Image.new("RGB", (4, 4)).save(buf, format="DDS")
    data = bytearray(buf.read_bytes())
    buf.unlink()
    data[80:84], data[84:88] = struct.pack("<I", 4), b"ZZZZ"  # FOURCC flag, unknown fourcc
    path.write_bytes(bytes(data))
    return path


def bomb(path: Path) -> Path:
    """A PNG whose header declares 100,000 x 100,000 pixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
    )
    return path


def text_file(path: Path) -> Path:
    path.write_text("not an image")
    return path


def cmyk(path: Path) -> Path:
    return png(path, Image.fromarray(face(2)).convert("CMYK"), format="JPEG")


def grey16(path: Path) -> Path:
    return png(path, Image.fromarray(np.full((SIDE, SIDE), 40000, np.uint16)))


def palette_alpha(path: Path) -> Path:
    img = Image.new("P", (SIDE, SIDE), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (SIDE // 2, 0, SIDE, SIDE))  # left transparent (index 0), right red
    return png(path, img, transparency=0)


def exif_rotated(path: Path) -> Path:
    arr = np.zeros((SIDE, SIDE * 2, 3), np.uint8)
    arr[:, :3] = 255  # a white band on the left
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # displayed rotated 90 degrees clockwise
    return png(path, img, format="JPEG", exif=exif, quality=95)


def trns(mode: str):
    """A PNG of `mode` whose left half is the colour its tRNS chunk marks transparent."""

    def write(path: Path) -> Path:
        black = {"1": 0, "L": 0, "I;16": 0, "RGB": (0, 0, 0)}[mode]
        if mode == "I;16":  # PIL's paste keeps only the low byte of 16-bit values
            arr = np.zeros((SIDE, SIDE), np.uint16)
            arr[:, SIDE // 2 :] = 30000
            return png(path, Image.fromarray(arr), transparency=black)
        img = Image.new(mode, (SIDE, SIDE), black)
        right = {"1": 1, "L": 90, "RGB": (200, 10, 10)}[mode]
        img.paste(right, (SIDE // 2, 0, SIDE, SIDE))
        return png(path, img, transparency=black)

    return write


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def broken_link(path: Path) -> Path:
    path.symlink_to(path.parent / "gone.png")
    return path


def link_outside(path: Path, target: Path) -> Path:
    png(target, face(9))
    path.symlink_to(target)
    return path


def non_utf8_name(folder: Path) -> Path:
    """An image whose name is Latin-1 bytes (caf\\xe9.png), not valid UTF-8."""
    name = os.fsdecode(b"caf\xe9.png")
    return png(folder / name, face(8))


# ---- permissions: root reads everything, so there the denial is simulated -------------------


@contextmanager
def denied(*paths: Path):
    """Makes `paths` unreadable (folders unlistable): chmod 000, or for root, whom no mode stops,
    os.scandir and Path.read_bytes raise PermissionError for them."""
    paths = [Path(p) for p in paths]
    if os.geteuid() != 0:
        modes = [p.stat().st_mode for p in paths]
        for p in paths:
            p.chmod(0)
        try:
            yield
        finally:
            for p, m in zip(paths, modes):
                p.chmod(m)
        return
    blocked = {os.path.realpath(p) for p in paths}
    real_scandir, real_read = os.scandir, pathlib.Path.read_bytes

    def scandir(path="."):
        if os.path.realpath(path) in blocked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    def read_bytes(self):
        if os.path.realpath(self) in blocked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "scandir", scandir)
        mp.setattr(pathlib.Path, "read_bytes", read_bytes)
        yield


# ---- VOC annotations -------------------------------------------------------------------------

OBJECT = (
    "<object><name>{name}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
    "<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
)


def voc_xml(filename: str, boxes=(("with_mask", (2, 2, 30, 30)),), head: str = "") -> str:
    body = "".join(OBJECT.format(name=n, b=b) for n, b in boxes)
    return f"{head}<annotation><filename>{filename}</filename>{body}</annotation>"


XXE = (
    '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<annotation><filename>&xxe;</filename></annotation>"
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 9))
    + "]><annotation><filename>&lol8;</filename></annotation>"
)
