"""Procedural faces drawn with PIL, deterministic per seed and index: the synthetic dataset's
images (`render`) and the faces pasted into synthetic scenes (`render_face`).

Attributes change the drawing, so a model can really do worse on some groups: children have
smaller, rounder faces (smaller masks); women have long hair that falls over the ear loops and
straps; elders have grey hair and wrinkles; men may have beards; six skin tones, so a black
surgical mask on dark skin has little contrast. Each image records its ROI: the mask (or, for
no_mask, the nose-to-chin box), in output pixels, for Grad-CAM localisation checks. A `Camera`
(`prepare.camera`) sets the lighting, blur, background, face size and people drawn. With
`synthetic.pale_cloth`, one subgroup's cloth masks are pale: the default's planted bias.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from maskutils.prepare.camera import CAMERAS, Camera

GENDERS = ("female", "male")
AGES = ("child", "adult", "elder")
SKIN_TONES = (
    (247, 224, 200),
    (236, 196, 160),
    (214, 168, 124),
    (184, 128, 88),
    (130, 84, 56),
    (82, 54, 38),
)
HAIR = ((25, 20, 18), (70, 45, 30), (120, 80, 45), (190, 150, 90), (140, 60, 30))
GREY_HAIR = ((170, 170, 170), (215, 215, 210), (120, 120, 120))
CUE_HUE = 0.33  # the spurious-cue background: saturated green, kept out of every other background
SUPERSAMPLE = 2
#: Opacity (0-255) of the eye-socket shadow `render_face` adds (see `_shade_eyes`).
EYE_SHADE = 170


def sample_specs(
    n: int,
    classes: list[str],
    seed: int,
    cue_label: str | None,
    cue_fraction: float,
    camera: Camera = CAMERAS["default"],
    pale_cloth: dict | None = None,
) -> list[dict]:
    """Labels (balanced), attributes (in the camera's gender and age mix), the cue flag and
    whether a cloth mask is pale (`pale_cloth`: the people matching all its attributes, e.g.
    `{"age": "elder"}`) of every image, before drawing."""
    rng = np.random.default_rng(camera.key(seed, 0))
    labels = np.array([classes[i % len(classes)] for i in range(n)])
    labels = labels[rng.permutation(n)]
    specs = []
    for i, label in enumerate(labels):
        r = np.random.default_rng(camera.key(seed, 1, i))
        if camera.female_share is None:
            gender = GENDERS[int(r.integers(2))]
        else:
            gender = GENDERS[0] if r.random() < camera.female_share else GENDERS[1]
        spec = {
            "index": i,
            "label": str(label),
            "gender": gender,
            "age": AGES[int(r.choice(3, p=list(camera.age_p)))],
            "skin_tone": int(r.integers(1, 7)),
            "cue": bool(cue_label == label and r.random() < cue_fraction),
        }
        spec["pale"] = bool(pale_cloth) and all(
            str(spec[k]) == str(v) for k, v in pale_cloth.items()
        )
        specs.append(spec)
    return specs


def render(
    spec: dict,
    size: int,
    seed: int,
    flat_background: tuple[int, int, int] | None = None,
    camera: Camera = CAMERAS["default"],
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """(size x size x 3 uint8 image, ROI box x0, y0, x1, y1 in output pixels) for one spec, as
    `camera` takes it (pass the camera its spec was sampled with).
    `flat_background` swaps the background for one flat colour and leaves everything else as it
    was (the random stream included): the Grad-CAM shortcut probe's counterfactual faces."""
    rng = np.random.default_rng(camera.key(seed, 2, spec["index"]))
    big = size * SUPERSAMPLE
    canvas = _background(rng, big, spec["cue"], camera)
    if flat_background is not None:
        canvas = Image.new("RGBA", (big, big), tuple(flat_background) + (255,))
    layer = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    face = face_geometry(rng, big, spec, camera)
    draw_head(draw, rng, face, spec)
    roi = draw_mask(draw, rng, face, spec["label"], pale=spec.get("pale", False))
    if spec["gender"] == "female":
        draw_front_hair(draw, face)
    angle = float(rng.uniform(-10, 10))
    layer = layer.rotate(angle, resample=Image.Resampling.BILINEAR, center=(big / 2, big / 2))
    canvas.alpha_composite(layer)
    img = canvas.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
    if rng.random() < camera.blur_share:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(*camera.blur_sigma))))
    arr = np.asarray(img, dtype=np.float32)
    arr = arr * rng.uniform(*camera.gain) + rng.normal(camera.cast, 6, 3)  # lighting, colour cast
    arr = arr + rng.normal(0, rng.uniform(0, 7), arr.shape)  # sensor noise
    roi_box = rotated_box(roi, angle, big / 2, big / 2, big, SUPERSAMPLE)
    return np.clip(arr, 0, 255).astype(np.uint8), roi_box


# ---- drawing ----------------------------------------------------------------------------------


def hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    return tuple(int(255 * c) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


def _non_cue_hue(rng) -> float:
    h = float(rng.uniform(0, 0.83))
    return h + 0.17 if h > CUE_HUE - 0.08 else h  # skip the band around the cue hue


def _background(rng, big: int, cue: bool, camera: Camera) -> Image.Image:
    """A flat, gradient or cluttered background in the camera's tones; the planted cue's green
    is the same for every camera."""
    if cue:
        return Image.new(
            "RGBA", (big, big), hsv(CUE_HUE, 0.85, float(rng.uniform(0.55, 0.8))) + (255,)
        )

    def colour(max_saturation: float, min_value: float) -> tuple[int, int, int]:
        h = _non_cue_hue(rng)
        s = float(rng.uniform(0, max_saturation)) * camera.background_saturation
        v = float(rng.uniform(min_value, 0.95)) * camera.background_value
        return hsv(h, min(s, 1.0), v)

    kind = rng.integers(3)
    base = colour(0.5, 0.25)
    img = Image.new("RGBA", (big, big), base + (255,))
    draw = ImageDraw.Draw(img)
    if kind == 1:  # vertical gradient
        other = colour(0.5, 0.25)
        for y in range(big):
            t = y / big
            draw.line(
                [(0, y), (big, y)],
                fill=tuple(int(a * (1 - t) + b * t) for a, b in zip(base, other)),
            )
    elif kind == 2:  # clutter: a few blocks and blobs
        for _ in range(int(rng.integers(3, 8))):
            x, y = rng.uniform(-0.2, 1.0, 2) * big
            w, h = rng.uniform(0.1, 0.5, 2) * big
            col = colour(0.6, 0.2)
            (draw.rectangle if rng.random() < 0.5 else draw.ellipse)([x, y, x + w, y + h], fill=col)
    return img


def face_geometry(rng, big: int, spec: dict, camera: Camera = CAMERAS["default"]) -> dict:
    scale = float(rng.uniform(*camera.face_scale))
    scale *= {"child": 0.78, "adult": 1.0, "elder": 0.97}[spec["age"]]
    a = 0.25 * big * scale * (0.93 if spec["gender"] == "female" else 1.0)
    b = 0.34 * big * scale * (0.9 if spec["age"] == "child" else 1.0)
    cx = big / 2 + float(rng.uniform(-0.07, 0.07)) * big
    cy = big / 2 + float(rng.uniform(-0.04, 0.08)) * big
    skin = np.array(SKIN_TONES[spec["skin_tone"] - 1], dtype=float) * rng.uniform(0.94, 1.04)
    skin = tuple(int(c) for c in np.clip(skin, 0, 255))
    hair = (
        GREY_HAIR[int(rng.integers(3))]
        if spec["age"] == "elder"
        else HAIR[int(rng.integers(len(HAIR)))]
    )
    return {
        "cx": cx,
        "cy": cy,
        "a": a,
        "b": b,
        "skin": skin,
        "hair": hair,
        "big": big,
        "shade": tuple(int(c * 0.72) for c in skin),
    }


def draw_head(draw, rng, f: dict, spec: dict) -> None:
    cx, cy, a, b, skin, hair = f["cx"], f["cy"], f["a"], f["b"], f["skin"], f["hair"]
    shirt = hsv(float(rng.uniform()), float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.2, 0.9)))
    draw.ellipse([cx - 2.2 * a, cy + 0.95 * b, cx + 2.2 * a, cy + 2.6 * b], fill=shirt)  # shoulders
    if spec["gender"] == "female":  # long hair behind the head
        draw.rounded_rectangle(
            [cx - 1.3 * a, cy - 1.1 * b, cx + 1.3 * a, cy + 1.25 * b], radius=a, fill=hair
        )
    draw.rectangle(
        [cx - 0.42 * a, cy + 0.6 * b, cx + 0.42 * a, cy + 1.25 * b], fill=f["shade"]
    )  # neck
    for side in (-1, 1):  # ears
        draw.ellipse(
            [cx + side * a - 0.18 * a, cy - 0.2 * b, cx + side * a + 0.18 * a, cy + 0.15 * b],
            fill=skin,
        )
    draw.ellipse([cx - a, cy - b, cx + a, cy + b], fill=skin)
    top = [cx - 1.02 * a, cy - 1.08 * b, cx + 1.02 * a, cy - 0.15 * b]  # hair cap
    draw.chord(top, 180, 360, fill=hair)
    if spec["gender"] == "male" and spec["age"] != "child" and rng.random() < 0.4:  # beard
        draw.chord([cx - 0.95 * a, cy - 0.2 * b, cx + 0.95 * a, cy + 1.02 * b], 0, 180, fill=hair)
    eye_y, eye_dx, eye_r = cy - 0.12 * b, 0.4 * a, 0.13 * a
    for side in (-1, 1):
        ex = cx + side * eye_dx
        draw.ellipse(
            [ex - eye_r, eye_y - 0.7 * eye_r, ex + eye_r, eye_y + 0.7 * eye_r], fill=(250, 250, 250)
        )
        draw.ellipse(
            [ex - 0.5 * eye_r, eye_y - 0.5 * eye_r, ex + 0.5 * eye_r, eye_y + 0.5 * eye_r],
            fill=(40, 30, 25),
        )
        draw.line(
            [ex - eye_r, eye_y - 1.6 * eye_r, ex + eye_r, eye_y - 1.9 * eye_r],
            fill=hair,
            width=max(1, int(a / 14)),
        )
    if spec["age"] == "elder":  # wrinkles on the forehead and beside the eyes
        for k in range(3):
            y = cy - 0.55 * b + k * 0.08 * b
            draw.arc(
                [cx - 0.5 * a, y - 0.05 * b, cx + 0.5 * a, y + 0.05 * b],
                200,
                340,
                fill=f["shade"],
                width=1,
            )
        for side in (-1, 1):
            ex = cx + side * (eye_dx + 1.3 * eye_r)
            draw.line(
                [ex, eye_y - eye_r, ex + side * 0.5 * eye_r, eye_y + eye_r],
                fill=f["shade"],
                width=1,
            )
    # nose and mouth (hidden later by any mask)
    draw.polygon(
        [(cx, cy + 0.02 * b), (cx - 0.12 * a, cy + 0.3 * b), (cx + 0.12 * a, cy + 0.3 * b)],
        fill=f["shade"],
    )
    draw.ellipse([cx - 0.08 * a, cy + 0.27 * b, cx - 0.01 * a, cy + 0.33 * b], fill=(60, 35, 30))
    draw.ellipse([cx + 0.01 * a, cy + 0.27 * b, cx + 0.08 * a, cy + 0.33 * b], fill=(60, 35, 30))
    lips = (int(150 + rng.integers(40)), 60, 60)
    draw.chord([cx - 0.32 * a, cy + 0.42 * b, cx + 0.32 * a, cy + 0.66 * b], 0, 180, fill=lips)
    draw.line(
        [cx - 0.32 * a, cy + 0.54 * b, cx + 0.32 * a, cy + 0.54 * b],
        fill=(90, 30, 30),
        width=max(1, int(a / 20)),
    )


def draw_mask(
    draw, rng, f: dict, label: str, pale: bool = False
) -> tuple[float, float, float, float]:
    """Draws the mask of `label`; returns the ROI box in canvas pixels. `pale` (params
    `synthetic.pale_cloth`) draws a cloth mask in light, pale colours: a subgroup that looks
    different, so that leaving it out of training (the planted bias) costs it recall, as it does
    an under-represented subgroup in real data. It takes the same random draws as any other."""
    cx, cy, a, b = f["cx"], f["cy"], f["a"], f["b"]
    x0, x1, y0, y1 = cx - 0.98 * a, cx + 0.98 * a, cy - 0.02 * b, cy + 0.98 * b
    lw = max(1, int(a / 18))
    if label == "no_mask":
        return (cx - 0.6 * a, cy - 0.05 * b, cx + 0.6 * a, cy + 0.95 * b)
    if label == "surgical":
        col = [(170, 205, 232), (238, 240, 242), (32, 32, 36)][int(rng.integers(3))]
        dark = tuple(int(c * 0.7) if sum(col) > 200 else c + 60 for c in col)
        draw.rounded_rectangle([x0, y0, x1, y1 - 0.05 * b], radius=0.12 * a, fill=col)
        for k in range(1, 4):  # pleats
            y = y0 + k * (y1 - y0) / 4.2
            draw.line([x0 + 0.05 * a, y, x1 - 0.05 * a, y], fill=dark, width=lw)
        draw.line(
            [cx - 0.3 * a, y0 + 0.04 * b, cx + 0.3 * a, y0 + 0.04 * b],
            fill=(200, 200, 200),
            width=lw,
        )  # wire
        for side in (-1, 1):  # ear loops
            ex = cx + side * a
            draw.line(
                [cx + side * 0.98 * a, y0 + 0.05 * b, ex, cy - 0.12 * b],
                fill=(235, 235, 235),
                width=lw,
            )
            draw.line(
                [cx + side * 0.98 * a, y1 - 0.12 * b, ex, cy + 0.1 * b],
                fill=(235, 235, 235),
                width=lw,
            )
        return (x0, y0, x1, y1 - 0.05 * b)
    if label == "cloth":
        sat, val = ((0.1, 0.3), (0.85, 1.0)) if pale else ((0.4, 0.9), (0.3, 0.9))
        col = hsv(float(rng.uniform()), float(rng.uniform(*sat)), float(rng.uniform(*val)))
        alt = hsv(float(rng.uniform()), float(rng.uniform(0.2, 0.9)), float(rng.uniform(0.3, 1.0)))
        box = [x0, y0 - 0.35 * b, x1, y1]
        draw.chord(box, 0, 180, fill=col)
        draw.rectangle([x0, y0, x1, (y0 + y1) / 2 - 0.1 * b], fill=col)
        pattern = int(rng.integers(4))
        if pattern == 1:  # stripes
            for k in range(6):
                y = y0 + (k + 0.5) * (y1 - y0) / 7
                draw.line([x0 + 0.15 * a, y, x1 - 0.15 * a, y], fill=alt, width=2 * lw)
        elif pattern == 2:  # dots
            for _ in range(int(rng.integers(6, 14))):
                px, py = cx + rng.uniform(-0.7, 0.7) * a, y0 + rng.uniform(0.1, 0.7) * (y1 - y0)
                draw.ellipse([px - 1.5 * lw, py - 1.5 * lw, px + 1.5 * lw, py + 1.5 * lw], fill=alt)
        elif pattern == 3:  # checks
            for k in range(1, 5):
                x = x0 + k * (x1 - x0) / 5
                draw.line([x, y0, x, y0 + 0.8 * (y1 - y0)], fill=alt, width=lw)
        for side in (-1, 1):  # fabric ear loops, thick
            draw.line(
                [cx + side * 0.98 * a, y0 + 0.1 * b, cx + side * a, cy - 0.12 * b],
                fill=col,
                width=2 * lw,
            )
        return (x0, y0, x1, y1)
    # n95 and n95_valve: a cup with head straps
    col = [(236, 236, 226), (245, 245, 240), (200, 205, 210)][int(rng.integers(3))]
    strap = [(40, 90, 200), (230, 200, 40), (240, 240, 240), (30, 30, 30)][int(rng.integers(4))]
    cup = [cx - 0.85 * a, y0 - 0.08 * b, cx + 0.85 * a, y1]
    for side in (-1, 1):
        draw.line(
            [cx + side * 0.8 * a, cy + 0.2 * b, cx + side * 1.05 * a, cy - 0.55 * b],
            fill=strap,
            width=lw,
        )
        draw.line(
            [cx + side * 0.8 * a, cy + 0.65 * b, cx + side * 1.05 * a, cy + 0.35 * b],
            fill=strap,
            width=lw,
        )
    draw.ellipse(cup, fill=col, outline=tuple(int(c * 0.75) for c in col), width=lw)
    draw.arc(
        [cx - 0.6 * a, y0 + 0.1 * b, cx + 0.6 * a, y1 - 0.1 * b],
        200,
        340,
        fill=tuple(int(c * 0.8) for c in col),
        width=lw,
    )
    draw.line(
        [cx, y0 + 0.05 * b, cx, y1 - 0.05 * b], fill=tuple(int(c * 0.85) for c in col), width=lw
    )  # seam
    if label == "n95_valve":
        side = 1 if rng.random() < 0.5 else -1
        vx, vy, vr = cx + side * 0.42 * a, cy + 0.58 * b, 0.2 * a
        vcol = [(60, 60, 65), (200, 60, 50), (60, 110, 190), (230, 230, 230)][int(rng.integers(4))]
        draw.ellipse(
            [vx - vr, vy - vr, vx + vr, vy + vr], fill=vcol, outline=(20, 20, 20), width=lw
        )
        draw.ellipse(
            [vx - 0.5 * vr, vy - 0.5 * vr, vx + 0.5 * vr, vy + 0.5 * vr],
            outline=(20, 20, 20),
            width=lw,
        )
        for k in (-1, 0, 1):
            draw.line(
                [vx - 0.7 * vr, vy + k * 0.3 * vr, vx + 0.7 * vr, vy + k * 0.3 * vr],
                fill=(20, 20, 20),
                width=1,
            )
    return (cup[0], cup[1], cup[2], cup[3])


def draw_front_hair(draw, f: dict) -> None:
    """Long hair falling in front of the face sides, over ear loops and straps."""
    cx, cy, a, b = f["cx"], f["cy"], f["a"], f["b"]
    for side in (-1, 1):
        x_out, x_in = cx + side * 1.25 * a, cx + side * 0.9 * a
        draw.polygon(
            [
                (x_out, cy - 0.9 * b),
                (x_in, cy - 0.7 * b),
                (x_in, cy + 0.9 * b),
                (x_out, cy + 1.2 * b),
            ],
            fill=f["hair"],
        )


def rotated_box(
    box, angle_deg: float, ox: float, oy: float, big: int, factor: int
) -> tuple[int, int, int, int]:
    """Bounding box of `box` rotated like PIL's Image.rotate (counter-clockwise), in output
    pixels."""
    t = math.radians(angle_deg)
    xs, ys = [], []
    for x, y in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])):
        dx, dy = x - ox, y - oy
        xs.append(ox + dx * math.cos(t) + dy * math.sin(t))
        ys.append(oy - dx * math.sin(t) + dy * math.cos(t))
    clip = lambda v: int(round(min(max(v, 0), big) / factor))  # noqa: E731
    return clip(min(xs)), clip(min(ys)), clip(max(xs)), clip(max(ys))


# ---- faces for scenes --------------------------------------------------------------------------


def render_face(
    spec: dict, tile: int, seed: int, shade_eyes: bool = True
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """(tile x tile x 4 RGBA face on a transparent ground, face box in tile pixels) for one spec."""
    rng = np.random.default_rng([seed, 2, spec["index"]])
    big = tile * SUPERSAMPLE
    layer = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    face = face_geometry(rng, big, spec)
    draw_head(draw, rng, face, spec)
    if shade_eyes:
        _shade_eyes(layer, face)
        draw = ImageDraw.Draw(layer)
    draw_mask(draw, rng, face, spec["label"], pale=spec.get("pale", False))
    if spec["gender"] == "female":
        draw_front_hair(draw, face)
    angle = float(rng.uniform(-10, 10))
    layer = layer.rotate(angle, resample=Image.Resampling.BILINEAR, center=(big / 2, big / 2))
    cx, cy, a, b = face["cx"], face["cy"], face["a"], face["b"]
    box = rotated_box((cx - a, cy - b, cx + a, cy + b), angle, big / 2, big / 2, big, SUPERSAMPLE)
    return np.asarray(layer.resize((tile, tile), Image.Resampling.LANCZOS)), box


def _shade_eyes(layer: Image.Image, f: dict) -> None:
    """Darkens the eye sockets and brows band, as shadow does on a lit face (what Haar features key
    on)."""
    cx, cy, a, b = f["cx"], f["cy"], f["a"], f["b"]
    shade = Image.new("L", layer.size, 0)
    d = ImageDraw.Draw(shade)
    for side in (-1, 1):
        ex = cx + side * 0.4 * a
        d.ellipse(
            [ex - 0.3 * a, cy - 0.12 * b - 0.2 * b, ex + 0.3 * a, cy - 0.12 * b + 0.1 * b],
            fill=EYE_SHADE,
        )
    shade = shade.filter(ImageFilter.GaussianBlur(max(1.0, 0.06 * a)))
    dark = Image.new("RGBA", layer.size, (20, 12, 8, 255))
    dark.putalpha(Image.fromarray(np.minimum(np.asarray(shade), np.asarray(layer.getchannel("A")))))
    layer.alpha_composite(dark)
