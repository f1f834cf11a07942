"""The before/after view: the original and the result split by a divider the user drags.

Modes: ``split`` (one photo, original left of the divider, result right of it) and ``side_by_side``
(two panes). Zoom and pan are one ``ViewTransform`` shared by both sides, so they never drift apart.
Holding Space shows the original everywhere.

Large photos stay smooth: the view holds display-sized pixmaps (long side at most 2048) and, when
zoomed out, a copy scaled once to the current zoom; a repaint only blits that copy under a clip
rect. When zoomed in, only the visible part of the pixmap is drawn.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPen, QPixmap, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui.view_transform import ZOOM_STEP, ViewTransform

SPLIT = "split"
SIDE_BY_SIDE = "side_by_side"
_HANDLE_GRAB = 10  # pixels either side of the divider that grab it
_GAP = 4  # between the two panes of the side-by-side mode
_BACKGROUND = QColor("#1b1d21")


class CompareView(QWidget):
    split_moved = Signal(float)  # the divider's position, 0..1 of the view's width
    zoom_changed = Signal(float)  # screen pixels per original pixel
    original_shown = Signal(bool)  # Space held (True) or released (False)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CompareView")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 180)
        self._before: QPixmap | None = None
        self._after: QPixmap | None = None
        self._scaled: dict[str, QPixmap] = {}  # 'before'/'after' scaled to the current zoom
        self._transform = ViewTransform()
        self._mode = SPLIT
        self._split = 0.5
        self._showing_original = False
        self._drag: str | None = None  # 'divider' or 'pan'
        self._last_pos = QPointF()
        self._placeholder = "Drop photos or folders here"

    # -- content ------------------------------------------------------------------------------------
    def set_photo(self, before: QPixmap | None, after: QPixmap | None, full_size: tuple[int, int] | None = None) -> None:
        """Show a new photo (fitted). ``full_size``: the original's (width, height); the pixmaps may be smaller."""
        self._before, self._after = before, after
        self._scaled.clear()
        reference = before or after
        if reference is None:
            self._transform = ViewTransform()
        else:
            size = full_size or (reference.width(), reference.height())
            self._transform = ViewTransform(image_size=(max(1, size[0]), max(1, size[1])))
            self._transform.fit(self._viewport_size())
            self.zoom_changed.emit(self._transform.zoom)
        self.update()

    def set_after(self, after: QPixmap | None) -> None:
        """Replace the result of the photo on show, keeping zoom and pan."""
        self._after = after
        self._scaled.pop("after", None)
        self.update()

    def clear(self) -> None:
        self.set_photo(None, None)

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def has_photo(self) -> bool:
        return self._before is not None or self._after is not None

    def has_result(self) -> bool:
        return self._after is not None

    # -- mode, divider, original -------------------------------------------------------------------
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in (SPLIT, SIDE_BY_SIDE):
            raise ValueError(f"mode must be {SPLIT!r} or {SIDE_BY_SIDE!r}, got {mode!r}")
        if mode != self._mode:
            self._mode = mode
            self._scaled.clear()
            if self._transform.fitted:
                self._transform.fit(self._viewport_size())
            else:
                self._transform.clamp(self._viewport_size())
            self.zoom_changed.emit(self._transform.zoom)
            self.update()

    def split_position(self) -> float:
        return self._split

    def set_split_position(self, fraction: float) -> None:
        fraction = max(0.0, min(1.0, float(fraction)))
        if fraction != self._split:
            self._split = fraction
            self.split_moved.emit(fraction)
            self.update()

    def showing_original(self) -> bool:
        return self._showing_original

    def show_original(self, on: bool) -> None:
        if on != self._showing_original:
            self._showing_original = on
            self.original_shown.emit(on)
            self.update()

    # -- zoom ----------------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self._transform.zoom

    def is_fitted(self) -> bool:
        return self._transform.fitted

    def pan(self) -> tuple[float, float]:
        return self._transform.pan

    def zoom_in(self) -> None:
        self._zoom_to(self._transform.zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self._zoom_to(self._transform.zoom / ZOOM_STEP)

    def zoom_actual(self) -> None:
        """100 %: one pixel of the original per screen pixel."""
        self._zoom_to(1.0)

    def zoom_fit(self) -> None:
        self._transform.fit(self._viewport_size())
        self._after_zoom()

    def _zoom_to(self, zoom: float, anchor: tuple[float, float] = (0.0, 0.0)) -> None:
        if not self.has_photo():
            return
        self._transform.set_zoom(zoom, self._viewport_size(), anchor)
        self._after_zoom()

    def _after_zoom(self) -> None:
        self._scaled.clear()
        self.zoom_changed.emit(self._transform.zoom)
        self.update()

    # -- geometry --------------------------------------------------------------------------------------
    def _viewports(self) -> list[QRect]:
        full = self.rect()
        if self._mode == SIDE_BY_SIDE:
            half = (full.width() - _GAP) // 2
            return [QRect(0, 0, half, full.height()), QRect(full.width() - half, 0, half, full.height())]
        return [full]

    def _viewport_size(self) -> tuple[float, float]:
        area = self._viewports()[0]
        return (max(1, area.width()), max(1, area.height()))

    def divider_x(self) -> int:
        return round(self._split * self.width())

    def _image_rect(self, viewport: QRect) -> QRectF:
        return QRectF(*self._transform.image_rect((viewport.x(), viewport.y(), viewport.width(), viewport.height())))

    # -- painting ----------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.fillRect(self.rect(), _BACKGROUND)
        if not self.has_photo():
            self._paint_placeholder(painter)
            return
        viewports = self._viewports()
        if self._showing_original or self._after is None:
            for viewport in viewports:
                self._paint_side(painter, "before", viewport, viewport)
            self._paint_label(painter, viewports[0], "Original", left=True)
        elif self._mode == SIDE_BY_SIDE:
            self._paint_side(painter, "before", viewports[0], viewports[0])
            self._paint_side(painter, "after", viewports[1], viewports[1])
            self._paint_label(painter, viewports[0], "Before", left=True)
            self._paint_label(painter, viewports[1], "After", left=False)
        else:
            viewport = viewports[0]
            x = self.divider_x()
            self._paint_side(painter, "before", viewport, QRect(0, 0, x, self.height()))
            self._paint_side(painter, "after", viewport, QRect(x, 0, self.width() - x, self.height()))
            self._paint_label(painter, viewport, "Before", left=True)
            self._paint_label(painter, viewport, "After", left=False)
            self._paint_divider(painter, x)
        painter.end()

    def _pixmap(self, which: str) -> QPixmap | None:
        return self._before if which == "before" else self._after

    def _paint_side(self, painter: QPainter, which: str, viewport: QRect, clip: QRect) -> None:
        pixmap = self._pixmap(which)
        if pixmap is None or clip.isEmpty():
            return
        target = self._image_rect(viewport)
        visible = target.intersected(QRectF(clip))
        if visible.isEmpty():
            return
        painter.save()
        painter.setClipRect(clip)
        if target.width() < pixmap.width():
            # Zoomed out: scale once per zoom level, then every repaint is a clipped blit.
            size = QSize(max(1, round(target.width())), max(1, round(target.height())))
            scaled = self._scaled.get(which)
            if scaled is None or scaled.size() != size:
                scaled = pixmap.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                       Qt.TransformationMode.SmoothTransformation)
                self._scaled[which] = scaled
            painter.drawPixmap(round(target.x()), round(target.y()), scaled)
        else:
            # Zoomed in: draw only the visible part of the pixmap.
            sx = pixmap.width() / target.width()
            sy = pixmap.height() / target.height()
            source = QRectF((visible.x() - target.x()) * sx, (visible.y() - target.y()) * sy,
                            visible.width() * sx, visible.height() * sy)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._transform.zoom < 4.0)
            painter.drawPixmap(visible, pixmap, source)
        painter.restore()

    def _paint_divider(self, painter: QPainter, x: int) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(255, 255, 255, 230), 2))
        painter.drawLine(x, 0, x, self.height())
        centre = QPointF(x, self.height() / 2)
        painter.setBrush(QColor(255, 255, 255, 235))
        painter.setPen(QPen(QColor(0, 0, 0, 90), 1))
        painter.drawEllipse(centre, 15, 15)
        painter.setBrush(QColor("#2d3138"))
        painter.setPen(Qt.PenStyle.NoPen)
        for direction in (-1, 1):  # two small arrows: drag me sideways
            tip = centre.x() + direction * 9
            base = centre.x() + direction * 3
            path = QPainterPath(QPointF(tip, centre.y()))
            path.lineTo(base, centre.y() - 5)
            path.lineTo(base, centre.y() + 5)
            path.closeSubpath()
            painter.drawPath(path)
        painter.restore()

    def _paint_label(self, painter: QPainter, viewport: QRect, text: str, left: bool) -> None:
        painter.save()
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF() * 0.9))
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        width, height = metrics.horizontalAdvance(text) + 16, metrics.height() + 8
        x = viewport.x() + 12 if left else viewport.right() - 12 - width
        box = QRectF(x, viewport.y() + 12, width, height)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(box, 6, 6)
        painter.setPen(QColor("#f2f2f2"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def _paint_placeholder(self, painter: QPainter) -> None:
        painter.setPen(QColor("#8a9099"))
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        painter.setFont(font)
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
        painter.end()

    # -- interaction -------------------------------------------------------------------------------------
    def _near_divider(self, x: float) -> bool:
        return (self._mode == SPLIT and self._after is not None and not self._showing_original
                and abs(x - self.divider_x()) <= _HANDLE_GRAB)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton or not self.has_photo():
            super().mousePressEvent(event)
            return
        self._last_pos = event.position()
        self._drag = "divider" if self._near_divider(event.position().x()) else "pan"
        self.setCursor(Qt.CursorShape.SplitHCursor if self._drag == "divider" else Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        position = event.position()
        if self._drag == "divider":
            self.set_split_position(position.x() / max(1, self.width()))
        elif self._drag == "pan":
            delta = position - self._last_pos
            self._transform.pan_by(delta.x(), delta.y(), self._viewport_size())
            self.update()
        else:
            self.setCursor(Qt.CursorShape.SplitHCursor if self._near_divider(position.x())
                           else Qt.CursorShape.OpenHandCursor if self.has_photo() else Qt.CursorShape.ArrowCursor)
        self._last_pos = position

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._drag is not None:
            self._drag = None
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._transform.fitted:
            self.zoom_actual()
        else:
            self.zoom_fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if not steps or not self.has_photo():
            event.ignore()
            return
        position = event.position()
        viewport = next((v for v in self._viewports() if v.contains(position.toPoint())), self._viewports()[0])
        centre = QPointF(viewport.x() + viewport.width() / 2.0, viewport.y() + viewport.height() / 2.0)
        anchor = (position.x() - centre.x(), position.y() - centre.y())
        self._zoom_to(self._transform.zoom * ZOOM_STEP ** steps, anchor)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.show_original(True)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.show_original(False)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802
        self.show_original(False)  # a released Space can be missed while focus is elsewhere
        super().focusOutEvent(event)

    def resizeEvent(self, event) -> None:  # noqa: N802
        if self.has_photo():
            if self._transform.fitted:
                self._transform.fit(self._viewport_size())
                self.zoom_changed.emit(self._transform.zoom)
            else:
                self._transform.clamp(self._viewport_size())
            self._scaled.clear()
        super().resizeEvent(event)
