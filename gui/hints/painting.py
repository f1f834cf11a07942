"""Drawing colour marks with a QPainter: points, strokes, the brush outline (used by the overlay).

Marks must be seen on any photo, dark or light: each is drawn with a ring or outline in a colour
that contrasts with its own. A point's filled handle stays small, so the preview under a large
point still shows; a thin ring marks the area it covers.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from engine.hints.schema import HintPoint

HANDLE_MIN_PX = 5.0  # a point is drawn at least this large, so a tiny one can still be seen and grabbed
HANDLE_MAX_PX = 10.0  # ...and its filled handle at most this large: a ring shows a larger radius
SELECTED = "#ffd34d"


def contrasting(colour: str) -> QColor:
    """Near-black for a light colour, near-white for a dark one (ITU-R 601 luma of the sRGB)."""
    c = QColor(colour)
    luma = 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue()
    return QColor("#141414") if luma > 140 else QColor("#f4f4f4")


def widget_point(x: float, y: float, rect: QRectF) -> QPointF:
    """Where (x, y), 0..1 of the photo, lies when the photo fills ``rect``."""
    return QPointF(rect.x() + x * rect.width(), rect.y() + y * rect.height())


def paint_point(painter: QPainter, point: HintPoint, rect: QRectF, selected: bool) -> None:
    centre = widget_point(point.x, point.y, rect)
    radius = max(HANDLE_MIN_PX, point.radius * min(rect.width(), rect.height()))
    handle = min(radius, HANDLE_MAX_PX)
    ring = contrasting(point.color)
    if radius > handle:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(ring, 1.0))
        painter.drawEllipse(centre, radius, radius)
    painter.setBrush(QColor(point.color))
    painter.setPen(QPen(ring, 2.0))
    painter.drawEllipse(centre, handle, handle)
    if selected:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(SELECTED), 2.0, Qt.PenStyle.DashLine))
        painter.drawEllipse(centre, radius + 4, radius + 4)


def paint_stroke(
    painter: QPainter,
    points: Sequence[tuple[float, float]],
    colour: str,
    width: float,
    rect: QRectF,
    *,
    selected: bool = False,
) -> None:
    """A stroke through ``points`` (0..1), ``width`` of the short side of ``rect``."""
    if not points:
        return
    path = QPainterPath(widget_point(*points[0], rect))
    for x, y in points[1:]:
        path.lineTo(widget_point(x, y, rect))
    if len(points) == 1:
        path.lineTo(widget_point(*points[0], rect) + QPointF(0.01, 0))  # a dot: the round caps draw it
    pixels = max(2.0, width * min(rect.width(), rect.height()))
    cap, join = Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin
    outline = QColor(SELECTED) if selected else contrasting(colour)
    outline.setAlpha(230 if selected else 150)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(outline, pixels + (5 if selected else 2), Qt.PenStyle.SolidLine, cap, join))
    painter.drawPath(path)
    fill = QColor(colour)
    fill.setAlpha(190)  # mostly opaque: the result under a stroke still shows a little
    painter.setPen(QPen(fill, pixels, Qt.PenStyle.SolidLine, cap, join))
    painter.drawPath(path)


def paint_brush_outline(painter: QPainter, centre: QPointF, width: float, rect: QRectF) -> None:
    """Where the brush would paint: a dashed circle of the brush's ``width`` (of the short side)."""
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor(255, 255, 255, 200), 1, Qt.PenStyle.DashLine))
    radius = max(2.0, width * min(rect.width(), rect.height()) / 2)
    painter.drawEllipse(centre, radius, radius)
