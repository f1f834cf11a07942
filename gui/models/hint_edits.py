"""The colour hints of the photo on show, edited with undo and redo. Plain Python, no Qt.

``HintEdits`` holds one immutable ``engine.hints.schema.PhotoHints`` and the earlier ones; every edit
returns the new ``PhotoHints``, which the GUI hands on as it is (it never changes afterwards, so it
may cross to the preview thread). A mark is named by a ``MarkRef``: its kind and its index in
``PhotoHints.points`` or ``.strokes``.

Coordinates are those of ``engine.hints.schema``: x, y in 0..1 of the photo as shown; radius and width
relative to its short side. Values from the pointer are clamped into range (a drag may leave the
photo); a colour that is not ``#rrggbb`` or more marks than a hint file may hold is a ``HintError``.

Slider drags and point drags send many small edits; ``merge=True`` folds consecutive edits of the
same thing into one undo step until ``seal()`` is called (at the end of the gesture) or any other
edit comes in, so one Ctrl+Z undoes one gesture.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from itertools import pairwise

from engine.hints.schema import (
    MAX_POINTS,
    MAX_STROKE_POINTS,
    ColourAdjust,
    HintError,
    HintPoint,
    HintStroke,
    PhotoHints,
    ReferenceStats,
    parse_colour,
)

POINT = "point"
STROKE = "stroke"
HISTORY_LIMIT = 200  # undo steps kept per photo
RECENT_LIMIT = 8
MIN_SIZE = 0.002  # smallest radius or width, of the short side (a pixel or two of a scan)
MAX_SIZE = 0.5  # the largest engine.hints.schema accepts
DEFAULT_TOLERANCE_PX = 6.0  # how far off a mark a click may land and still hit it
UNCHANGED = object()  # "leave this field as it is" in set_adjust (None there means "no reference")


@dataclass(frozen=True)
class MarkRef:
    """One mark of a ``PhotoHints``: ``kind`` POINT or STROKE, ``index`` in that tuple."""

    kind: str
    index: int


def _unit(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def _size(value: float) -> float:
    return min(MAX_SIZE, max(MIN_SIZE, float(value)))


def remember_colour(recent: Iterable[str], colour: str, limit: int = RECENT_LIMIT) -> tuple[str, ...]:
    """The recent-colours list with ``colour`` first: unique, at most ``limit``, most recent first."""
    colour = parse_colour(colour, "colour")
    return (colour, *[c for c in recent if c != colour])[:limit]


def _segment_distance(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / length2))
    return math.hypot(p[0] - ax - t * dx, p[1] - ay - t * dy)


class HintEdits:
    """The hints of one photo and their undo/redo history."""

    def __init__(self, hints: PhotoHints | None = None) -> None:
        self._hints = hints if hints is not None else PhotoHints()
        self._undo: list[PhotoHints] = []
        self._redo: list[PhotoHints] = []
        self._merge_key: object = None

    # -- state ------------------------------------------------------------------------------------
    @property
    def hints(self) -> PhotoHints:
        return self._hints

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def reset(self, hints: PhotoHints | None = None) -> PhotoHints:
        """Start over with ``hints`` (another photo's): the history is forgotten."""
        self._hints = hints if hints is not None else PhotoHints()
        self._undo.clear()
        self._redo.clear()
        self._merge_key = None
        return self._hints

    def mark(self, ref: MarkRef) -> HintPoint | HintStroke:
        """The mark ``ref`` names; IndexError when there is none."""
        marks = self._hints.points if ref.kind == POINT else self._hints.strokes
        if not 0 <= ref.index < len(marks):
            raise IndexError(f"no {ref.kind} {ref.index}: there are {len(marks)}")
        return marks[ref.index]

    def exists(self, ref: MarkRef | None) -> bool:
        if ref is None:
            return False
        marks = self._hints.points if ref.kind == POINT else self._hints.strokes
        return 0 <= ref.index < len(marks)

    # -- history ----------------------------------------------------------------------------------
    def _commit(self, hints: PhotoHints, merge_key: object = None) -> PhotoHints:
        if hints == self._hints:
            return self._hints  # nothing changed: no undo step, and callers can tell by identity
        if merge_key is None or merge_key != self._merge_key or not self._undo:
            self._undo.append(self._hints)
            del self._undo[:-HISTORY_LIMIT]
        self._merge_key = merge_key
        self._redo.clear()
        self._hints = hints
        return hints

    def seal(self) -> None:
        """End the gesture: the next edit is a new undo step even if it touches the same thing."""
        self._merge_key = None

    def undo(self) -> PhotoHints:
        if self._undo:
            self._redo.append(self._hints)
            self._hints = self._undo.pop()
        self._merge_key = None
        return self._hints

    def redo(self) -> PhotoHints:
        if self._redo:
            self._undo.append(self._hints)
            self._hints = self._redo.pop()
        self._merge_key = None
        return self._hints

    # -- marks ------------------------------------------------------------------------------------
    def add_point(self, x: float, y: float, colour: str, radius: float) -> PhotoHints:
        if len(self._hints.points) >= MAX_POINTS:
            raise HintError(f"a photo can have at most {MAX_POINTS} colour points")
        point = HintPoint(_unit(x), _unit(y), parse_colour(colour, "colour"), _size(radius))
        return self._commit(replace(self._hints, points=(*self._hints.points, point)))

    def point(self, index: int) -> HintPoint:
        """Point ``index``; IndexError when there is none."""
        mark = self.mark(MarkRef(POINT, index))
        assert isinstance(mark, HintPoint)
        return mark

    def move_point(self, index: int, x: float, y: float, merge: bool = False) -> PhotoHints:
        moved = replace(self.point(index), x=_unit(x), y=_unit(y))
        return self._replace_mark(MarkRef(POINT, index), moved, ("move", index) if merge else None)

    def add_stroke(self, points: Iterable[tuple[float, float]], colour: str, width: float) -> PhotoHints:
        coords = tuple((_unit(x), _unit(y)) for x, y in points)
        if not coords:
            raise HintError("a stroke needs at least one point")
        if len(self._hints.strokes) >= MAX_POINTS:
            raise HintError(f"a photo can have at most {MAX_POINTS} strokes")
        if sum(len(s.points) for s in self._hints.strokes) + len(coords) > MAX_STROKE_POINTS:
            raise HintError(f"strokes can have at most {MAX_STROKE_POINTS} points in all: delete a few strokes")
        stroke = HintStroke(coords, parse_colour(colour, "colour"), _size(width))
        return self._commit(replace(self._hints, strokes=(*self._hints.strokes, stroke)))

    def delete(self, ref: MarkRef) -> PhotoHints:
        return self._replace_mark(ref, None, None)

    def delete_point(self, index: int) -> PhotoHints:
        return self.delete(MarkRef(POINT, index))

    def delete_stroke(self, index: int) -> PhotoHints:
        return self.delete(MarkRef(STROKE, index))

    def _replace_mark(self, ref: MarkRef, mark: HintPoint | HintStroke | None, merge_key: object) -> PhotoHints:
        """The hints with the mark ``ref`` replaced by ``mark`` (None: removed)."""
        self.mark(ref)  # IndexError for a mark that is not there
        marks: list = list(self._hints.points if ref.kind == POINT else self._hints.strokes)
        if mark is None:
            del marks[ref.index]
        else:
            marks[ref.index] = mark
        if ref.kind == POINT:
            return self._commit(replace(self._hints, points=tuple(marks)), merge_key)
        return self._commit(replace(self._hints, strokes=tuple(marks)), merge_key)

    def set_colour(self, ref: MarkRef, colour: str) -> PhotoHints:
        mark = self.mark(ref)
        return self._replace_mark(ref, replace(mark, color=parse_colour(colour, "colour")), None)

    def set_size(self, ref: MarkRef, size: float, merge: bool = False) -> PhotoHints:
        """The radius of a point or the width of a stroke (of the short side)."""
        mark = self.mark(ref)
        changed = replace(mark, radius=_size(size)) if isinstance(mark, HintPoint) else replace(mark, width=_size(size))
        return self._replace_mark(ref, changed, ("size", ref) if merge else None)

    def set_adjust(
        self,
        *,
        warmth: float | None = None,
        tint: float | None = None,
        reference: ReferenceStats | object | None = UNCHANGED,
        match: float | None = None,
        merge: bool = False,
    ) -> PhotoHints:
        """Change the whole-photo adjustments given (warmth, tint -1..1; match 0..1; a reference's
        statistics, or None to forget it); the others stay."""
        old = self._hints.adjust
        if reference is UNCHANGED:
            reference = old.reference
        elif reference is not None and not isinstance(reference, ReferenceStats):
            raise TypeError(f"reference must be ReferenceStats or None, got {type(reference).__name__}")
        adjust = ColourAdjust(
            warmth=old.warmth if warmth is None else min(1.0, max(-1.0, float(warmth))),
            tint=old.tint if tint is None else min(1.0, max(-1.0, float(tint))),
            reference=reference if isinstance(reference, ReferenceStats) else None,
            match=old.match if match is None else _unit(match),
        )
        # Which sliders moved: the moves of one slider merge, the next slider is a step of its own.
        moved = tuple(
            name for name, value in (("warmth", warmth), ("tint", tint), ("match", match)) if value is not None
        )
        key = ("adjust", moved) if merge and moved else None
        return self._commit(replace(self._hints, adjust=adjust), key)

    def clear(self) -> PhotoHints:
        """No marks and neutral adjustments (one undo step)."""
        return self._commit(PhotoHints())

    def replace_all(self, hints: PhotoHints) -> PhotoHints:
        """Every mark and adjustment replaced by ``hints`` (e.g. read from a hint file; one undo step)."""
        if not isinstance(hints, PhotoHints):
            raise TypeError(f"hints must be PhotoHints, got {type(hints).__name__}")
        return self._commit(hints)

    # -- hit testing ------------------------------------------------------------------------------
    def hit_test(
        self, x: float, y: float, display_size: tuple[float, float], tolerance_px: float = DEFAULT_TOLERANCE_PX
    ) -> MarkRef | None:
        """The mark under (x, y) (0..1 of the photo) when the photo is shown ``display_size`` (width,
        height) screen pixels large, within ``tolerance_px``; None when there is none.

        Points win over strokes (they are the small handles one drags; a wide stroke under them
        would otherwise swallow every click), and among each kind the latest drawn, the topmost.
        """
        width, height = max(1e-6, display_size[0]), max(1e-6, display_size[1])
        short = min(width, height)
        here = (x * width, y * height)
        best: tuple[float, int] | None = None
        for index in range(len(self._hints.points) - 1, -1, -1):
            point = self._hints.points[index]
            distance = math.hypot(point.x * width - here[0], point.y * height - here[1])
            reach = point.radius * short + tolerance_px
            if distance <= reach and (best is None or distance < best[0]):
                best = (distance, index)
        if best is not None:
            return MarkRef(POINT, best[1])
        for index in range(len(self._hints.strokes) - 1, -1, -1):
            stroke = self._hints.strokes[index]
            pixels = [(px * width, py * height) for px, py in stroke.points]
            reach = stroke.width * short / 2 + tolerance_px
            pairs = pairwise(pixels) if len(pixels) > 1 else [(pixels[0], pixels[0])]
            if any(_segment_distance(here, a, b) <= reach for a, b in pairs):
                return MarkRef(STROKE, index)
        return None
