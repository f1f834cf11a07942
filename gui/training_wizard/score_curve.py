"""The second plot of the training page: CIEDE2000 on the held-out colour photos, base vs fine-tune.

The base model's score is a flat dashed reference line; the fine-tune's scores (one per preview,
``training.cyclegan.events.HoldoutScored``) are a polyline with a dot per step, the best step (the
one that would be installed) ringed. Lower is better, so a curve under the line is a fine-tune that
helps. Painted with QPainter on a linear scale fitted to the values.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from training.cyclegan.events import HoldoutScored

BASE_COLOUR = "#9e9e9e"
TUNED_COLOUR = "#fb8c00"
BEST_COLOUR = "#43a047"


class ScoreCurve(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base: float | None = None
        self._points: dict[int, float] = {}  # step -> fine-tune's mean CIEDE2000
        self._best: int | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(110)
        self.setToolTip(
            "Mean CIEDE2000 (colour difference; lower is better) on colour photos of yours kept aside\n"
            "and never trained on, turned gray and colorized as the installed model would.\n"
            "Dashed: the base model. Ringed: the best step, the one that would be installed."
        )

    def sizeHint(self) -> QSize:
        return QSize(420, 140)

    # -- data ------------------------------------------------------------------------------------
    def clear(self) -> None:
        self._base, self._points, self._best = None, {}, None
        self.update()

    def add_scores(self, event: HoldoutScored) -> None:
        self._base = event.base["ciede2000"]
        self._points[event.step] = event.tuned["ciede2000"]
        self._best = event.best_step
        self.update()

    def base_value(self) -> float | None:
        return self._base

    def values(self) -> list[tuple[int, float]]:
        """(step, fine-tune's CIEDE2000), by step."""
        return sorted(self._points.items())

    def best_step(self) -> int | None:
        return self._best

    # -- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        text_colour = palette.text().color()
        metrics = painter.fontMetrics()
        left, top = metrics.horizontalAdvance("00.0") + 10, metrics.height() + 8
        right, bottom = 10, metrics.height() + 6
        plot = QRectF(left, top, max(10, self.width() - left - right), max(10, self.height() - top - bottom))
        self._paint_legend(painter, text_colour)
        if self._base is None:
            painter.setPen(text_colour)
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "Scores appear once the base model is measured")
            painter.end()
            return
        values = [self._base, *self._points.values()]
        low, high = min(values), max(values)
        pad = max(0.05, (high - low) * 0.15)
        low, high = low - pad, high + pad
        steps = sorted(self._points)
        x_end = max(steps[-1] if steps else 1, 1)

        def to_point(step: float, value: float) -> QPointF:
            return QPointF(
                plot.left() + step / x_end * plot.width(), plot.bottom() - (value - low) / (high - low) * plot.height()
            )

        grid = QColor(text_colour)
        grid.setAlpha(50)
        for tick in _ticks(low, high):
            y = to_point(0, tick).y()
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(text_colour)
            painter.drawText(
                QRectF(0, y - metrics.height() / 2, left - 4, metrics.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{tick:g}",
            )
        painter.drawText(
            QRectF(plot.left(), plot.bottom() + 2, plot.width(), metrics.height()),
            Qt.AlignmentFlag.AlignRight,
            f"step {x_end}",
        )

        base_pen = QPen(QColor(BASE_COLOUR), 1.6, Qt.PenStyle.DashLine)
        painter.setPen(base_pen)
        y = to_point(0, self._base).y()
        painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))

        path = QPainterPath()
        for index, step in enumerate(steps):
            point = to_point(step, self._points[step])
            if index == 0:
                path.moveTo(point)
            else:
                path.lineTo(point)
        painter.setPen(QPen(QColor(TUNED_COLOUR), 1.8))
        painter.drawPath(path)
        painter.setBrush(QColor(TUNED_COLOUR))
        for step in steps:
            painter.drawEllipse(to_point(step, self._points[step]), 2.5, 2.5)
        if self._best is not None and self._best in self._points:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(BEST_COLOUR), 2))
            painter.drawEllipse(to_point(self._best, self._points[self._best]), 6, 6)
        painter.end()

    def _paint_legend(self, painter: QPainter, text_colour: QColor) -> None:
        metrics = painter.fontMetrics()
        x = 8.0
        for legend, colour, style in (
            ("base model", BASE_COLOUR, Qt.PenStyle.DashLine),
            ("fine-tuned", TUNED_COLOUR, Qt.PenStyle.SolidLine),
            ("best", BEST_COLOUR, Qt.PenStyle.SolidLine),
        ):
            painter.setPen(QPen(QColor(colour), 3, style))
            y = metrics.height() / 2 + 3
            painter.drawLine(QPointF(x, y), QPointF(x + 14, y))
            painter.setPen(text_colour)
            painter.drawText(QPointF(x + 18, metrics.ascent() + 2), legend)
            x += 18 + metrics.horizontalAdvance(legend) + 14


def _ticks(low: float, high: float) -> list[float]:
    """About four round values between ``low`` and ``high``."""
    span = max(high - low, 1e-6)
    step = 10 ** math.floor(math.log10(span / 4))
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= 5:
            step *= factor
            break
    first = math.ceil(low / step) * step
    return [round(first + i * step, 6) for i in range(int((high - first) / step) + 1)]
