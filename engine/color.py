"""sRGB <-> CIE L*a*b* (D65) in torch, batched.

Ranges, following the usual convention (kornia, skimage):
- sRGB: float in [0, 1], gamma-encoded (the values stored in an 8-bit file divided by 255).
- L*: [0, 100]; a*, b*: roughly [-128, 127] for in-gamut colours.
Tensors are channel-first: ``(..., 3, H, W)``. Any float dtype; computed in the input dtype, so pass
float32 where precision matters (bf16 has only 8 mantissa bits).
"""

from __future__ import annotations

import torch

# D65 reference white (CIE 1931 2-degree observer), as used by sRGB.
_WHITE_D65 = (0.95047, 1.0, 1.08883)

# Linear sRGB -> XYZ (IEC 61966-2-1), rows X, Y, Z.
_RGB_TO_XYZ = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_XYZ_TO_RGB = (
    (3.240479, -1.537150, -0.498535),
    (-0.969256, 1.875992, 0.041556),
    (0.055648, -0.204043, 1.057311),
)

_EPSILON = 216.0 / 24389.0  # (6/29)^3: where the Lab curve turns linear
_KAPPA = 24389.0 / 27.0


def _check_channels(image: torch.Tensor, name: str) -> None:
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(image).__name__}")
    if image.dim() < 3 or image.shape[-3] != 3:
        raise ValueError(f"{name} must have shape (..., 3, H, W), got {tuple(image.shape)}")
    if not image.is_floating_point():
        raise TypeError(f"{name} must be a float tensor, got {image.dtype}")


def _mix(image: torch.Tensor, matrix: tuple[tuple[float, ...], ...]) -> torch.Tensor:
    m = torch.tensor(matrix, dtype=image.dtype, device=image.device)
    return torch.einsum("ij,...jhw->...ihw", m, image)


def srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    """Undo the sRGB transfer curve. ``rgb`` in [0, 1] -> linear light in [0, 1]."""
    return torch.where(rgb > 0.04045, ((rgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4, rgb / 12.92)


def linear_to_srgb(linear: torch.Tensor) -> torch.Tensor:
    """Apply the sRGB transfer curve. Linear light in [0, 1] -> gamma-encoded [0, 1]."""
    safe = linear.clamp(min=0.0031308)
    return torch.where(linear > 0.0031308, 1.055 * safe ** (1.0 / 2.4) - 0.055, 12.92 * linear)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB ``(..., 3, H, W)`` in [0, 1] -> Lab ``(..., 3, H, W)``: L in [0, 100], a/b about +-128."""
    _check_channels(rgb, "rgb")
    xyz = _mix(srgb_to_linear(rgb.clamp(0.0, 1.0)), _RGB_TO_XYZ)
    white = torch.tensor(_WHITE_D65, dtype=rgb.dtype, device=rgb.device).view(3, 1, 1)
    xyz = xyz / white
    f = torch.where(xyz > _EPSILON, xyz.clamp(min=_EPSILON) ** (1.0 / 3.0), (_KAPPA * xyz + 16.0) / 116.0)
    fx, fy, fz = f.unbind(-3)
    lightness = 116.0 * fy - 16.0
    a = 500.0 * (fx - fy)
    b = 200.0 * (fy - fz)
    return torch.stack((lightness, a, b), dim=-3)


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """Lab ``(..., 3, H, W)`` (L in [0, 100]) -> sRGB ``(..., 3, H, W)`` in [0, 1].

    Out-of-gamut colours are clipped to [0, 1] when ``clip`` is true (what a file can hold).
    """
    _check_channels(lab, "lab")
    lightness, a, b = lab.unbind(-3)
    fy = (lightness + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = fy - b / 200.0
    f = torch.stack((fx, fy, fz), dim=-3)
    f3 = f**3
    xyz = torch.where(f3 > _EPSILON, f3, (116.0 * f - 16.0) / _KAPPA)
    white = torch.tensor(_WHITE_D65, dtype=lab.dtype, device=lab.device).view(3, 1, 1)
    linear = _mix(xyz * white, _XYZ_TO_RGB)
    if not clip:
        return linear_to_srgb(linear)
    return linear_to_srgb(linear.clamp(0.0, 1.0)).clamp(0.0, 1.0)


def gray_to_lightness(gray: torch.Tensor) -> torch.Tensor:
    """Gamma-encoded gray values in [0, 1] (any shape) -> L* in [0, 100].

    A gray pixel g is the sRGB colour (g, g, g), whose relative luminance is the linearised g.
    """
    y = srgb_to_linear(gray.clamp(0.0, 1.0))
    return torch.where(y > _EPSILON, 116.0 * y.clamp(min=_EPSILON) ** (1.0 / 3.0) - 16.0, _KAPPA * y)


def rgb_to_ycbcr_chroma(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB ``(..., 3, H, W)`` in [0, 1] -> JPEG (ITU-R 601, full range) Cb, Cr ``(..., 2, H, W)`` centred on 0.

    The scale is that of 8-bit JPEG divided by 255: Cb, Cr in about [-0.5, 0.5].
    """
    _check_channels(rgb, "rgb")
    r, g, b = rgb.unbind(-3)
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b
    return torch.stack((cb, cr), dim=-3)


# Where the roll-off of chroma toward white begins (L*). Chosen on ../shared/data/val with
# revive-base (README, v2.4), as was leaving the shadows alone: a roll-off toward black as well
# took the colour out of dark photos (one, mostly under L* 20, was left gray).
ROLLOFF_START = 70.0


def rolloff_gain(lightness: torch.Tensor, strength: float) -> torch.Tensor:
    """The share of its chroma a pixel keeps at its lightness, for ``lightness`` L* in [0, 100]
    (any shape; the result has the same shape, in [1 - strength, 1]).

    Real surfaces near white carry little colour, and the displayable a*b* range shrinks there,
    but a colorizer's annealed mean does not know it: white fur, snow or a pale wall come out
    tinted orange. The gain falls linearly from 1 at ``ROLLOFF_START`` to ``1 - strength`` at
    L* 100; darker pixels keep all of theirs. ``strength`` 0 leaves every pixel alone, 1 makes
    pure white neutral.
    """
    check_rolloff(strength)
    return 1.0 - strength * ((lightness - ROLLOFF_START) / (100.0 - ROLLOFF_START)).clamp(0.0, 1.0)


def check_rolloff(strength: float) -> None:
    """ValueError unless ``strength`` is a roll-off strength (``rolloff_gain``): from 0 to 1."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"the lightness roll-off must be from 0 to 1, got {strength:g}")
