"""Safe image decoding, resizing and the uint8 tensor cache.

`decode` turns any file PIL can read into an 8-bit RGB array, or raises `BadImage` with a short
reason: not an image, truncated, a decompression bomb, an unreadable mode. Odd but valid images
(EXIF-rotated, palette, alpha, grey, CMYK, 16-bit, float) are converted, not rejected.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from maskutils.core.files import atomic, check_file

IMAGE_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".gif",
    ".webp",
    ".tif",
    ".tiff",
    ".ppm",
    ".pgm",
    ".jfif",
}


class BadImage(Exception):
    """An image that cannot be used; str(exc) is the reason shown in the report."""


def header_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) read from the file's header without decoding it; None if it cannot be
    read (decoding reports why, later)."""
    if check_file(Path(path)):
        return None
    try:
        with Image.open(path) as img:
            return img.width, img.height
    except Exception:  # noqa: BLE001 - any unreadable file: decode() names the reason
        return None


def decode(path: str | Path, max_pixels: int = 60_000_000) -> tuple[np.ndarray, str]:
    """(H x W x 3 uint8 RGB array, PIL format name) for the file at `path`.

    Whatever goes wrong inside a decoder (a format PIL opens but cannot decode, a corrupt
    header) is a BadImage, so one bad file never stops a run of thousands."""
    reason = check_file(Path(path))  # a FIFO would block open() for ever
    if reason:
        raise BadImage(reason)
    limit, Image.MAX_IMAGE_PIXELS = (
        Image.MAX_IMAGE_PIXELS,
        None,
    )  # our check below replaces PIL's 89.5M one
    try:
        with Image.open(path) as img:
            fmt = img.format or "unknown"
            if img.width * img.height > max_pixels:  # read from the header, before any decoding
                raise BadImage(f"too large: {img.width}x{img.height} pixels (limit {max_pixels:,})")
            img.load()
            img = ImageOps.exif_transpose(img)
            return to_rgb(img), fmt
    except BadImage:
        raise
    except UnidentifiedImageError:
        raise BadImage("not an image (no decoder recognises it)") from None
    except OSError as exc:
        reason = "truncated" if "truncated" in str(exc).lower() else "unreadable"
        raise BadImage(f"{reason}: {exc}") from None
    except (ValueError, SyntaxError, EOFError) as exc:  # PIL raises these on some corrupt headers
        raise BadImage(f"unreadable: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - e.g. NotImplementedError from PIL's DDS plugin
        raise BadImage(f"unreadable: cannot decode ({type(exc).__name__}: {exc})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def to_rgb(img: Image.Image) -> np.ndarray:
    """8-bit RGB from any PIL mode; transparency (an alpha channel, or a PNG tRNS chunk in any
    mode) is composited onto white."""
    clear = img.info.get("transparency")
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        raw = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if img.mode.startswith("I;16") or raw.max() > 255 else 255.0
        arr = np.clip(raw / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        if isinstance(clear, int):
            arr[raw == clear] = 255
        return np.repeat(arr[..., None], 3, axis=2)
    if clear is not None and img.mode in ("1", "L", "P", "RGB"):
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        img = img.convert("RGBA")
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8)


def crop(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The box (x0, y0, x1, y1), already clipped to the image, as a copy."""
    x0, y0, x1, y1 = box
    return rgb[y0:y1, x0:x1].copy()


def resize(rgb: np.ndarray, size: int) -> np.ndarray:
    """Square `size` x `size` RGB (the whole image, squashed; faces are close to square)."""
    img = Image.fromarray(rgb)
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(img, dtype=np.uint8)


# ---- the cache: N x 3 x S x S uint8, keyed by the manifest's image ids and the size -----------


def cache_key(image_ids, size: int) -> str:
    digest = hashlib.sha1("\n".join(map(str, image_ids)).encode()).hexdigest()[:16]
    return f"{size}-{digest}"


def save_cache(path: Path, images: np.ndarray, image_ids, size: int) -> None:
    """images: N x 3 x S x S uint8, row i belonging to image_ids[i]."""
    assert images.dtype == np.uint8 and images.ndim == 4 and images.shape[1:] == (3, size, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic(path) as tmp, open(tmp, "wb") as f:
        np.save(f, images)
    with atomic(path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps({"key": cache_key(image_ids, size), "n": len(images)}))


def load_cache(path: Path, image_ids, size: int, mmap: bool = True) -> np.ndarray:
    """The cached tensor for exactly these ids and size; a stale or missing cache is an error."""
    meta_path = path.with_suffix(".json")
    if not path.is_file() or not meta_path.is_file():
        raise FileNotFoundError(f"image cache {path} not found: run `dvc repro prepare` first")
    meta = json.loads(meta_path.read_text())
    if meta.get("key") != cache_key(image_ids, size):
        raise ValueError(
            f"image cache {path} does not match the manifest (stale): run `dvc repro prepare`"
        )
    return np.load(path, mmap_mode="r" if mmap else None)
