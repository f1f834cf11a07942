"""The hint overlay: draws the colour marks over a photo view and turns the mouse into hint edits.

It is a transparent child widget laid over the view (``attach``), so the view itself needs no
change: Qt repaints a transparent child whenever the view repaints under it (zoom, pan, a new
result), and whatever the overlay does not take (wheel, middle button, Space, clicks beside the
photo) goes on to the view. Where the photo lies comes from a function the view provides,
``photo_rects()``: one rectangle per pane, in the view's (= the overlay's) coordinates. From it the
overlay maps both ways between widget pixels and 0..1 photo coordinates, and knows how many screen
pixels the photo spans, so hit tolerances and the brush stay the same on screen at any zoom.

Point tool: a click places a point of the current colour and radius (and a drag right away moves
it), a drag on a point moves it, a click on a stroke selects it. Brush tool: a drag paints a
stroke. Either tool: right click deletes the mark under the pointer; Delete removes the selected
mark; Ctrl+Z undoes, Ctrl+Shift+Z (or Ctrl+Y) redoes; Esc drops a stroke being painted or the
selection. Every edit goes through the shared ``HintEditor``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QMouseEvent, QPainter
from PySide6.QtWidgets import QWidget

from gui.hints.editor import BRUSH_TOOL, HintEditor
from gui.hints.painting import paint_brush_outline, paint_point, paint_stroke, widget_point
from gui.models.hint_edits import DEFAULT_TOLERANCE_PX, POINT, STROKE, MarkRef
from gui.widgets.view_overlay import PhotoRects, ViewOverlay

STROKE_STEP_PX = 2.0  # a brush drag keeps a point every few screen pixels, not every mouse event


@dataclass
class _Move:
    index: int
    rect: QRectF
    offset: tuple[float, float]  # the point's centre minus where it was grabbed, 0..1 units


@dataclass
class _Paint:
    rect: QRectF
    points: list[tuple[float, float]] = field(default_factory=list)


class HintOverlay(ViewOverlay):
    """Colour marks drawn over a view, edited with the mouse and keys (see the module docstring)."""

    hints_edited = Signal(object)  # PhotoHints after every edit of the photo's hints (the editor's signal)
    mark_selected = Signal(float, float)  # the selected mark's spot, 0..1 of the photo (for suggestions)

    def __init__(
        self, editor: HintEditor, photo_rects: PhotoRects | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(photo_rects, parent)
        self.setObjectName("HintOverlay")
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._editor = editor
        self._drag: _Move | _Paint | None = None
        self._hover: QPointF | None = None
        self._marks_visible = True
        editor.hints_edited.connect(self.hints_edited)
        editor.mark_selected.connect(self.mark_selected)
        for signal in (editor.hints_edited, editor.hints_reset, editor.selection_changed, editor.tool_changed):
            signal.connect(self._repaint)

    def _repaint(self, *_args) -> None:
        self.update()

    def _drop_gesture(self) -> None:
        self._drag = None

    def set_marks_visible(self, on: bool) -> None:
        """Hide the marks for a moment (e.g. while Space shows the original) without leaving hint mode."""
        self._marks_visible = on
        self.update()

    def marks_visible(self) -> bool:
        return self._marks_visible

    # -- coordinates ------------------------------------------------------------------------------
    def photo_point(self, position: QPointF) -> tuple[float, float, QRectF] | None:
        """(x, y) in 0..1 of the photo under ``position`` and the pane's photo rectangle, or None."""
        for rect in self._photo_rects():
            if rect.width() > 0 and rect.height() > 0 and rect.contains(position):
                return ((position.x() - rect.x()) / rect.width(), (position.y() - rect.y()) / rect.height(), rect)
        return None

    @staticmethod
    def widget_point(x: float, y: float, rect: QRectF) -> QPointF:
        """The widget position of (x, y), 0..1 of the photo shown in ``rect``."""
        return widget_point(x, y, rect)

    @staticmethod
    def _in(rect: QRectF, position: QPointF) -> tuple[float, float]:
        """0..1 photo coordinates in ``rect`` of a position that may lie outside it (clamped)."""
        return (
            min(1.0, max(0.0, (position.x() - rect.x()) / rect.width())),
            min(1.0, max(0.0, (position.y() - rect.y()) / rect.height())),
        )

    def mark_at(self, position: QPointF) -> MarkRef | None:
        """The mark under a widget position, within the tolerance in screen pixels."""
        found = self.photo_point(position)
        if found is None:
            return None
        x, y, rect = found
        return self._editor.edits.hit_test(x, y, (rect.width(), rect.height()), DEFAULT_TOLERANCE_PX)

    # -- mouse ------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        found = self.photo_point(event.position())
        button = event.button()
        if (
            found is None
            or not self._editor.enabled
            or button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton)
        ):
            event.ignore()  # beside the photo, or the middle button: the view's (pan)
            return
        event.accept()
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        x, y, rect = found
        ref = self._editor.edits.hit_test(x, y, (rect.width(), rect.height()), DEFAULT_TOLERANCE_PX)
        if button == Qt.MouseButton.RightButton:
            if ref is not None:
                self._editor.delete(ref)
            else:
                self._editor.select(None)
            return
        if self._editor.tool == BRUSH_TOOL:
            self._drag = _Paint(rect, [(x, y)])
            self.update()
        elif ref is not None and ref.kind == POINT:
            point = self._editor.hints.points[ref.index]
            self._editor.select(ref)
            self._drag = _Move(ref.index, rect, (point.x - x, point.y - y))
        elif ref is not None:
            self._editor.select(ref, at=(x, y))
        else:
            added = self._editor.add_point(x, y)
            if added is not None:
                self._drag = _Move(added.index, rect, (0.0, 0.0))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        position = event.position()
        drag = self._drag
        if drag is None and event.buttons() != Qt.MouseButton.NoButton:
            # A drag the view took (middle-button pan, a press beside the photo): Qt sends its moves
            # here, to the widget under the press; ignored, they go on to the view.
            event.ignore()
            return
        if isinstance(drag, _Move):
            x, y = self._in(drag.rect, position)
            self._editor.move_point(drag.index, x + drag.offset[0], y + drag.offset[1])
        elif isinstance(drag, _Paint):
            x, y = self._in(drag.rect, position)
            last = self.widget_point(*drag.points[-1], drag.rect)
            if math.hypot(position.x() - last.x(), position.y() - last.y()) >= STROKE_STEP_PX:
                drag.points.append((x, y))
                self.update()
        else:
            ref = self.mark_at(position)
            over_point = ref is not None and ref.kind == POINT and self._editor.tool != BRUSH_TOOL
            self.setCursor(Qt.CursorShape.SizeAllCursor if over_point else Qt.CursorShape.CrossCursor)
        self._hover = position
        if self._editor.tool == BRUSH_TOOL:
            self.update()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._drag is None:
            event.ignore()
            return
        drag, self._drag = self._drag, None
        if isinstance(drag, _Paint):
            self._editor.add_stroke(drag.points)
        self._editor.seal()  # the drag was one gesture: one undo step
        self.update()
        event.accept()

    def leaveEvent(self, event: QEvent) -> None:
        self._hover = None
        self.update()
        super().leaveEvent(event)

    # -- keys -------------------------------------------------------------------------------------
    def _key_action(self, event: QKeyEvent) -> Callable[[], None] | None:
        key, mods = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ctrl, ctrl_shift = (
            Qt.KeyboardModifier.ControlModifier,
            (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier),
        )
        if (
            (key == Qt.Key.Key_Z and mods == ctrl_shift)
            or (key == Qt.Key.Key_Y and mods == ctrl)
            or event.matches(QKeySequence.StandardKey.Redo)
        ):
            return self._editor.redo
        if (key == Qt.Key.Key_Z and mods == ctrl) or event.matches(QKeySequence.StandardKey.Undo):
            return self._editor.undo
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self._editor.selected is not None:
            return self._editor.delete_selected
        if key == Qt.Key.Key_Escape and (self._drag is not None or self._editor.selected is not None):
            return self._cancel
        return None

    def _cancel(self) -> None:
        if self._drag is not None:
            self._drag = None
            self._editor.seal()
            self.update()
        else:
            self._editor.select(None)

    def _keys_enabled(self) -> bool:
        return self._editor.enabled

    # -- painting ---------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        if not self._marks_visible:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        hints, selected, editor = self._editor.hints, self._editor.selected, self._editor
        for rect in self._photo_rects():
            if rect.width() <= 0 or rect.height() <= 0:
                continue
            painter.save()
            painter.setClipRect(rect)  # a mark at the edge is cut where the photo ends, as its hint is
            # Strokes first, points over them: points are the handles one grabs.
            for index, stroke in enumerate(hints.strokes):
                paint_stroke(
                    painter,
                    stroke.points,
                    stroke.color,
                    stroke.width,
                    rect,
                    selected=selected == MarkRef(STROKE, index),
                )
            if isinstance(self._drag, _Paint) and self._drag.rect == rect:
                paint_stroke(painter, self._drag.points, editor.colour, editor.size, rect)
            for index, point in enumerate(hints.points):
                paint_point(painter, point, rect, selected == MarkRef(POINT, index))
            if editor.tool == BRUSH_TOOL and self._hover is not None and rect.contains(self._hover):
                paint_brush_outline(painter, self._hover, editor.size, rect)
            painter.restore()
        painter.end()
