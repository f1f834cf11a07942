"""Synthetic damage for old photos: scratches, cracks, dust, blotches, fibres, folds, torn corners.

Revive's damage detector is trained the way Wan et al. 2020 ("Bringing Old Photos Back to Life",
section 3.3) trained theirs: clean photos with damage put on them, so the network learns where a
photo was harmed from pairs whose answer is known. Wan et al. pasted scanned scratch textures; no
such data can be downloaded here, so the damage is drawn: cubic Bezier scratches 1-3 px wide,
bright or dark, fading in and out and broken by gaps; jagged branching cracks like those of a
cracked emulsion; dust specks and small blotches; thin curly fibres; folds (a bright broken core
with a shadow on one side and a highlight on the other); torn or stained corners.

The mask of a damaged photo is what the damage visibly changed: every pixel that moved by more
than ``MASK_DELTA`` of the full range. A scratch drawn over a region of its own brightness changes
nothing, so it is not in the mask: the detector is never asked to find what cannot be seen.

Arrays here are float32 luma ``(H, W)`` in [0, 1] (gamma-encoded, as ``engine.imaging.Photo``
divided by its maximum); ``rng`` is a ``numpy.random.Generator`` so that a seed gives the same damage.
The same module makes the global defects of the other stages: film grain, JPEG artefacts, fading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

MASK_DELTA = 8.0 / 255.0  # a change smaller than this is invisible in a print: not damage


@dataclass(frozen=True)
class DamageSettings:
    """How much of each kind of damage one photo gets (counts are drawn up to these maxima)."""

    scratches: int = 6
    cracks: int = 3
    crack_probability: float = 0.35
    dust: int = 60
    blotches: int = 5
    fibres: int = 3
    fold_probability: float = 0.2
    corner_probability: float = 0.15
    undamaged_probability: float = 0.0  # share of photos left clean (empty mask)

    def __post_init__(self) -> None:
        for name in ("scratches", "cracks", "dust", "blotches", "fibres"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1000:
                raise ValueError(f"{name} must be a whole number from 0 to 1000, got {value!r}")
        for name in ("crack_probability", "fold_probability", "corner_probability", "undamaged_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be from 0 to 1, got {value!r}")


@dataclass(frozen=True, eq=False)
class DamagedPhoto:
    """``damaged`` ``(H, W)`` float32 in [0, 1]; ``mask`` ``(H, W)`` bool, True where damaged."""

    damaged: np.ndarray
    mask: np.ndarray


def _check(clean: np.ndarray) -> None:
    if not (isinstance(clean, np.ndarray) and clean.ndim == 2 and clean.dtype == np.float32 and min(clean.shape) >= 8):
        raise ValueError(
            f"clean must be a (H, W) float32 array of at least 8x8 in [0, 1], got "
            f"{getattr(clean, 'shape', type(clean))} {getattr(clean, 'dtype', '')}"
        )


def _bezier(points: np.ndarray, count: int) -> np.ndarray:
    """``count`` points ``(count, 2)`` along the cubic Bezier curve of 4 control points ``(4, 2)``."""
    t = np.linspace(0.0, 1.0, count)[:, None]
    p0, p1, p2, p3 = points
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3


def _draw_path(
    layer: np.ndarray, path: np.ndarray, thickness: int, rng: np.random.Generator, *, gaps: float, vary: bool
) -> None:
    """Draw ``path`` ``(N, 2)`` (x, y) on the uint8 coverage ``layer``: antialiased, sub-pixel,
    in short segments whose strength drifts (``vary``) and some of which are left out (``gaps``)."""
    fixed = np.round(path * 16).astype(np.int32)  # 4 bits of sub-pixel precision (shift=4)
    step = max(2, len(fixed) // int(rng.integers(3, 12)))
    level = float(rng.uniform(0.6, 1.0))
    for start in range(0, len(fixed) - 1, step):
        if vary:
            level = float(np.clip(level + rng.normal(0, 0.2), 0.3, 1.0))
        if rng.random() < gaps:
            continue
        piece = fixed[start : start + step + 1]
        cv2.polylines(layer, [piece], False, int(255 * level), thickness, cv2.LINE_AA, shift=4)


def _blend(image: np.ndarray, coverage: np.ndarray, value) -> None:
    """In place: ``image`` toward ``value`` (a number or an array) by ``coverage`` in [0, 1]."""
    image += coverage * (value - image)


def _tone(rng: np.random.Generator, bright: float) -> float:
    """A damage brightness: paper-white (emulsion gone) or near-black (dirt, ink)."""
    return float(rng.uniform(0.8, 1.0)) if rng.random() < bright else float(rng.uniform(0.0, 0.18))


def _scratch(image: np.ndarray, rng: np.random.Generator) -> None:
    h, w = image.shape
    side = max(h, w)
    start = rng.uniform((0, 0), (w, h))
    angle = rng.uniform(0, 2 * math.pi)
    length = rng.uniform(0.2, 1.2) * side
    end = start + length * np.array([math.cos(angle), math.sin(angle)])
    bend = rng.normal(0, 0.15 * length, (2, 2))
    controls = np.stack([start, start + (end - start) / 3 + bend[0], start + 2 * (end - start) / 3 + bend[1], end])
    path = _bezier(controls, max(8, int(length / 2)))
    layer = np.zeros((h, w), np.uint8)
    _draw_path(layer, path, int(rng.choice((1, 1, 2, 2, 3))), rng, gaps=float(rng.uniform(0, 0.3)), vary=True)
    coverage: np.ndarray = layer.astype(np.float32) / 255.0
    if rng.random() < 0.3:
        coverage = cv2.GaussianBlur(coverage, (0, 0), 0.6)
    _blend(image, coverage * float(rng.uniform(0.55, 1.0)), _tone(rng, bright=0.6))


def _crack(image: np.ndarray, rng: np.random.Generator) -> None:
    """A jagged, branching crack: a random walk with sharp turns, like a cracked emulsion."""
    h, w = image.shape
    layer = np.zeros((h, w), np.uint8)
    walks = [(rng.uniform((0, 0), (w, h)), rng.uniform(0, 2 * math.pi), int(rng.integers(20, 120)))]
    drawn = 0
    while walks and drawn < 12:
        point, angle, steps = walks.pop()
        drawn += 1
        path = [point]
        for _ in range(steps):
            angle += rng.normal(0, 0.45)
            point = point + rng.uniform(1.5, 5.0) * np.array([math.cos(angle), math.sin(angle)])
            path.append(point)
            if rng.random() < 0.04:
                walks.append((point, angle + rng.choice((-1, 1)) * rng.uniform(0.5, 1.4), steps // 2))
        _draw_path(layer, np.array(path), int(rng.choice((1, 1, 2))), rng, gaps=0.05, vary=False)
    _blend(image, layer.astype(np.float32) / 255.0 * float(rng.uniform(0.7, 1.0)), _tone(rng, bright=0.85))


def _dust(image: np.ndarray, rng: np.random.Generator, count: int) -> None:
    h, w = image.shape
    layer = np.zeros((h, w), np.uint8)
    dark = np.zeros((h, w), np.uint8)
    for _ in range(count):
        target = layer if rng.random() < 0.55 else dark
        centre = (int(rng.integers(0, w)) * 16, int(rng.integers(0, h)) * 16)
        axes = (max(8, int(rng.uniform(0.5, 2.5) * 16)), max(8, int(rng.uniform(0.5, 2.5) * 16)))
        cv2.ellipse(
            target,
            centre,
            axes,
            float(rng.uniform(0, 180)),
            0,
            360,
            int(rng.integers(150, 256)),
            -1,
            cv2.LINE_AA,
            shift=4,
        )
    _blend(image, layer.astype(np.float32) / 255.0, float(rng.uniform(0.85, 1.0)))
    _blend(image, dark.astype(np.float32) / 255.0, float(rng.uniform(0.0, 0.15)))


def _blotch(image: np.ndarray, rng: np.random.Generator) -> None:
    """A small irregular stain or hole in the emulsion: a few overlapping ellipses."""
    h, w = image.shape
    layer = np.zeros((h, w), np.uint8)
    centre = rng.uniform((0, 0), (w, h))
    size = rng.uniform(2.0, 9.0)
    for _ in range(int(rng.integers(2, 6))):
        offset = centre + rng.normal(0, size * 0.6, 2)
        axes = (max(16, int(rng.uniform(0.4, 1.0) * size * 16)), max(16, int(rng.uniform(0.3, 1.0) * size * 16)))
        cv2.ellipse(
            layer,
            (int(offset[0] * 16), int(offset[1] * 16)),
            axes,
            float(rng.uniform(0, 180)),
            0,
            360,
            255,
            -1,
            cv2.LINE_AA,
            shift=4,
        )
    coverage: np.ndarray = layer.astype(np.float32) / 255.0
    if rng.random() < 0.5:
        coverage = cv2.GaussianBlur(coverage, (0, 0), float(rng.uniform(0.5, 1.5)))
    _blend(image, coverage * float(rng.uniform(0.6, 1.0)), _tone(rng, bright=0.5))


def _fibre(image: np.ndarray, rng: np.random.Generator) -> None:
    """A hair or fibre on the print: a short, curly, thin dark (sometimes bright) curve."""
    h, w = image.shape
    start = rng.uniform((0, 0), (w, h))
    controls = start + rng.normal(0, rng.uniform(4, 20), (4, 2))
    controls[0] = start
    layer = np.zeros((h, w), np.uint8)
    _draw_path(layer, _bezier(controls, 40), 1, rng, gaps=0.0, vary=False)
    _blend(image, layer.astype(np.float32) / 255.0 * float(rng.uniform(0.6, 1.0)), _tone(rng, bright=0.25))


def _fold(image: np.ndarray, rng: np.random.Generator) -> None:
    """A fold across the print: a broken bright core where the emulsion cracked, a shadow on one
    side and a highlight on the other (the paper's ridge under the scanner's light)."""
    h, w = image.shape
    if rng.random() < 0.5:  # mostly across the short direction, as prints are folded
        a = np.array([rng.uniform(0, w), 0.0])
        b = np.array([rng.uniform(0, w), float(h)])
    else:
        a = np.array([0.0, rng.uniform(0, h)])
        b = np.array([float(w), rng.uniform(0, h)])
    bend = rng.normal(0, 0.03 * max(h, w), (2, 2))
    path = _bezier(np.stack([a, a + (b - a) / 3 + bend[0], a + 2 * (b - a) / 3 + bend[1], b]), max(h, w))
    normal = np.array([-(b - a)[1], (b - a)[0]]) / (np.linalg.norm(b - a) + 1e-6)
    offset = float(rng.uniform(1.5, 3.5))
    for sign, value in ((1, 0.0), (-1, 1.0)):
        layer = np.zeros((h, w), np.uint8)
        _draw_path(layer, path + sign * offset * normal, int(rng.integers(2, 4)), rng, gaps=0.0, vary=True)
        coverage = cv2.GaussianBlur(layer.astype(np.float32) / 255.0, (0, 0), 1.2)
        _blend(image, coverage * float(rng.uniform(0.15, 0.35)), value)
    core = np.zeros((h, w), np.uint8)
    _draw_path(core, path, int(rng.choice((1, 2))), rng, gaps=float(rng.uniform(0.1, 0.5)), vary=True)
    _blend(image, core.astype(np.float32) / 255.0 * float(rng.uniform(0.6, 1.0)), float(rng.uniform(0.8, 1.0)))


def _corner(image: np.ndarray, rng: np.random.Generator) -> None:
    """A torn corner (paper-white or the dark of the scanner lid, jagged edge) or a stained one."""
    h, w = image.shape
    size = rng.uniform(0.08, 0.25) * min(h, w)
    steps = 24
    t = np.linspace(0, 1, steps)[:, None]
    edge = (1 - t) * np.array([size, 0.0]) + t * np.array([0.0, size])
    edge += rng.normal(0, size * 0.05, edge.shape)
    polygon = np.vstack([[0.0, 0.0], edge])
    flip_x, flip_y = rng.random() < 0.5, rng.random() < 0.5
    polygon[:, 0] = w - 1 - polygon[:, 0] if flip_x else polygon[:, 0]
    polygon[:, 1] = h - 1 - polygon[:, 1] if flip_y else polygon[:, 1]
    layer = np.zeros((h, w), np.uint8)
    cv2.fillPoly(layer, [np.round(polygon * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    coverage = layer.astype(np.float32) / 255.0
    if rng.random() < 0.35:  # a stain: soft-edged, partly transparent
        coverage = cv2.GaussianBlur(coverage, (0, 0), size * 0.15) * float(rng.uniform(0.4, 0.8))
        _blend(image, coverage, float(rng.uniform(0.1, 0.5)))
    else:
        _blend(image, coverage, float(rng.uniform(0.85, 1.0)) if rng.random() < 0.7 else float(rng.uniform(0, 0.1)))


def damage_photo(clean: np.ndarray, rng: np.random.Generator, settings: DamageSettings | None = None) -> DamagedPhoto:
    """``clean`` ``(H, W)`` float32 in [0, 1] with random local damage, and the mask of what it changed.

    Damage sizes are in pixels (scratches 1-3 px wide whatever the photo's size), as they look on
    the 128-512 px renders the detector works at.
    """
    _check(clean)
    settings = settings or DamageSettings()
    image = clean.copy()
    if rng.random() < settings.undamaged_probability:
        return DamagedPhoto(image, np.zeros(clean.shape, bool))
    for _ in range(int(rng.integers(0, settings.scratches + 1))):
        _scratch(image, rng)
    if rng.random() < settings.crack_probability:
        for _ in range(int(rng.integers(1, settings.cracks + 1))):
            _crack(image, rng)
    _dust(image, rng, int(rng.integers(0, settings.dust + 1)))
    for _ in range(int(rng.integers(0, settings.blotches + 1))):
        _blotch(image, rng)
    for _ in range(int(rng.integers(0, settings.fibres + 1))):
        _fibre(image, rng)
    if rng.random() < settings.fold_probability:
        _fold(image, rng)
    if rng.random() < settings.corner_probability:
        _corner(image, rng)
    np.clip(image, 0.0, 1.0, out=image)
    return DamagedPhoto(image, np.abs(image - clean) > MASK_DELTA)


# ------------------------------------------------------------------ global defects (other stages)


def add_grain(clean: np.ndarray, rng: np.random.Generator, sigma: float, grain_size: float = 0.7) -> np.ndarray:
    """Film grain: Gaussian noise of standard deviation ``sigma`` (fraction of the range) blurred
    to a grain of ``grain_size`` px (0: white noise), stronger in the mid-tones as in film."""
    _check(clean)
    noise = rng.standard_normal(clean.shape).astype(np.float32)
    if grain_size > 0:
        noise = np.asarray(cv2.GaussianBlur(noise, (0, 0), grain_size), np.float32)
        noise /= max(1e-6, float(noise.std()))
    midtones = 0.5 + 2.0 * clean * (1.0 - clean)  # 0.5 at black and white, 1.0 at mid-gray
    return np.clip(clean + sigma * midtones * noise, 0.0, 1.0).astype(np.float32)


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` ``(H, W)`` float32 [0, 1] through an 8-bit JPEG at ``quality`` (blocking, ringing)."""
    _check(image)
    ok, data = cv2.imencode(".jpg", np.round(image * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    decoded = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    if decoded is None:
        raise ValueError("JPEG decoding failed")
    return decoded.astype(np.float32) / 255.0


def fade_print(clean: np.ndarray, black: float = 0.25, white: float = 0.85, gamma: float = 1.0) -> np.ndarray:
    """A faded print: blacks lifted to ``black``, whites dulled to ``white``, tones bent by ``gamma``."""
    _check(clean)
    if not 0.0 <= black < white <= 1.0:
        raise ValueError(f"need 0 <= black < white <= 1, got black {black} and white {white}")
    return (black + (white - black) * np.power(clean, gamma)).astype(np.float32)
