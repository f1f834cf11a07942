"""The hint tools' one shared state: the photo's hints with their history, the selected mark, and
the brush the user holds (tool, colour, size, recent colours).

The overlay (mouse and keys on the view) and the panel (colours, sliders, buttons) both edit
through one ``HintEditor``, so an edit made in either is seen by the other and by whoever listens
to ``hints_edited`` (the preview, the saved hints). The history itself is ``gui.models.hint_edits``
(plain Python, tested without Qt); this object adds the signals.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from engine.hints.schema import HintError, HintPoint, PhotoHints, ReferenceStats
from gui.models.hint_edits import POINT, STROKE, UNCHANGED, HintEdits, MarkRef, remember_colour

log = logging.getLogger(__name__)

POINT_TOOL = "point"
BRUSH_TOOL = "brush"
DEFAULT_COLOUR = "#b04a3a"  # a warm brick red: a common thing people remember (a dress, a door)
DEFAULT_RADIUS = 0.02
DEFAULT_WIDTH = 0.03


class HintEditor(QObject):
    """Edits of the hints of the photo on show, and the current tool, colour and size.

    Every edit is refused quietly while ``enabled`` is False (the hints of a new photo are still
    loading, or the model takes none), and loudly (``edit_refused``) when the hints would break a
    limit of the hint format.
    """

    hints_edited = Signal(object)  # PhotoHints, after every edit, undo, redo or clear
    hints_reset = Signal(object)  # PhotoHints of a newly shown photo (not an edit: nothing to save)
    selection_changed = Signal(object)  # MarkRef or None
    mark_selected = Signal(float, float)  # the selected mark's spot, 0..1 of the photo
    history_changed = Signal(bool, bool)  # can undo, can redo
    tool_changed = Signal(str)  # POINT_TOOL or BRUSH_TOOL
    colour_changed = Signal(str)  # the current colour, "#rrggbb"
    size_changed = Signal(float)  # the current tool's size, of the short side
    recent_changed = Signal(tuple)  # recent colours, most recent first
    enabled_changed = Signal(bool)
    edit_refused = Signal(str)  # why, for people

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._edits = HintEdits()
        self._selected: MarkRef | None = None
        self._tool = POINT_TOOL
        self._colour = DEFAULT_COLOUR
        self._sizes = {POINT_TOOL: DEFAULT_RADIUS, BRUSH_TOOL: DEFAULT_WIDTH}
        self._recent: tuple[str, ...] = ()
        self._enabled = True

    # -- reading ----------------------------------------------------------------------------------
    @property
    def hints(self) -> PhotoHints:
        return self._edits.hints

    @property
    def edits(self) -> HintEdits:
        """The history (read it; edit through this object so the signals go out)."""
        return self._edits

    @property
    def selected(self) -> MarkRef | None:
        return self._selected

    @property
    def tool(self) -> str:
        return self._tool

    @property
    def colour(self) -> str:
        return self._colour

    @property
    def size(self) -> float:
        """The current tool's size: a point's radius or the brush's width, of the short side."""
        return self._sizes[self._tool]

    def size_of(self, tool: str) -> float:
        return self._sizes[tool]

    @property
    def recent(self) -> tuple[str, ...]:
        return self._recent

    @property
    def enabled(self) -> bool:
        return self._enabled

    # -- photo ------------------------------------------------------------------------------------
    def reset(self, hints: PhotoHints | None = None) -> None:
        """Show another photo's hints: history and selection start over."""
        self._edits.reset(hints)
        self._set_selected(None)
        self.hints_reset.emit(self._edits.hints)
        self._emit_history()

    def set_enabled(self, on: bool) -> None:
        if on != self._enabled:
            self._enabled = on
            self.enabled_changed.emit(on)

    # -- the brush ----------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        if tool not in (POINT_TOOL, BRUSH_TOOL):
            raise ValueError(f"tool must be {POINT_TOOL!r} or {BRUSH_TOOL!r}, got {tool!r}")
        if tool != self._tool:
            self._tool = tool
            self.tool_changed.emit(tool)
            self.size_changed.emit(self.size)

    def choose_colour(self, colour: str) -> None:
        """Make ``colour`` current and remember it; the selected mark, if any, takes it too."""
        try:
            self._recent = remember_colour(self._recent, colour)
        except HintError as error:
            self.edit_refused.emit(str(error))
            return
        self._colour = self._recent[0]
        self.colour_changed.emit(self._colour)
        self.recent_changed.emit(self._recent)
        if self._selected is not None and self._edits.exists(self._selected):
            self._apply(lambda: self._edits.set_colour(self._selected, self._colour))

    def set_size(self, size: float, merge: bool = True) -> None:
        """The current tool's size; the selected mark of that tool's kind is resized too (a slider
        drag is one undo step: call ``seal`` when it ends)."""
        self._sizes[self._tool] = size
        self.size_changed.emit(size)
        kind = POINT if self._tool == POINT_TOOL else STROKE
        if self._selected is not None and self._selected.kind == kind and self._edits.exists(self._selected):
            self._apply(lambda: self._edits.set_size(self._selected, size, merge))

    # -- selection ----------------------------------------------------------------------------------
    def select(self, ref: MarkRef | None, at: tuple[float, float] | None = None) -> None:
        """Select a mark (None: nothing); ``at``: the spot the user pointed at (default: the mark's
        own, a point's centre or a stroke's first point), sent with ``mark_selected``."""
        if ref is not None and not self._edits.exists(ref):
            ref = None
        self._set_selected(ref)
        if ref is not None:
            mark = self._edits.mark(ref)
            x, y = at if at is not None else ((mark.x, mark.y) if isinstance(mark, HintPoint) else mark.points[0])
            self.mark_selected.emit(float(x), float(y))

    def _set_selected(self, ref: MarkRef | None) -> None:
        if ref != self._selected:
            self._selected = ref
            self.selection_changed.emit(ref)

    # -- edits --------------------------------------------------------------------------------------
    def _apply(self, edit) -> bool:
        if not self._enabled:
            return False
        before = self._edits.hints
        try:
            after = edit()
        except HintError as error:
            self.edit_refused.emit(str(error))
            return False
        if after is not before:
            self.hints_edited.emit(after)
            self._emit_history()
        return True

    def _emit_history(self) -> None:
        self.history_changed.emit(self._edits.can_undo, self._edits.can_redo)

    def add_point(self, x: float, y: float) -> MarkRef | None:
        """A point of the current colour and radius at (x, y), selected; None if refused."""
        if not self._apply(lambda: self._edits.add_point(x, y, self._colour, self._sizes[POINT_TOOL])):
            return None
        self._recent = remember_colour(self._recent, self._colour)
        self.recent_changed.emit(self._recent)
        ref = MarkRef(POINT, len(self._edits.hints.points) - 1)
        self.select(ref)
        return ref

    def move_point(self, index: int, x: float, y: float) -> None:
        """Move a point; the moves of one drag are one undo step (``seal`` ends the drag). A point
        that is gone (an undo during the drag) is left alone."""
        if not self._edits.exists(MarkRef(POINT, index)):
            return
        if self._apply(lambda: self._edits.move_point(index, x, y, merge=True)):
            point = self._edits.point(index)
            self.mark_selected.emit(point.x, point.y)

    def add_stroke(self, points: list[tuple[float, float]]) -> MarkRef | None:
        """A stroke of the current colour and brush width, selected; None if refused."""
        if not self._apply(lambda: self._edits.add_stroke(points, self._colour, self._sizes[BRUSH_TOOL])):
            return None
        self._recent = remember_colour(self._recent, self._colour)
        self.recent_changed.emit(self._recent)
        ref = MarkRef(STROKE, len(self._edits.hints.strokes) - 1)
        self.select(ref, at=points[-1])
        return ref

    def delete(self, ref: MarkRef) -> None:
        if self._edits.exists(ref) and self._apply(lambda: self._edits.delete(ref)):
            self._set_selected(None)

    def delete_selected(self) -> None:
        if self._selected is not None:
            self.delete(self._selected)

    def set_adjust(
        self,
        *,
        warmth: float | None = None,
        tint: float | None = None,
        reference: ReferenceStats | object | None = UNCHANGED,
        match: float | None = None,
        merge: bool = True,
    ) -> None:
        """Whole-photo warmth, tint (-1..1), reference statistics (None forgets them) and match
        strength (0..1); a slider drag is one undo step (``seal`` when it ends)."""
        self._apply(
            lambda: self._edits.set_adjust(warmth=warmth, tint=tint, reference=reference, match=match, merge=merge)
        )

    def seal(self) -> None:
        """A gesture (drag, slider move) ended: the next edit is its own undo step."""
        self._edits.seal()

    def undo(self) -> None:
        self._apply(self._edits.undo)
        self._drop_stale_selection()

    def redo(self) -> None:
        self._apply(self._edits.redo)
        self._drop_stale_selection()

    def clear(self) -> None:
        """Remove every mark and adjustment (one undo step)."""
        if self._apply(self._edits.clear):
            self._set_selected(None)

    def replace_all(self, hints: PhotoHints) -> None:
        """Replace every mark and adjustment with ``hints`` (e.g. from a hint file; one undo step)."""
        if self._apply(lambda: self._edits.replace_all(hints)):
            self._set_selected(None)

    def _drop_stale_selection(self) -> None:
        if self._selected is not None and not self._edits.exists(self._selected):
            self._set_selected(None)
