import io

import numpy as np
import pytest
from PIL import Image

from maskutils.core.images import BadImage, decode, load_cache, resize, save_cache
from tests.conftest import face_photo, save


def test_rgb_jpeg(tmp_path):
    rgb, fmt = decode(save(face_photo(), tmp_path / "a.jpg", quality=90))
    assert rgb.shape == (128, 128, 3) and rgb.dtype == np.uint8 and fmt == "JPEG"


def test_exif_rotation_is_applied(tmp_path):
    arr = np.zeros((40, 100, 3), np.uint8)
    arr[:, :10] = 255  # a white band on the left
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif, quality=95)
    rgb, _ = decode(path)
    assert rgb.shape[:2] == (100, 40)  # portrait after transposing
    assert rgb[:10].mean() > 200 and rgb[-10:].mean() < 50  # the band is now on top


def test_palette_with_transparency_goes_onto_white(tmp_path):
    img = Image.new("P", (20, 20), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (0, 0, 10, 20))
    img.info["transparency"] = 0
    path = tmp_path / "p.png"
    img.save(path, transparency=0)
    rgb, _ = decode(path)
    assert tuple(rgb[5, 2]) == (255, 0, 0) and tuple(rgb[5, 15]) == (255, 255, 255)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_composited_on_white(tmp_path, mode):
    img = Image.new(mode, (8, 8), (0, 0) if mode == "LA" else (0, 0, 0, 0))
    rgb, _ = decode(save(img, tmp_path / "a.png"))
    assert (rgb == 255).all()


def test_grey_cmyk_and_16_bit(tmp_path):
    grey, _ = decode(save(Image.new("L", (9, 7), 100), tmp_path / "g.png"))
    assert grey.shape == (7, 9, 3) and (grey == 100).all()
    cmyk, fmt = decode(save(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), tmp_path / "c.jpg"))
    assert fmt == "JPEG" and cmyk[..., 0].mean() > 200 and cmyk[..., 1].mean() < 60  # red
    deep = Image.fromarray(np.full((6, 6), 65535 // 2, dtype=np.uint16))
    d16, _ = decode(save(deep, tmp_path / "d.png"))
    assert abs(int(d16[0, 0, 0]) - 128) <= 1  # scaled from 16 bits, not clipped to white


def test_truncated_file_is_reported(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(face_photo()).save(buf, "JPEG", quality=90)
    path = tmp_path / "t.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(BadImage, match="truncated"):
        decode(path)


@pytest.mark.parametrize("content", [b"", b"hello, not an image", b"\x89PNG\r\n\x1a\n garbage"])
def test_non_images_are_reported(tmp_path, content):
    path = tmp_path / "x.jpg"
    path.write_bytes(content)
    with pytest.raises(BadImage, match="not an image|unreadable|truncated"):
        decode(path)


def test_decompression_bomb_is_refused(tmp_path):
    path = save(Image.new("L", (3000, 3000)), tmp_path / "big.png")
    with pytest.raises(BadImage, match="too large"):
        decode(path, max_pixels=1_000_000)


def test_resize_and_cache_round_trip(tmp_path):
    imgs = np.stack([resize(face_photo(i), 16).transpose(2, 0, 1) for i in range(3)])
    assert imgs.shape == (3, 3, 16, 16)
    save_cache(tmp_path / "c.npy", imgs, ["a", "b", "c"], 16)
    assert (load_cache(tmp_path / "c.npy", ["a", "b", "c"], 16) == imgs).all()
    with pytest.raises(ValueError, match="stale"):
        load_cache(tmp_path / "c.npy", ["a", "c", "b"], 16)
    with pytest.raises(FileNotFoundError, match="dvc repro prepare"):
        load_cache(tmp_path / "missing.npy", ["a"], 16)
