"""The damage-mask overlay: the mask drawn over the photo view, and the mouse painting it.

Laid over the view as a transparent child (``attach``), as the hint overlay is
(``gui.hints.overlay``): the view needs no change, and what the overlay does not take (the
wheel, the middle button, Space, presses beside the photo) goes on to the view. Where the photo
lies comes from the view's ``photo_rects()``; strokes are kept in 0..1 photo coordinates, and the
brush (a diameter in the photo's own pixels) is drawn at the current zoom.

Left drag paints with the current tool (add damage, or erase with the eraser); right drag always
erases. Ctrl+Z undoes the last stroke, Ctrl+Shift+Z (or Ctrl+Y) redoes it; Esc drops a stroke
being painted. The overlay edits nothing itself: it reports each finished stroke
(``stroke_finished``) and the keys (``undo_requested``, ``redo_requested``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QKeySequence, QMouseEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QWidget

from engine.restoration.mask_edit import OVERLAY_COLOUR
from gui.hints.painting import widget_point
from gui.widgets.view_overlay import ViewOverlay

STROKE_STEP_PX = 2.0  # a drag keeps a point every few screen pixels, not every mouse event


def rgba_image(rgba: np.ndarray) -> QImage:
    """``(h, w, 4)`` uint8 RGBA -> a QImage owning a copy of the pixels."""
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 4) uint8 image, got {rgba.shape} {rgba.dtype}")
    rgba = np.ascontiguousarray(rgba)
    height, width = rgba.shape[:2]
    return QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()


class MaskOverlay(ViewOverlay):
    """The damage mask over a view, painted with the mouse (see the module docstring)."""

    stroke_finished = Signal(list, bool)  # [(x, y)] 0..1 of the photo, erase
    undo_requested = Signal()
    redo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(None, parent)
        self.setObjectName("DamageMaskOverlay")
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._image: QImage | None = None
        self._photo_width = 1  # the photo's full width, pixels: the brush's scale
        self._diameter = 9.0
        self._erasing = False
        self._stroke: tuple[QRectF, list[tuple[float, float]], bool] | None = None  # rect, points, erase
        self._hover: QPointF | None = None
        self.setVisible(False)

    def _drop_gesture(self) -> None:
        self._stroke = None

    # -- what to draw -----------------------------------------------------------------------------
    def set_mask(self, rgba: np.ndarray | None, photo_width: int) -> None:
        """The mask to draw: ``(h, w, 4)`` uint8 RGBA (``DamageMaskEdits.overlay``), None for none;
        ``photo_width``: the photo's full width in pixels (the brush is sized in them)."""
        self._image = rgba_image(rgba) if rgba is not None else None
        self._photo_width = max(1, int(photo_width))
        self.update()

    def has_mask_image(self) -> bool:
        return self._image is not None

    def set_brush(self, diameter: float, erasing: bool) -> None:
        """The brush: ``diameter`` in photo pixels; ``erasing``: the left button erases."""
        self._diameter = max(0.5, float(diameter))
        self._erasing = bool(erasing)
        self.update()

    def _brush_px(self, rect: QRectF) -> float:
        return max(1.0, self._diameter * rect.width() / self._photo_width)

    # -- coordinates ------------------------------------------------------------------------------
    def photo_point(self, position: QPointF) -> tuple[float, float, QRectF] | None:
        """(x, y) in 0..1 of the photo under ``position`` and the pane's photo rectangle, or None."""
        for rect in self._photo_rects():
            if rect.width() > 0 and rect.height() > 0 and rect.contains(position):
                return ((position.x() - rect.x()) / rect.width(), (position.y() - rect.y()) / rect.height(), rect)
        return None

    @staticmethod
    def _in(rect: QRectF, position: QPointF) -> tuple[float, float]:
        return (
            min(1.0, max(0.0, (position.x() - rect.x()) / rect.width())),
            min(1.0, max(0.0, (position.y() - rect.y()) / rect.height())),
        )

    # -- mouse ------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        found = self.photo_point(event.position())
        button = event.button()
        if found is None or button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            event.ignore()  # beside the photo, or the middle button: the view's (pan)
            return
        event.accept()
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        x, y, rect = found
        self._stroke = (rect, [(x, y)], self._erasing or button == Qt.MouseButton.RightButton)
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        position = event.position()
        if self._stroke is None and event.buttons() != Qt.MouseButton.NoButton:
            event.ignore()  # a drag the view took (a pan): its moves go on to the view
            return
        if self._stroke is not None:
            rect, points, _ = self._stroke
            last = widget_point(*points[-1], rect)
            if math.hypot(position.x() - last.x(), position.y() - last.y()) >= STROKE_STEP_PX:
                points.append(self._in(rect, position))
        self._hover = position
        self.update()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._stroke is None or event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            event.ignore()
            return
        (rect, points, erase), self._stroke = self._stroke, None
        last = self._in(rect, event.position())
        if last != points[-1]:
            points.append(last)
        self.stroke_finished.emit(points, erase)
        self.update()
        event.accept()

    def leaveEvent(self, event: QEvent) -> None:
        self._hover = None
        self.update()
        super().leaveEvent(event)

    # -- keys -------------------------------------------------------------------------------------
    def _key_action(self, event: QKeyEvent) -> Callable[[], None] | None:
        key, mods = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ctrl = Qt.KeyboardModifier.ControlModifier
        ctrl_shift = ctrl | Qt.KeyboardModifier.ShiftModifier
        if (
            (key == Qt.Key.Key_Z and mods == ctrl_shift)
            or (key == Qt.Key.Key_Y and mods == ctrl)
            or event.matches(QKeySequence.StandardKey.Redo)
        ):
            return self.redo_requested.emit
        if (key == Qt.Key.Key_Z and mods == ctrl) or event.matches(QKeySequence.StandardKey.Undo):
            return self.undo_requested.emit
        if key == Qt.Key.Key_Escape and self._stroke is not None:
            return self._drop_stroke
        return None

    def _drop_stroke(self) -> None:
        self._stroke = None
        self.update()

    # -- painting ---------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for rect in self._photo_rects():
            if rect.width() <= 0 or rect.height() <= 0:
                continue
            painter.save()
            painter.setClipRect(rect)
            if self._image is not None:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # crisp mask pixels
                painter.drawImage(rect, self._image, QRectF(self._image.rect()))
            if self._stroke is not None and self._stroke[0] == rect:
                self._paint_stroke(painter, rect, *self._stroke[1:])
            if self._hover is not None and rect.contains(self._hover):
                radius = self._brush_px(rect) / 2
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.setPen(QPen(QColor(255, 255, 255, 210), 1, Qt.PenStyle.DashLine))
                painter.drawEllipse(self._hover, max(2.0, radius), max(2.0, radius))
            painter.restore()
        painter.end()

    def _paint_stroke(self, painter: QPainter, rect: QRectF, points: list[tuple[float, float]], erase: bool) -> None:
        path = QPainterPath(widget_point(*points[0], rect))
        for x, y in points[1:]:
            path.lineTo(widget_point(x, y, rect))
        if len(points) == 1:
            path.lineTo(widget_point(*points[0], rect) + QPointF(0.01, 0))  # a dot: the round cap draws it
        colour = QColor(255, 255, 255, 170) if erase else QColor(*OVERLAY_COLOUR, 170)
        pen = QPen(colour, self._brush_px(rect), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(pen)
        painter.drawPath(path)
