"""Cameras of the synthetic faces: what one camera (and the people in front of it) does
differently from another. The `default` camera draws the training set; `shifted` draws a second
set "as if from another camera" (darker, warmer, blurrier, JPEG, smaller faces, another age and
gender mix), an external test set that shows a model's cross-dataset gap.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Camera:
    """The ranges `prepare.faces` draws from. Ranges are (low, high) of a uniform draw."""

    #: 0 keeps the default random streams; any other number is appended to every seed key, so a
    #: camera's images never repeat another's drawn with the same seed.
    stream: int = 0
    #: Image ids are the prefix and the index (`syn000042`): two cameras' ids never collide.
    id_prefix: str = "syn"
    #: Lighting: every pixel times a gain from this range.
    gain: tuple[float, float] = (0.7, 1.25)
    #: Colour cast: added to each of R, G, B, the mean of a normal draw of sd 6.
    cast: tuple[float, float, float] = (0.0, 0.0, 0.0)
    #: Share of images blurred, and the blur's sigma (output px).
    blur_share: float = 0.5
    blur_sigma: tuple[float, float] = (0.3, 1.0)
    #: JPEG quality range (one draw per image), or None to save lossless PNG files.
    jpeg_quality: tuple[int, int] | None = None
    #: Background colours' saturation and brightness, times these (saturation capped at 1).
    background_saturation: float = 1.0
    background_value: float = 1.0
    #: Face size, times a draw from this range (and the age's own factor).
    face_scale: tuple[float, float] = (0.8, 1.0)
    #: Share of women, or None for an even draw.
    female_share: float | None = None
    #: Probabilities of child, adult, elder.
    age_p: tuple[float, float, float] = (0.25, 0.5, 0.25)

    def key(self, *key: int) -> list[int]:
        """The `numpy.random.default_rng` key of one stream: `key`, then the camera's number.
        (A trailing 0 would not change the stream, hence no number at all for stream 0.)"""
        return [*key, self.stream] if self.stream else list(key)


CAMERAS = {
    "default": Camera(),
    "shifted": Camera(
        stream=1,
        id_prefix="cam",
        gain=(0.55, 0.95),
        cast=(12.0, 4.0, -10.0),  # warm: more red, less blue
        blur_share=1.0,
        blur_sigma=(0.8, 1.6),
        jpeg_quality=(30, 60),
        background_saturation=1.6,
        background_value=0.6,
        face_scale=(0.6, 0.85),
        female_share=0.7,
        age_p=(0.4, 0.3, 0.3),  # more children and elders
    ),
}
