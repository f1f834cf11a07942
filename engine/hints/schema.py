"""Colour hints: what a person knows about a photo's colours, as data the colorizer can use.

A hint file (JSON) says what colour things were, and how to adjust the whole photo:

    {"points": [{"x": 0.25, "y": 0.6, "color": "#b02020", "radius": 0.02}],
     "strokes": [{"points": [[0.1, 0.1], [0.3, 0.12]], "color": "#2a5db0", "width": 0.03}],
     "adjust": {"warmth": 0.2, "tint": 0.0,
                "reference": {"a_mean": 5.1, "a_std": 9.0, "b_mean": 12.3, "b_std": 14.2},
                "match": 0.8}}

x and y are in 0..1 of the photo's width and height (0, 0 top left, the photo as shown, EXIF
orientation applied); colours are sRGB hex; radius and width are relative to the short side.
Every field is optional; anything else in the file is ignored. Only a colour's chroma is used (its
a*b* in CIE Lab): the photo's own lightness stays, so a dark red hint on a bright dress gives a
bright red.

``render_hints`` turns hints into the network's hint channels at render size (a*b* / 110 and a
mask, ``engine.models.architectures.unet_colorizer``); ``ColourAdjust`` shifts and matches the predicted
a*b* (warmth along yellow-blue, tint along magenta-green, and a reference photo's a*b* means and
spreads, as Reinhard et al. 2001 do in their colour transfer, here on chroma only).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from engine.errors import ReviveError

HINT_AB_SCALE = 110.0
MAX_POINTS = 2000
MAX_STROKE_POINTS = 20000
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")  # whole string only (fullmatch): "$" lets a newline through
WARMTH_AB = 12.0  # a*b* units at warmth 1 (b* mostly, a little a*: warm light is yellow-orange)
TINT_AB = 10.0  # a* units at tint 1 (magenta; -1 is green)


class HintError(ReviveError):
    """A hint file or value that cannot be used; the message names the field."""


@dataclass(frozen=True)
class HintPoint:
    x: float
    y: float
    color: str  # sRGB "#rrggbb"
    radius: float = 0.02  # of the short side


@dataclass(frozen=True)
class HintStroke:
    points: tuple[tuple[float, float], ...]
    color: str
    width: float = 0.03  # of the short side


@dataclass(frozen=True)
class ReferenceStats:
    """The a*b* statistics of a colour photo to match (means and standard deviations, Lab units)."""

    a_mean: float
    a_std: float
    b_mean: float
    b_std: float


@dataclass(frozen=True)
class ColourAdjust:
    """Whole-photo corrections of the predicted colour."""

    warmth: float = 0.0  # -1 (cooler) .. 1 (warmer)
    tint: float = 0.0  # -1 (greener) .. 1 (more magenta)
    reference: ReferenceStats | None = None
    match: float = 1.0  # how far to pull toward the reference, 0..1

    @property
    def is_neutral(self) -> bool:
        return self.warmth == 0 and self.tint == 0 and (self.reference is None or self.match == 0)


@dataclass(frozen=True)
class PhotoHints:
    points: tuple[HintPoint, ...] = ()
    strokes: tuple[HintStroke, ...] = ()
    adjust: ColourAdjust = field(default_factory=ColourAdjust)

    @property
    def has_marks(self) -> bool:
        """True when there are colour points or strokes (what the network is told)."""
        return bool(self.points or self.strokes)

    @property
    def is_empty(self) -> bool:
        return not self.has_marks and self.adjust.is_neutral

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "points": [asdict(p) for p in self.points],
            "strokes": [
                {"points": [list(xy) for xy in s.points], "color": s.color, "width": s.width} for s in self.strokes
            ],
        }
        adjust = asdict(self.adjust)
        if self.adjust.reference is None:
            adjust.pop("reference")
        data["adjust"] = adjust
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str | bytes, where: str = "hints") -> "PhotoHints":
        """Parse and check a hint file's text; HintError naming the file and the field."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as error:
            raise HintError(f"{where}: not valid JSON ({str(error)[:80]})") from None
        return parse_hints(data, where)


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise HintError(f"{where}: must be a number, got {str(value)[:40]!r}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # a whole number too large for a float (JSON allows any number of digits)
        finite = False
    if not finite:
        raise HintError(f"{where}: must be a number between {low:g} and {high:g}, got {str(value)[:40]!r}")
    if not low <= value <= high:
        raise HintError(f"{where}: must be between {low:g} and {high:g}, got {value:g}")
    return float(value)


def parse_colour(value: Any, where: str) -> str:
    """'#rrggbb' (or 'rrggbb') -> '#rrggbb' in lower case; HintError otherwise."""
    match = _HEX.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise HintError(f'{where}: must be an sRGB colour like "#b02020", got {str(value)[:40]!r}')
    return "#" + match.group(1).lower()


def _object(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise HintError(f"{where}: must be an object")
    return value


def _list(value: Any, where: str, limit: int) -> list:
    if not isinstance(value, list):
        raise HintError(f"{where}: must be a list")
    if len(value) > limit:
        raise HintError(f"{where}: at most {limit} entries, got {len(value)}")
    return value


def parse_hints(data: Any, where: str = "hints") -> PhotoHints:
    """``PhotoHints`` from parsed JSON, every field checked (see the module docstring)."""
    data = _object(data, where)
    points = []
    for i, item in enumerate(_list(data.get("points", []), f"{where}: points", MAX_POINTS)):
        item = _object(item, f"{where}: points[{i}]")
        for key in ("x", "y", "color"):
            if key not in item:
                raise HintError(f"{where}: points[{i}].{key} is missing")
        points.append(
            HintPoint(
                _number(item["x"], f"{where}: points[{i}].x", 0.0, 1.0),
                _number(item["y"], f"{where}: points[{i}].y", 0.0, 1.0),
                parse_colour(item["color"], f"{where}: points[{i}].color"),
                _number(item.get("radius", 0.02), f"{where}: points[{i}].radius", 0.0, 0.5),
            )
        )
    strokes = []
    total = 0
    for i, item in enumerate(_list(data.get("strokes", []), f"{where}: strokes", MAX_POINTS)):
        item = _object(item, f"{where}: strokes[{i}]")
        for key in ("points", "color"):
            if key not in item:
                raise HintError(f"{where}: strokes[{i}].{key} is missing")
        coords = []
        for j, xy in enumerate(_list(item["points"], f"{where}: strokes[{i}].points", MAX_STROKE_POINTS)):
            if not isinstance(xy, list) or len(xy) != 2:
                raise HintError(f"{where}: strokes[{i}].points[{j}] must be [x, y]")
            coords.append(
                (
                    _number(xy[0], f"{where}: strokes[{i}].points[{j}][0]", 0.0, 1.0),
                    _number(xy[1], f"{where}: strokes[{i}].points[{j}][1]", 0.0, 1.0),
                )
            )
        if not coords:
            raise HintError(f"{where}: strokes[{i}].points must not be empty")
        total += len(coords)
        if total > MAX_STROKE_POINTS:
            raise HintError(f"{where}: strokes have more than {MAX_STROKE_POINTS} points in all")
        strokes.append(
            HintStroke(
                tuple(coords),
                parse_colour(item["color"], f"{where}: strokes[{i}].color"),
                _number(item.get("width", 0.03), f"{where}: strokes[{i}].width", 0.0, 0.5),
            )
        )
    adjust = ColourAdjust()
    if "adjust" in data:
        raw = _object(data["adjust"], f"{where}: adjust")
        reference = None
        if raw.get("reference") is not None:
            ref = _object(raw["reference"], f"{where}: adjust.reference")
            values = {}
            for key in ("a_mean", "a_std", "b_mean", "b_std"):
                if key not in ref:
                    raise HintError(f"{where}: adjust.reference.{key} is missing")
                low = 0.0 if key.endswith("std") else -128.0
                values[key] = _number(ref[key], f"{where}: adjust.reference.{key}", low, 128.0)
            reference = ReferenceStats(**values)
        adjust = ColourAdjust(
            _number(raw.get("warmth", 0.0), f"{where}: adjust.warmth", -1.0, 1.0),
            _number(raw.get("tint", 0.0), f"{where}: adjust.tint", -1.0, 1.0),
            reference,
            _number(raw.get("match", 1.0), f"{where}: adjust.match", 0.0, 1.0),
        )
    return PhotoHints(tuple(points), tuple(strokes), adjust)


def read_hint_file(path) -> PhotoHints:
    """Read and check a hint file; HintError (one line, naming the file and field) if it is
    missing, unreadable, too large or malformed."""
    import stat as stat_module
    from pathlib import Path

    path = Path(path)
    try:
        info = path.stat()
        if not stat_module.S_ISREG(info.st_mode):  # a pipe would block the read forever
            raise HintError(f"{path.name}: not a regular file, not a hint file")
        if info.st_size > 16 * 1024 * 1024:
            raise HintError(f"{path.name}: too large for a hint file")
        text = path.read_bytes()
    except FileNotFoundError:
        raise HintError(f"{path}: no such hint file") from None
    except OSError as error:
        raise HintError(f"{path.name}: cannot be read ({error.strerror or error})") from None
    return PhotoHints.from_json(text, path.name)


# ----------------------------------------------------------------------------------- colour


def colour_ab(colour: str) -> tuple[float, float]:
    """The a*b* (CIE Lab, D65) of an sRGB hex colour."""
    hexa = parse_colour(colour, "colour")
    rgb = np.array([int(hexa[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    matrix = np.array(
        [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
    )
    xyz = matrix @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return float(500 * (f[0] - f[1])), float(200 * (f[1] - f[2]))


def reference_stats(rgb: np.ndarray) -> ReferenceStats:
    """a*b* statistics of a colour photo ``(H, W, 3)`` uint8 sRGB (for ``ColourAdjust.reference``)."""
    from engine.metrics import to_lab

    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"a reference photo must be (H, W, 3), got {rgb.shape}")
    step = max(1, int(math.sqrt(rgb.shape[0] * rgb.shape[1] / 65536)))
    lab = to_lab(np.ascontiguousarray(rgb[::step, ::step]))
    a, b = lab[..., 1], lab[..., 2]
    return ReferenceStats(float(a.mean()), float(a.std()), float(b.mean()), float(b.std()))


def adjust_ab(ab: np.ndarray, adjust: ColourAdjust) -> np.ndarray:
    """Apply ``adjust`` to a*b* ``(2, h, w)`` float32 (Lab units); returns a new array.

    Reference matching moves each channel's mean and spread toward the reference's (by ``match``);
    the spread is never more than tripled, so a nearly gray prediction is not blown up into noise.
    Warmth and tint then shift the whole photo.
    """
    out = np.array(ab, dtype=np.float32, copy=True)
    ref = adjust.reference
    if ref is not None and adjust.match > 0:
        for channel, (mean_ref, std_ref) in enumerate(((ref.a_mean, ref.a_std), (ref.b_mean, ref.b_std))):
            mean, std = float(out[channel].mean()), float(out[channel].std())
            gain = min(3.0, std_ref / std) if std > 1e-3 else 1.0
            matched = (out[channel] - mean) * gain + mean_ref
            out[channel] += adjust.match * (matched - out[channel])
    if adjust.warmth:
        out[0] += 0.25 * WARMTH_AB * adjust.warmth
        out[1] += WARMTH_AB * adjust.warmth
    if adjust.tint:
        out[0] += TINT_AB * adjust.tint
    return out


# ----------------------------------------------------------------------------------- render


def _disc(mask: np.ndarray, values: np.ndarray, cx: float, cy: float, radius: float, ab: tuple[float, float]) -> None:
    height, width = mask.shape
    r = max(0.5, radius)
    x0, x1 = max(0, int(math.floor(cx - r))), min(width, int(math.ceil(cx + r)) + 1)
    y0, y1 = max(0, int(math.floor(cy - r))), min(height, int(math.ceil(cy + r)) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    inside = (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= r * r
    if not inside.any():  # a point smaller than a pixel still marks the pixel it is in
        inside[min(y1 - y0 - 1, max(0, int(cy) - y0)), min(x1 - x0 - 1, max(0, int(cx) - x0))] = True
    mask[y0:y1, x0:x1][inside] = 1.0
    values[0, y0:y1, x0:x1][inside] = ab[0]
    values[1, y0:y1, x0:x1][inside] = ab[1]


MAX_STAMPS = 50_000  # discs drawn for all strokes together: a fraction of a second
"""A hand-drawn stroke needs a few hundred discs at a render size; a file's strokes may ask for
millions (20,000 points zig-zagging across the photo at width 0) and hold one photo for minutes.
Past this budget the discs are spaced further apart, the same for every stroke."""


def _stamp_stretch(hints: PhotoHints, width: int, height: int) -> float:
    """How much further apart than usual stroke discs are placed so that at most MAX_STAMPS are
    drawn (1 for every stroke a person draws)."""
    short = min(width, height)
    stamps = 0.0
    for stroke in hints.strokes:
        spacing = max(0.5, stroke.width * short / 4)
        xs = np.array([x for x, _ in stroke.points]) * width
        ys = np.array([y for _, y in stroke.points]) * height
        stamps += float(np.ceil(np.hypot(np.diff(xs), np.diff(ys)) / spacing).sum()) + 1
    return max(1.0, stamps / MAX_STAMPS)


def hint_marks(hints: PhotoHints, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The points and strokes drawn at ``width`` x ``height``: (a*b* ``(2, h, w)`` float32 in Lab
    units, mask ``(h, w)`` float32 0/1). Later marks are drawn over earlier ones; strokes after
    points."""
    values = np.zeros((2, height, width), np.float32)
    mask = np.zeros((height, width), np.float32)
    short = min(width, height)
    for point in hints.points:
        _disc(mask, values, point.x * width, point.y * height, point.radius * short, colour_ab(point.color))
    stretch = _stamp_stretch(hints, width, height)
    for stroke in hints.strokes:
        ab = colour_ab(stroke.color)
        radius = stroke.width * short / 2
        spacing = max(0.5, radius / 2) * stretch
        previous = None
        for x, y in stroke.points:
            here = (x * width, y * height)
            if previous is None:
                _disc(mask, values, *here, radius, ab)
            else:
                length = math.hypot(here[0] - previous[0], here[1] - previous[1])
                steps = max(1, int(math.ceil(length / spacing)))
                for k in range(1, steps + 1):
                    t = k / steps
                    _disc(
                        mask,
                        values,
                        previous[0] + t * (here[0] - previous[0]),
                        previous[1] + t * (here[1] - previous[1]),
                        radius,
                        ab,
                    )
            previous = here
    return values, mask


def render_hints(hints: PhotoHints, width: int, height: int) -> np.ndarray:
    """The network's hint channels at ``width`` x ``height``: ``(3, h, w)`` float32, a*b* / 110
    then the 0/1 mask (the layout of ``UNetColorizer`` with ``hints``)."""
    values, mask = hint_marks(hints, width, height)
    return np.concatenate((values / HINT_AB_SCALE, mask[None]), axis=0)
