"""The before/after view: the original and the result split by a divider the user drags.

Modes: ``split`` (one photo, original left of the divider, result right of it) and ``side_by_side``
(two panes). Zoom and pan are one ``ViewTransform`` shared by both sides, so they never drift apart.
Holding Space shows the original everywhere.

Large photos stay smooth: the view holds display-sized pixmaps (long side at most 2048) and, when
zoomed out, a copy scaled once to the current zoom; a repaint only blits that copy under a clip
rect. When zoomed in, only the visible part of the pixmap is drawn. Zoomed in past the display
copy's own scale, the view asks (``detail_wanted``, debounced) for the full-resolution pixels of
the visible region and draws them over it (``set_detail``), so 100 % shows the photo's real pixels.
Zoom is always in the original's pixels (``full_size``), whatever the pixmaps' size.

A click (without dragging) in the split view moves the divider there. The middle button pans
too: with the hint tool on, the left button places colour marks (``gui.hints.overlay``, which lies
over this view and finds the photo through ``photo_rects``).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPen, QPixmap, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui.models.view_transform import ZOOM_STEP, ViewTransform

SPLIT = "split"
SIDE_BY_SIDE = "side_by_side"
_HANDLE_GRAB = 10  # pixels either side of the divider that grab it
_GAP = 4  # between the two panes of the side-by-side mode
_BACKGROUND = QColor("#1b1d21")
_CLICK_SLOP = 4  # a press and release closer than this (pixels) is a click, not a drag
_DETAIL_DELAY_MS = 120  # wait for the wheel or the drag to pause before loading full-resolution pixels
_DETAIL_MARGIN = 0.25  # load this much more than is visible on each side (panning stays sharp)
EMPTY_HINT = "Drop photos or folders here, or press Ctrl+O"
BEFORE_LABEL, AFTER_LABEL = "Before", "After"


class CompareView(QWidget):
    split_moved = Signal(float)  # the divider's position, 0..1 of the view's width
    zoom_changed = Signal(float)  # screen pixels per original pixel
    original_shown = Signal(bool)  # Space held (True) or released (False)
    detail_wanted = Signal(object)  # (x, y, width, height) in the original's pixels

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
        self._drag_button = Qt.MouseButton.NoButton
        self._result_detail = True  # full-resolution crops of the result are drawn (off: it is a preview)
        self._labels = (BEFORE_LABEL, AFTER_LABEL)
        self._detail_on = True  # full-resolution crops at all (off: the pair on show is not original/result)
        self._last_pos = QPointF()
        self._press_pos = QPointF()
        self._moved = False
        self._placeholder = EMPTY_HINT
        self._detail: tuple[QRectF, QPixmap | None, QPixmap | None] | None = None  # rect in original pixels
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(_DETAIL_DELAY_MS)
        self._detail_timer.timeout.connect(self._on_detail_timer_timeout)

    # -- content ------------------------------------------------------------------------------------
    def set_photo(
        self, before: QPixmap | None, after: QPixmap | None, full_size: tuple[int, int] | None = None
    ) -> None:
        """Show a new photo (fitted). ``full_size``: the original's (width, height); the pixmaps may be smaller."""
        self._before, self._after = before, after
        self._scaled.clear()
        self._detail = None
        self._labels, self._detail_on = (BEFORE_LABEL, AFTER_LABEL), True
        reference = before or after
        if reference is None:
            self._transform = ViewTransform()
        else:
            size = full_size or (reference.width(), reference.height())
            self._transform = ViewTransform(image_size=(max(1, size[0]), max(1, size[1])))
            self._transform.fit(self._viewport_size())
            self.zoom_changed.emit(self._transform.zoom)
            self._want_detail()
        self.update()

    def set_after(self, after: QPixmap | None, full_size: tuple[int, int] | None = None) -> None:
        """Replace the result of the photo on show, keeping zoom and pan. ``full_size``: the
        original's (width, height), when the view learns it only now (the zoom is corrected)."""
        self._after = after
        self._scaled.pop("after", None)
        if self._detail is not None:
            self._detail = (self._detail[0], self._detail[1], None)  # the old result's pixels are stale
        if full_size is not None and tuple(full_size) != self._transform.image_size and self.has_photo():
            self._set_image_size(full_size)
        self._want_detail(force=True)
        self.update()

    def image_size(self) -> tuple[int, int]:
        """The original's (width, height) the zoom refers to."""
        return self._transform.image_size

    def _set_image_size(self, size: tuple[int, int]) -> None:
        old_width = self._transform.image_size[0]
        fitted = self._transform.fitted
        self._transform.image_size = (max(1, int(size[0])), max(1, int(size[1])))
        if fitted:
            self._transform.fit(self._viewport_size())
        else:  # the same picture on screen: the zoom in original pixels changes by the size ratio
            self._transform.zoom *= old_width / self._transform.image_size[0]
            self._transform.clamp(self._viewport_size())
        self._scaled.clear()
        self._detail = None
        self.zoom_changed.emit(self._transform.zoom)

    # -- full-resolution detail ------------------------------------------------------------------------
    def display_scale(self) -> float:
        """Pixmap pixels per original pixel (1.0 when the pixmaps are the full photo)."""
        pixmap = self._before or self._after
        return pixmap.width() / self._transform.image_size[0] if pixmap is not None else 1.0

    def needs_detail(self) -> bool:
        return self._detail_on and self.has_photo() and self._transform.zoom > self.display_scale() * 1.02

    def set_detail(self, rect: tuple[int, int, int, int], before: QPixmap | None, after: QPixmap | None) -> None:
        """Full-resolution pixels of ``rect`` (original pixels) to draw over the display copy."""
        self._detail = (QRectF(*rect), before, after if self._result_detail else None)
        self.update()

    def set_result_detail(self, on: bool) -> None:
        """Whether the result side is drawn from full-resolution crops when zoomed in. Off while the
        result on show is a preview the cached result does not match yet (the hint tool's): its
        crops would show the colours from before the hints."""
        if on == self._result_detail:
            return
        self._result_detail = on
        if self._detail is not None and not on:
            self._detail = (self._detail[0], self._detail[1], None)
        self._want_detail(force=on)
        self.update()

    def refresh_detail(self) -> None:
        """Ask for the visible region's full-resolution pixels again (the cached result changed)."""
        self._want_detail(force=True)

    def photo_rects(self) -> list[QRectF]:
        """Where the photo lies in the widget: one rectangle per pane (none without a photo)."""
        return [self._image_rect(v) for v in self._viewports()] if self.has_photo() else []

    def detail_rect(self) -> tuple[int, int, int, int] | None:
        if self._detail is None:
            return None
        rect = self._detail[0]
        return (round(rect.x()), round(rect.y()), round(rect.width()), round(rect.height()))

    def visible_region(self) -> tuple[float, float, float, float]:
        """The part of the original in view: (x, y, width, height) in its pixels."""
        viewport = self._viewports()[0]
        x, y, width, height = self._transform.image_rect(
            (viewport.x(), viewport.y(), viewport.width(), viewport.height())
        )
        zoom = self._transform.zoom
        left, top = max(viewport.x(), x), max(viewport.y(), y)
        right = min(viewport.x() + viewport.width(), x + width)
        bottom = min(viewport.y() + viewport.height(), y + height)
        return ((left - x) / zoom, (top - y) / zoom, max(0.0, right - left) / zoom, max(0.0, bottom - top) / zoom)

    def _want_detail(self, force: bool = False) -> None:
        if not self.needs_detail():
            self._detail_timer.stop()
            return
        if force or not self._detail_covers_view():
            self._detail_timer.start()

    def _detail_covers_view(self) -> bool:
        if self._detail is None or (self._after is not None and self._result_detail and self._detail[2] is None):
            return False
        x, y, width, height = self.visible_region()
        return self._detail[0].contains(QRectF(x, y, width, height))

    def _on_detail_timer_timeout(self) -> None:
        if not self.needs_detail():
            return
        x, y, width, height = self.visible_region()
        image_width, image_height = self._transform.image_size
        x0, y0 = max(0.0, x - width * _DETAIL_MARGIN), max(0.0, y - height * _DETAIL_MARGIN)
        x1 = min(image_width, x + width * (1 + _DETAIL_MARGIN))
        y1 = min(image_height, y + height * (1 + _DETAIL_MARGIN))
        self.detail_wanted.emit((int(x0), int(y0), max(1, round(x1 - x0)), max(1, round(y1 - y0))))

    def clear(self) -> None:
        self.set_photo(None, None)

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def has_photo(self) -> bool:
        return self._before is not None or self._after is not None

    def has_result(self) -> bool:
        return self._after is not None

    # -- which pair is compared (gui.restoration.compare_choice) -------------------------------------
    def set_images(
        self, before: QPixmap | None, after: QPixmap | None, labels: tuple[str, str], detail: bool = True
    ) -> None:
        """Compare another pair of the photo on show (e.g. original and restored), keeping zoom
        and pan; ``labels`` name the sides; ``detail`` False draws no full-resolution crops (they
        are of the original and the colorized result only)."""
        self._before, self._after = before, after
        self._scaled.clear()
        self._labels = (str(labels[0]), str(labels[1]))
        self._detail_on = detail
        if not detail:
            self._detail = None
        self._want_detail(force=detail)
        self.update()

    def labels(self) -> tuple[str, str]:
        return self._labels

    def images(self) -> tuple[QPixmap | None, QPixmap | None]:
        """The two pixmaps compared (display copies)."""
        return self._before, self._after

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
        self._want_detail()
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
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), _BACKGROUND)
        if not self.has_photo():
            self._paint_placeholder(painter)
            return
        viewports = self._viewports()
        if self._showing_original or self._after is None:
            for viewport in viewports:
                self._paint_side(painter, "before", viewport, viewport)
            own = self._labels == (BEFORE_LABEL, AFTER_LABEL)
            self._paint_label(painter, viewports[0], "Original" if own else self._labels[0], left=True)
        elif self._mode == SIDE_BY_SIDE:
            self._paint_side(painter, "before", viewports[0], viewports[0])
            self._paint_side(painter, "after", viewports[1], viewports[1])
            self._paint_label(painter, viewports[0], self._labels[0], left=True)
            self._paint_label(painter, viewports[1], self._labels[1], left=False)
        else:
            viewport = viewports[0]
            x = self.divider_x()
            self._paint_side(painter, "before", viewport, QRect(0, 0, x, self.height()))
            self._paint_side(painter, "after", viewport, QRect(x, 0, self.width() - x, self.height()))
            self._paint_label(painter, viewport, self._labels[0], left=True)
            self._paint_label(painter, viewport, self._labels[1], left=False)
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
                scaled = pixmap.scaled(
                    size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
                self._scaled[which] = scaled
            painter.drawPixmap(round(target.x()), round(target.y()), scaled)
        else:
            # Zoomed in: draw only the visible part of the pixmap.
            sx = pixmap.width() / target.width()
            sy = pixmap.height() / target.height()
            source = QRectF(
                (visible.x() - target.x()) * sx,
                (visible.y() - target.y()) * sy,
                visible.width() * sx,
                visible.height() * sy,
            )
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._transform.zoom < 4.0)
            painter.drawPixmap(visible, pixmap, source)
            self._paint_detail(painter, which, target)
        painter.restore()

    def _paint_detail(self, painter: QPainter, which: str, target: QRectF) -> None:
        """The full-resolution pixels over the display copy (the painter is clipped already)."""
        if self._detail is None or not self.needs_detail():
            return
        rect, before, after = self._detail
        pixmap = before if which == "before" else after
        if pixmap is None:
            return
        zoom = self._transform.zoom
        screen = QRectF(
            target.x() + rect.x() * zoom, target.y() + rect.y() * zoom, rect.width() * zoom, rect.height() * zoom
        )
        painter.drawPixmap(screen, pixmap, QRectF(pixmap.rect()))

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
        return (
            self._mode == SPLIT
            and self._after is not None
            and not self._showing_original
            and abs(x - self.divider_x()) <= _HANDLE_GRAB
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if (
            button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton)
            or not self.has_photo()
            or self._drag is not None
        ):
            super().mousePressEvent(event)
            return
        self._last_pos = self._press_pos = event.position()
        self._moved = False
        self._drag_button = button
        left = button == Qt.MouseButton.LeftButton
        self._drag = "divider" if left and self._near_divider(event.position().x()) else "pan"
        self.setCursor(Qt.CursorShape.SplitHCursor if self._drag == "divider" else Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        position = event.position()
        if self._drag == "divider":
            self.set_split_position(position.x() / max(1, self.width()))
        elif self._drag == "pan":
            if (position - self._press_pos).manhattanLength() >= _CLICK_SLOP:
                self._moved = True
            if self._moved:
                delta = position - self._last_pos
                self._transform.pan_by(delta.x(), delta.y(), self._viewport_size())
                self._want_detail()
                self.update()
        else:
            self.setCursor(
                Qt.CursorShape.SplitHCursor
                if self._near_divider(position.x())
                else Qt.CursorShape.OpenHandCursor
                if self.has_photo()
                else Qt.CursorShape.ArrowCursor
            )
        self._last_pos = position

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None and event.button() == self._drag_button:
            if (
                self._drag == "pan"
                and not self._moved
                and self._mode == SPLIT
                and self._after is not None
                and not self._showing_original
                and self._drag_button == Qt.MouseButton.LeftButton
            ):
                self.set_split_position(event.position().x() / max(1, self.width()))  # a click moves the divider
            self._drag = None
            self._drag_button = Qt.MouseButton.NoButton
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._transform.fitted:
            self.zoom_actual()
        else:
            self.zoom_fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if not steps or not self.has_photo():
            event.ignore()
            return
        position = event.position()
        viewport = next((v for v in self._viewports() if v.contains(position.toPoint())), self._viewports()[0])
        centre = QPointF(viewport.x() + viewport.width() / 2.0, viewport.y() + viewport.height() / 2.0)
        anchor = (position.x() - centre.x(), position.y() - centre.y())
        self._zoom_to(self._transform.zoom * ZOOM_STEP**steps, anchor)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.show_original(True)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.show_original(False)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:
        self.show_original(False)  # a released Space can be missed while focus is elsewhere
        super().focusOutEvent(event)

    def resizeEvent(self, event) -> None:
        if self.has_photo():
            if self._transform.fitted:
                self._transform.fit(self._viewport_size())
                self.zoom_changed.emit(self._transform.zoom)
            else:
                self._transform.clamp(self._viewport_size())
            self._scaled.clear()
            self._want_detail()
        super().resizeEvent(event)
